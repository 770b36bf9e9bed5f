"""Ingest VCF/BCF or BGEN genotype files into one chunked Zarr genotype store.

The store follows the VCF Zarr specification (sgkit/bio2zarr can open it) and adds a compact
dosage field and per-variant allele frequency, call rate and imputation INFO (layout:
gwas/store/variables.py). Parts run as Spark tasks with --spark (or locally); a run started
again on the same --out resumes, and the store is marked complete (_SUCCESS) only after every
part is verified.
"""

from hubscan.options import add_output, add_spark, spark_overrides

HELP = "convert VCF/BCF or BGEN files into the genotype store"


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FILE",
                        help="bgzipped+indexed VCF (.vcf.gz), BCF or BGEN files with the same samples")
    parser.add_argument("--sample-file", metavar="FILE", help="Oxford .sample file with the BGEN sample ids")
    add_output(parser, "store folder (created; rerun to resume)")
    parser.add_argument("--variants-chunk", type=int, default=10_000, help="variants per chunk (default 10000)")
    parser.add_argument("--samples-chunk", type=int, default=1_000, help="samples per chunk (default 1000)")
    parser.add_argument("--chunks-per-part", type=int, default=1, help="variant chunks per task (default 1)")
    parser.add_argument("--spark", action="store_true", help="run parts as Spark tasks")
    add_spark(parser)


def run(args) -> int:
    from gwas.ingest.run import ingest
    from hubscan.errors import ConfigError

    if min(args.variants_chunk, args.samples_chunk, args.chunks_per_part) < 1:
        raise ConfigError("--variants-chunk, --samples-chunk and --chunks-per-part must be positive")
    spark = None
    if args.spark:
        from hubscan.runtime.spark import spark_session

        spark = spark_session(args.out, args.spark_conf, spark_overrides(args), with_hail=False)
    result = ingest(args.inputs, args.out, args.sample_file, args.variants_chunk, args.samples_chunk,
                    args.chunks_per_part, spark)
    print(f"{result.store}: {result.n_variants} variants x {result.n_samples} samples "
          f"({result.parts_run} of {result.parts_total} parts run)")
    return 0
