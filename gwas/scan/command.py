"""Options shared by `hubscan gwas` and `hubscan phewas` (defined once), and their run.

A YAML run configuration (``--config``) holds every option (:mod:`gwas.scan.config`); flags
override it, and common cases need flags alone.
"""

from __future__ import annotations

from hubscan.options import add_output, add_spark, spark_overrides

#: flag -> configuration key (flags whose name differs from the key are listed)
_FLAG_KEYS = {"genotype_store": "genotypes", "covariate": "covariates", "trait": "traits",
              "region": "regions", "variant_id": "variant_ids", "samples": "samples_file", "pred": "predictions",
              "remove": "remove_file", "exclude": "exclude_variants_file", "chr": "chromosomes",
              "mac": "min_mac"}


def _comma_list(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def add_arguments(parser, job: str) -> None:
    parser.add_argument("--config", metavar="YAML", help="run configuration (keys: see the module docs)")
    parser.add_argument("--genotype-store", metavar="DIR",
                        help="genotype store (hubscan ingest), or a .bed, .bgen or .pgen read in place")
    parser.add_argument("--bfile", "--bed", metavar="PREFIX", dest="bfile",
                        help="PLINK 1 fileset PREFIX.bed/.bim/.fam read in place, no ingest (plink2 --bfile, "
                             "REGENIE --bed); A1 is the tested (ALT) allele")
    parser.add_argument("--bgen", metavar="FILE",
                        help="BGEN file read in place, each block converted as `hubscan ingest` would "
                             "(plink2/REGENIE --bgen)")
    parser.add_argument("--pfile", "--pgen", metavar="PREFIX", dest="pfile",
                        help="PLINK 2 fileset PREFIX.pgen/.pvar/.psam read in place (plink2 --pfile, REGENIE --pgen)")
    parser.add_argument("--phenotypes", "--phenoFile", "--pheno", metavar="PATH",
                        help="`hubscan phenotypes` folder, traits.parquet, or plink2/REGENIE text (FID IID ...)")
    parser.add_argument("--trait", action="append", default=[], metavar="NAME",
                        help="trait to test (repeatable; default every trait)")
    parser.add_argument("--phenoColList", "--pheno-name", dest="trait_list", metavar="A,B",
                        help="traits to test, comma-separated (REGENIE/plink2 spelling of --trait)")
    parser.add_argument("--covariate", "--covarFile", "--covar", action="append", default=[], metavar="FILE",
                        help="covariate file (plink2/REGENIE text or Parquet), joined on IID; repeatable")
    parser.add_argument("--covariate-names", "--covarColList", "--covar-name", metavar="A,B",
                        help="covariate columns to use (default all)")
    parser.add_argument("--categorical-covariates", "--catCovarList", metavar="A,B",
                        help="covariates coded as categories: one indicator per level but the first (natural "
                             "order: numbers, then names), the reference, named in results.json")
    parser.add_argument("--samples", "--keep", metavar="FILE",
                        help="keep only these samples: FID IID or IID per line (plink2/REGENIE --keep)")
    parser.add_argument("--remove", metavar="FILE", help="leave out these samples (plink2/REGENIE --remove)")
    parser.add_argument("--id-delim", metavar="C",
                        help="the store's sample ids are FID<C>IID (REGENIE's BGEN ids, plink2 --id-delim): "
                             "phenotype, covariate and sample files are matched on FID<C>IID")
    parser.add_argument("--phenotype-coding", choices=["auto", "01", "12"],
                        help="binary coding of text phenotypes: auto (default: a column of 0/1 or of 1/2 is binary, "
                        "as plink2 and REGENIE files), 01 or 12 only")
    parser.add_argument("--cc12", action="store_const", const="12", dest="phenotype_coding",
                        help="REGENIE spelling of --phenotype-coding 12")
    kinds = parser.add_mutually_exclusive_group()
    kinds.add_argument("--bt", dest="expect_kind", action="store_const", const="binary",
                       help="check that every selected trait is binary (REGENIE --bt)")
    kinds.add_argument("--qt", dest="expect_kind", action="store_const", const="quantitative",
                       help="check that every selected trait is quantitative (REGENIE --qt)")
    parser.add_argument("--binary-test", choices=["score", "wald", "lrt", "firth", "firth-fallback", "spa",
                                                  "firth-approx"],
                        help="test for binary traits (default firth-fallback: score test, Firth where p < threshold; "
                             "spa / firth-approx: REGENIE's score test corrected by SPA / approximate Firth where "
                             "p < threshold)")
    parser.add_argument("--pred", metavar="FILE",
                        help="step 1 LOCO predictions (REGENIE's <prefix>_pred.list): REGENIE's step 2 tests")
    parser.add_argument("--firth-threshold", type=float, help="p below which firth-fallback runs Firth (default 0.05)")
    parser.add_argument("--firth-p", choices=["lrt", "wald"], help="Firth p-value: penalized LRT (default) or Wald")
    parser.add_argument("--min-cases", type=int,
                        help="binary traits with fewer cases or controls are not tested (default 50)")
    parser.add_argument("--min-maf", "--maf", "--minMAF", type=float, help="minimum minor-allele frequency in the store")
    parser.add_argument("--mac", "--minMAC", type=float, metavar="N",
                        help="minimum minor-allele count over the samples kept (plink2 --mac, REGENIE --minMAC)")
    parser.add_argument("--min-info", "--minINFO", type=float, help="minimum imputation INFO")
    parser.add_argument("--min-call-rate", type=float, help="minimum call rate")
    parser.add_argument("--region", action="append", default=[], metavar="CHR[:START-END]", help="repeatable")
    parser.add_argument("--chr", "--chrList", action="append", default=[], metavar="LIST",
                        help="chromosomes: lists and ranges (1-22,X), chr1 and 1 alike (plink2 --chr); repeatable")
    parser.add_argument("--variant-id", action="append", default=[], metavar="ID",
                        help="test only these variants (repeatable)" + ("; a PheWAS usually names a few" if job == "phewas" else ""))
    parser.add_argument("--variant-ids-file", "--extract", metavar="FILE",
                        help="test only the variant ids of this file, one per line (plink2/REGENIE --extract)")
    parser.add_argument("--exclude", metavar="FILE", help="leave out these variant ids (plink2/REGENIE --exclude)")
    parser.add_argument("--block-size", "--bsize", type=int, help="variants per task (default 5000)")
    parser.add_argument("--trait-chunk", type=int, help="traits per Spark task at most (default 50)")
    parser.add_argument("--genome-build", help="GRCh37 or GRCh38: the store's coordinates, recorded for publishing")
    add_output(parser, "results store folder (rerun with the same configuration to resume)")
    parser.set_defaults(out=None)
    for action in parser._actions:
        if action.dest == "out":
            action.required = False  # may come from --config
    add_spark(parser)
    engine = parser.add_argument_group("where the blocks run")
    engine.add_argument("--engine", choices=["auto", "threads", "spark"], default="auto",
                        help="auto (default): Spark when --spark-master or --spark-conf is given or under "
                             "spark-submit, else threads in this process (no JVM)")
    engine.add_argument("--threads", type=int, metavar="N",
                        help="threads of an in-process scan (plink2/REGENIE --threads; default all cores)")


def config_from_args(args, job: str):
    from gwas.scan.config import load_config

    overrides = {}
    for dest in ("genotype_store", "phenotypes", "trait", "covariate", "samples", "phenotype_coding", "binary_test",
                 "firth_threshold", "firth_p", "min_cases", "min_maf", "min_info", "min_call_rate", "region",
                 "variant_id", "variant_ids_file", "block_size", "trait_chunk", "genome_build", "pred", "out", "remove",
                 "exclude", "chr", "mac", "id_delim"):
        value = getattr(args, dest)
        if isinstance(value, list) and not value:
            continue
        if value is not None:
            overrides[_FLAG_KEYS.get(dest, dest)] = str(value) if dest == "out" else value
    named = {flag: value for flag, value in (("--genotype-store", args.genotype_store), ("--bfile", args.bfile),
                                             ("--bgen", args.bgen), ("--pfile", args.pfile)) if value}
    if len(named) > 1:
        from hubscan.errors import ConfigError

        raise ConfigError(f"{' and '.join(named)} each name the genotypes: give one")
    for flag, ext in (("--bfile", ".bed"), ("--pfile", ".pgen")):
        if flag in named:
            overrides["genotypes"] = named[flag] if named[flag].endswith(ext) else named[flag] + ext
    if args.bgen:
        overrides["genotypes"] = args.bgen
    if args.covariate_names:
        overrides["covariate_names"] = _comma_list(args.covariate_names)
    if args.trait_list:
        overrides["traits"] = list(args.trait) + _comma_list(args.trait_list)
    if args.categorical_covariates:
        overrides["categorical_covariates"] = _comma_list(args.categorical_covariates)
    return load_config(args.config, overrides, job)


def choose_engine(args) -> str:
    """"spark" or "threads". The rule (README "Spark and Hail"): Spark when asked for (``--engine
    spark``, ``--spark-master``, ``--spark-conf``) or when this process runs under spark-submit;
    otherwise threads in this process. Local Spark would use the same cores as the threads and
    add a JVM, so a scan on one machine never needs it; a cluster is always named."""
    from hubscan.errors import ConfigError
    from hubscan.runtime.spark import under_spark_submit

    asked = args.spark_master or args.spark_conf or under_spark_submit()
    if args.engine == "threads" and asked:
        raise ConfigError("--engine threads contradicts " + ("--spark-master" if args.spark_master else
                          "--spark-conf" if args.spark_conf else "spark-submit") + ": drop one")
    return "spark" if args.engine == "spark" or asked else "threads"


def run(args, job: str) -> int:
    import logging

    from gwas.scan.run import plan_scan, run_scan
    from hubscan.errors import ConfigError

    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {args.threads}")
    engine = choose_engine(args)
    cfg = config_from_args(args, job)
    plan = plan_scan(cfg)  # every check, before Numba or a JVM starts
    if args.expect_kind:
        inputs = plan.inputs
        other = [n for n, t in zip(inputs.trait_names, inputs.trait_types) if t != args.expect_kind]
        if other:
            raise ConfigError(f"--{'bt' if args.expect_kind == 'binary' else 'qt'}: trait(s) {', '.join(other[:5])} "
                              f"are not {args.expect_kind} (binary traits are coded 0/1 or 1/2)")
    log = logging.getLogger(__name__)
    if engine == "spark":
        from hubscan.runtime.spark import spark_for_run

        with spark_for_run(cfg.out, args.spark_conf, spark_overrides(args)) as spark:
            log.info("%s: blocks run as Spark tasks (master %s)", job, spark.sparkContext.master)
            result = run_scan(cfg, spark, plan)
    else:
        from hubscan.runtime.threads import use_threads

        with use_threads(args.threads) as n:
            log.info("%s: blocks run in this process on %d threads", job, n)
            result = run_scan(cfg, None, plan)
    print(f"{result.out}: {result.n_variants} variants x {result.n_traits_tested} traits "
          f"({result.n_traits_skipped} not tested; see _results.json), {result.tasks_run} of "
          f"{result.tasks_total} tasks run")
    return 0
