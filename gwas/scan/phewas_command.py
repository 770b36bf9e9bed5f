"""Phenome-wide association: chosen variants (or all) x every phecode and custom trait, on threads
in this process (Spark with --spark-master/--spark-conf or under spark-submit).

Every trait of the phenotype matrix by default, each with its own samples (phecode exclusions,
sex restrictions); binary traits with fewer than --min-cases cases or controls (default 50) are
not tested and listed in _results.json; a covariate constant within a trait (sex for a
sex-restricted phecode) is dropped for that trait. Binary traits: score test, then Firth where
p < 0.05.

examples:
  hubscan phewas --genotype-store store --phenotypes phenotypes --variant-id rs123 \\
      --covariate phenotypes/covariates.tsv --out phewas-rs123
  spark-submit --properties-file spark-conf/local.conf jobs/phewas.py --config phewas.yaml
"""

from gwas.scan import command

HELP = "phenome-wide association scan: variants x every phecode and custom trait (resumable; threads, or Spark)"


def add_arguments(parser) -> None:
    command.add_arguments(parser, "phewas")


def run(args) -> int:
    return command.run(args, "phewas")
