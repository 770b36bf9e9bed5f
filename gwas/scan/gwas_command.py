"""Genome-wide association: every selected variant x one or many traits, on threads in this
process (Spark with --spark-master/--spark-conf or under spark-submit).

Quantitative traits: linear regression; binary traits: a score test for every variant, then
Firth's penalized regression where p < 0.05 (REGENIE-style; --binary-test to change). Each trait
uses its own samples; covariates are adjusted for; the effect allele is ALT. Results land in a
results store (Parquet per trait, _results.json) that `hubscan publish` and notebooks read.

examples:
  hubscan gwas --genotype-store store --phenotypes phenotypes --trait ldl \\
      --covariate phenotypes/covariates.tsv --covariate qc/pcs.tsv --min-maf 0.01 --out gwas-ldl
  spark-submit --properties-file spark-conf/local.conf jobs/gwas.py --config run.yaml
"""

from gwas.scan import command

HELP = "genome-wide association scan of one or many traits (resumable; threads, or Spark)"


def add_arguments(parser) -> None:
    command.add_arguments(parser, "gwas")


def run(args) -> int:
    return command.run(args, "gwas")
