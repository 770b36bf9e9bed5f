"""Ingest VCF/BCF, BGEN, PLINK 1 (.bed/.bim/.fam), PLINK 2 (.pgen/.pvar/.psam) genotype files or a
Hail MatrixTable into one chunked Zarr genotype store.

The store follows the VCF Zarr specification (sgkit/bio2zarr can open it) and adds a compact
dosage field and per-variant allele frequency, call rate and imputation INFO (layout:
gwas/store/variables.py). Parts run as Spark tasks with --spark or under spark-submit (jobs/ingest.py), else locally; a run started
again on the same --out resumes, and the store is marked complete (_SUCCESS) only after every
part is verified.
"""

import gc

from hubscan.options import add_output, add_spark, spark_overrides

HELP = "convert VCF/BCF, BGEN, PLINK .bed/.pgen files or a Hail MatrixTable into the genotype store"


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FILE",
                        help="bgzipped+indexed VCF (.vcf.gz), BCF, BGEN, PLINK .bed (with .bim/.fam) or .pgen "
                        "(with .pvar/.psam) files with the same samples, or one Hail MatrixTable folder (.mt)")
    parser.add_argument("--sample-file", metavar="FILE", help="Oxford .sample file with the BGEN sample ids")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--ref-last", dest="allele_order", action="store_const", const="ref-last",
                       help="BGEN and .bed input: the last allele listed is REF, the first ALT, the tested allele "
                       "(the default, as REGENIE and plink2 --export bgen-1.2; .bed: A2 REF, A1 ALT)")
    order.add_argument("--ref-first", dest="allele_order", action="store_const", const="ref-first",
                       help="BGEN and .bed input: the first allele listed is REF (REGENIE --ref-first, plink2 "
                       "--bgen ... ref-first)")
    add_output(parser, "store folder (created; rerun to resume)")
    parser.add_argument("--variants-chunk", type=int, default=10_000, help="variants per chunk (default 10000)")
    parser.add_argument("--samples-chunk", type=int, default=1_000, help="samples per chunk (default 1000)")
    parser.add_argument("--chunks-per-part", type=int, default=1, help="variant chunks per task (default 1)")
    parser.add_argument("--threads", type=int, help="threads of a run without --spark (default: all cores; "
                        "a Spark task uses one)")
    parser.add_argument("--spark", action="store_true", help="run parts as Spark tasks (always under spark-submit)")
    add_spark(parser)


def run(args) -> int:
    # the imports create ~150,000 objects that live as long as this process: no collection need walk
    # them, during the imports (collections there cost ~0.06 s CPU) or after
    gc.disable()
    try:
        from gwas.ingest.run import ingest
        from hubscan.errors import ConfigError
    finally:
        gc.freeze()
        gc.enable()
    threads = 1 if args.threads is None else args.threads
    if min(args.variants_chunk, args.samples_chunk, args.chunks_per_part, threads) < 1:
        raise ConfigError("--variants-chunk, --samples-chunk, --chunks-per-part and --threads must be positive")
    from hubscan.runtime.spark import under_spark_submit

    with_hail = any(str(p).rstrip("/").endswith(".mt") for p in args.inputs)  # a MatrixTable needs Hail
    if args.allele_order is not None:  # a usage error before any start-up
        from gwas.ingest.sources import input_kind, resolve_allele_order

        resolve_allele_order("mt" if with_hail else input_kind(args.inputs[0]), args.allele_order)
    use_spark = args.spark or under_spark_submit()  # jobs/ingest.py runs on the submitted Spark
    if not (use_spark or with_hail):
        result = ingest(args.inputs, args.out, args.sample_file, args.variants_chunk, args.samples_chunk,
                        args.chunks_per_part, threads=args.threads, allele_order=args.allele_order)
    else:
        from hubscan.files import prepare_output_dir
        from hubscan.runtime.spark import spark_for_run

        out = prepare_output_dir(args.out)
        with spark_for_run(out, args.spark_conf, spark_overrides(args), with_hail=with_hail) as spark:
            result = ingest(args.inputs, out, args.sample_file, args.variants_chunk, args.samples_chunk,
                            args.chunks_per_part, spark if use_spark else None, threads=args.threads,
                            allele_order=args.allele_order)
    print(f"{result.store}: {result.n_variants} variants x {result.n_samples} samples "
          f"({result.parts_run} of {result.parts_total} parts run)")
    return 0
