"""Options shared by `hubscan gwas` and `hubscan phewas` (defined once), and their run.

A YAML run configuration (``--config``) holds every option (:mod:`gwas.scan.config`); flags
override it, and common cases need flags alone.
"""

from __future__ import annotations

from hubscan.options import add_output, add_spark, spark_overrides

#: flag -> configuration key (flags whose name differs from the key are listed)
_FLAG_KEYS = {"genotype_store": "genotypes", "covariate": "covariates", "trait": "traits",
              "region": "regions", "variant_id": "variant_ids", "samples": "samples_file"}


def add_arguments(parser, job: str) -> None:
    parser.add_argument("--config", metavar="YAML", help="run configuration (keys: see the module docs)")
    parser.add_argument("--genotype-store", metavar="DIR", help="genotype store (hubscan ingest)")
    parser.add_argument("--phenotypes", metavar="PATH",
                        help="`hubscan phenotypes` folder, traits.parquet, or plink2/REGENIE text (FID IID ...)")
    parser.add_argument("--trait", action="append", default=[], metavar="NAME",
                        help="trait to test (repeatable; default every trait)")
    parser.add_argument("--covariate", action="append", default=[], metavar="FILE",
                        help="covariate file (plink2/REGENIE text or Parquet), joined on IID; repeatable")
    parser.add_argument("--covariate-names", metavar="A,B", help="covariate columns to use (default all)")
    parser.add_argument("--samples", metavar="FILE", help="keep only these sample ids")
    parser.add_argument("--phenotype-coding", choices=["01", "12"], help="binary coding of text phenotypes (default 01)")
    parser.add_argument("--binary-test", choices=["score", "wald", "lrt", "firth", "firth-fallback"],
                        help="test for binary traits (default firth-fallback: score test, Firth where p < threshold)")
    parser.add_argument("--firth-threshold", type=float, help="p below which firth-fallback runs Firth (default 0.05)")
    parser.add_argument("--firth-p", choices=["lrt", "wald"], help="Firth p-value: penalized LRT (default) or Wald")
    parser.add_argument("--min-cases", type=int,
                        help="binary traits with fewer cases or controls are not tested (default 50)")
    parser.add_argument("--min-maf", type=float, help="minimum minor-allele frequency in the store")
    parser.add_argument("--min-info", type=float, help="minimum imputation INFO")
    parser.add_argument("--min-call-rate", type=float, help="minimum call rate")
    parser.add_argument("--region", action="append", default=[], metavar="CHR[:START-END]", help="repeatable")
    parser.add_argument("--variant-id", action="append", default=[], metavar="ID",
                        help="test only these variants (repeatable)" + ("; a PheWAS usually names a few" if job == "phewas" else ""))
    parser.add_argument("--variant-ids-file", metavar="FILE", help="file of variant ids, one per line")
    parser.add_argument("--block-size", type=int, help="variants per Spark task (default 5000)")
    parser.add_argument("--trait-chunk", type=int, help="traits per Spark task at most (default 50)")
    parser.add_argument("--genome-build", help="GRCh37 or GRCh38: the store's coordinates, recorded for publishing")
    add_output(parser, "results store folder (rerun with the same configuration to resume)")
    parser.set_defaults(out=None)
    for action in parser._actions:
        if action.dest == "out":
            action.required = False  # may come from --config
    add_spark(parser)


def config_from_args(args, job: str):
    from gwas.scan.config import load_config

    overrides = {}
    for dest in ("genotype_store", "phenotypes", "trait", "covariate", "samples", "phenotype_coding", "binary_test",
                 "firth_threshold", "firth_p", "min_cases", "min_maf", "min_info", "min_call_rate", "region",
                 "variant_id", "variant_ids_file", "block_size", "trait_chunk", "genome_build", "out"):
        value = getattr(args, dest)
        if isinstance(value, list) and not value:
            continue
        if value is not None:
            overrides[_FLAG_KEYS.get(dest, dest)] = str(value) if dest == "out" else value
    if args.covariate_names:
        overrides["covariate_names"] = [c.strip() for c in args.covariate_names.split(",") if c.strip()]
    return load_config(args.config, overrides, job)


def run(args, job: str) -> int:
    from gwas.scan.run import run_scan
    from hubscan.runtime.spark import spark_for_run

    cfg = config_from_args(args, job)
    with spark_for_run(cfg.out, args.spark_conf, spark_overrides(args)) as spark:
        result = run_scan(cfg, spark)
    print(f"{result.out}: {result.n_variants} variants x {result.n_traits_tested} traits "
          f"({result.n_traits_skipped} not tested; see _results.json), {result.tasks_run} of "
          f"{result.tasks_total} tasks run")
    return 0
