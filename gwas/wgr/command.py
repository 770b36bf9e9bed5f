"""Whole-genome regression step 1 (REGENIE's): LOCO predictions of one or many traits.

Level-0 ridge regressions in blocks of variants (one pass over the genotypes for every trait),
level-1 ridge (quantitative) or ridge logistic regression (binary) with cross-validation, and
leave-one-chromosome-out predictions written as REGENIE writes them (<prefix>_pred.list and
<prefix>_<k>.loco), so that REGENIE's step 2 (--pred) and hubscan's scans can use them; wgr.json
records the settings, each trait's status and the inputs' checksums. The variants are usually a
few hundred thousand LD-pruned common variants (--variant-ids-file from `hubscan qc`).

examples:
  hubscan wgr --genotype-store store --phenotypes pheno.tsv --covariate covariates.tsv \\
      --variant-ids-file qc/pruned.txt --min-maf 0.01 --bsize 1000 --out step1
  # REGENIE: regenie --step 1 --bed G --phenoFile pheno.tsv --covarFile covariates.tsv \\
  #              --extract qc/pruned.txt --bsize 1000 --lowmem --out step1/wgr
  spark-submit --properties-file spark-conf/local.conf jobs/wgr.py --config step1.yaml
"""

from __future__ import annotations

from hubscan.options import add_output, add_spark, spark_overrides

HELP = "whole-genome regression step 1 (REGENIE-style LOCO predictions; resumable Spark job)"

#: flag -> configuration key (where they differ)
_FLAG_KEYS = {"genotype_store": "genotypes", "covariate": "covariates", "trait": "traits", "region": "regions",
              "variant_id": "variant_ids", "samples": "samples_file", "bsize": "block_size", "cv": "cv_folds",
              "bt": "binary", "setl0": "l0_h2", "setl1": "l1_h2"}


def add_arguments(parser) -> None:
    parser.add_argument("--config", metavar="YAML", help="run configuration (keys: see gwas/wgr/config.py)")
    parser.add_argument("--genotype-store", metavar="DIR", help="genotype store (hubscan ingest)")
    parser.add_argument("--phenotypes", metavar="PATH",
                        help="`hubscan phenotypes` folder, traits.parquet, or plink2/REGENIE text (FID IID ...)")
    parser.add_argument("--trait", action="append", default=[], metavar="NAME",
                        help="trait to fit (repeatable; default every trait)")
    parser.add_argument("--covariate", action="append", default=[], metavar="FILE",
                        help="covariate file (plink2/REGENIE text or Parquet), joined on IID; repeatable")
    parser.add_argument("--covariate-names", metavar="A,B", help="covariate columns to use (default all)")
    parser.add_argument("--samples", metavar="FILE", help="keep only these sample ids")
    parser.add_argument("--phenotype-coding", choices=["auto", "01", "12"],
                        help="binary coding of text phenotypes: auto (default: a column of 0/1 or of 1/2 is binary), "
                        "01 or 12 only")
    parser.add_argument("--bt", action="store_true", help="REGENIE --bt: every trait is binary (refused otherwise)")
    parser.add_argument("--min-cases", type=int, help="binary traits with fewer cases or controls are skipped (default 50)")
    parser.add_argument("--min-maf", type=float, help="minimum minor-allele frequency in the store")
    parser.add_argument("--min-info", type=float, help="minimum imputation INFO")
    parser.add_argument("--min-call-rate", type=float, help="minimum call rate")
    parser.add_argument("--region", action="append", default=[], metavar="CHR[:START-END]", help="repeatable")
    parser.add_argument("--variant-id", action="append", default=[], metavar="ID", help="repeatable")
    parser.add_argument("--variant-ids-file", "--extract", metavar="FILE",
                        help="variant ids to use, one per line (e.g. `hubscan qc`'s LD-pruned list)")
    parser.add_argument("--bsize", "--block-size", type=int, help="variants per level-0 block and task (default 1000)")
    parser.add_argument("--cv", type=int, help="folds of the cross-validation (default 5)")
    parser.add_argument("--loocv", action="store_true",
                        help="leave-one-out cross-validation (default for binary traits under 5,000 samples)")
    parser.add_argument("--setl0", type=_heritabilities, nargs="+", metavar="H2",
                        help="level-0 ridge grid as heritabilities, space- or comma-separated "
                             "(default 0.01 0.25 0.5 0.75 0.99)")
    parser.add_argument("--setl1", type=_heritabilities, nargs="+", metavar="H2", help="level-1 ridge grid (same default)")
    parser.add_argument("--prefix", help="prediction file prefix in the output folder (default wgr)")
    add_output(parser, "output folder (rerun with the same configuration to resume)")
    for action in parser._actions:
        if action.dest == "out":
            action.required = False  # may come from --config
    add_spark(parser)
    parser.add_argument("--spark", action="store_true",
                        help="run the level-0 blocks as Spark tasks (default: threads in this process; "
                             "always Spark under spark-submit)")


def _heritabilities(text: str) -> list[float]:
    import argparse

    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected heritabilities such as 0.1,0.5,0.9, got {text!r}") from None


def config_from_args(args):
    from gwas.wgr.config import load_config

    overrides = {}
    for dest in ("genotype_store", "phenotypes", "trait", "covariate", "samples", "phenotype_coding", "bt",
                 "min_cases", "min_maf", "min_info", "min_call_rate", "region", "variant_id", "variant_ids_file",
                 "bsize", "cv", "loocv", "setl0", "setl1", "prefix", "out"):
        value = getattr(args, dest)
        if value is not None and value != [] and value is not False:
            if dest in ("setl0", "setl1"):
                value = [h for group in value for h in group]
            overrides[_FLAG_KEYS.get(dest, dest)] = str(value) if dest == "out" else value
    if args.covariate_names:
        overrides["covariate_names"] = [c.strip() for c in args.covariate_names.split(",") if c.strip()]
    return load_config(args.config, overrides)


def run(args) -> int:
    from gwas.wgr.run import run_wgr
    from hubscan.runtime.spark import spark_for_run, under_spark_submit

    cfg = config_from_args(args)
    if args.spark or args.spark_master or under_spark_submit():
        with spark_for_run(cfg.out, args.spark_conf, spark_overrides(args)) as spark:
            result = run_wgr(cfg, spark)
    else:
        result = run_wgr(cfg)
    done = sum(t.get("status") == "ok" for t in result.traits)
    print(f"{result.out}: LOCO predictions of {done} of {len(result.traits)} traits from {result.n_samples} samples x "
          f"{result.n_variants} variants in {result.n_blocks} blocks ({result.blocks_run} run now); "
          f"{result.pred_list.name if result.pred_list else 'no prediction list'}; see wgr.json")
    return 0
