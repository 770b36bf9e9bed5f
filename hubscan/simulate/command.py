"""Simulate a synthetic hub cohort: genotypes (VCF + BGEN), health records (OMOP CDM and a hub
extract), a linkage table and the planted truth, deterministic for a given --seed.

Genotypes: Balding-Nichols populations, related pairs and sib-ships, missing calls and
imputation-like dosages. Records: quantitative traits as measurements (LDL, HbA1c, BMI) and disease
liabilities that decide which ICD-10 codes appear, with causal variants (and optionally a polygenic
background) planted (truth/). The folder layout is described in hubscan/simulate/run.py and the
README. Any size from a test cohort to 100k samples x 1M variants; memory stays bounded and progress
is logged.
"""

from hubscan.options import add_output, add_seed, add_spark, spark_overrides

HELP = "simulate a synthetic hub cohort (genotypes, health records, linkage, planted truth)"


def parse_chromosomes(text: str) -> list[str]:
    """'1-22,X' -> ['1', ..., '22', 'X'] (ranges of autosomes and single names, comma-separated)."""
    from hubscan.errors import ConfigError

    names: list[str] = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "-" in item:
            first, _, last = item.partition("-")
            if not (first.isdigit() and last.isdigit() and int(first) <= int(last)):
                raise ConfigError(f"--chromosomes: bad range {item!r} (use e.g. 1-22,X)")
            names.extend(str(c) for c in range(int(first), int(last) + 1))
        else:
            names.append(item.removeprefix("chr"))
    return names


def add_arguments(parser) -> None:
    add_output(parser, "cohort folder (created; a rerun resumes the genotype parts)")
    size = parser.add_argument_group("cohort")
    size.add_argument("--samples", type=int, default=2000, help="genotyped samples (default 2000)")
    size.add_argument("--variants", type=int, default=20000, help="variants over all chromosomes (default 20000)")
    size.add_argument("--chromosomes", default="1-22", help="GRCh37 chromosomes, e.g. 1-22,X (default 1-22)")
    size.add_argument("--populations", type=int, default=3, help="Balding-Nichols populations (default 3)")
    size.add_argument("--fst", type=float, default=0.05, help="Fst of each population (default 0.05)")
    size.add_argument("--related-fraction", type=float, default=0.02,
                      help="share of samples in a related pair (default 0.02)")
    size.add_argument("--missing-rate", type=float, default=0.005, help="share of missing calls (default 0.005)")
    size.add_argument("--imputed-fraction", type=float, default=0.2,
                      help="share of variants written as imputed dosages (default 0.2)")
    size.add_argument("--family-fraction", type=float, default=0.0,
                      help="share of samples in sib-ships of --family-size full siblings (default 0)")
    size.add_argument("--family-size", type=int, default=4, help="siblings per sib-ship, 2-20 (default 4)")
    size.add_argument("--polygenic-h2", type=float, default=0.0,
                      help="variance of each genetic trait from many small effects on all autosomes (default 0)")
    size.add_argument("--stratification", type=float, default=None,
                      help="SD of the population shifts of every trait's mean (default: each trait's own, 0.1)")
    size.add_argument("--bgen-bits", type=int, default=8, help="BGEN bits per probability, 1-32 (default 8)")
    add_seed(parser)
    rec = parser.add_argument_group("health records")
    rec.add_argument("--records-format", choices=["csv", "parquet"], default="csv",
                     help="format of the OMOP tables (default csv)")
    rec.add_argument("--ungenotyped-fraction", type=float, default=0.1,
                     help="extra patients without genotypes, as a share of the samples (default 0.1)")
    rec.add_argument("--unlinked-fraction", type=float, default=0.02,
                     help="share of samples with no linkage row (default 0.02)")
    parser.add_argument("--spark", action="store_true", help="write genotype parts as Spark tasks (always under spark-submit)")
    add_spark(parser)


def spec_from_args(args):
    from hubscan.simulate.cohort import CohortSpec

    return CohortSpec(n_samples=args.samples, n_variants=args.variants,
                      chromosomes=tuple(parse_chromosomes(args.chromosomes)), n_populations=args.populations,
                      fst=args.fst, related_fraction=args.related_fraction, missing_rate=args.missing_rate,
                      imputed_fraction=args.imputed_fraction, seed=args.seed,
                      family_fraction=args.family_fraction, family_size=args.family_size,
                      polygenic_h2=args.polygenic_h2, stratification=args.stratification)


def run(args) -> int:
    from hubscan.files import prepare_output_dir
    from hubscan.simulate.run import RecordOptions, simulate_cohort

    spec = spec_from_args(args)
    records = RecordOptions(fmt=args.records_format, ungenotyped_fraction=args.ungenotyped_fraction,
                            unlinked_fraction=args.unlinked_fraction)
    from hubscan.runtime.spark import spark_for_run, under_spark_submit

    out = prepare_output_dir(args.out).resolve()  # absolute: tasks run in the executors' folders
    if args.spark or under_spark_submit():  # jobs/simulate.py runs on the submitted Spark

        with spark_for_run(out, args.spark_conf, spark_overrides(args)) as spark:
            cohort = simulate_cohort(spec, out, records, spark=spark, bgen_bits=args.bgen_bits)
    else:
        cohort = simulate_cohort(spec, out, records, bgen_bits=args.bgen_bits)
    print(f"cohort: {cohort.root} ({spec.n_samples} samples x {spec.n_variants} variants, "
          f"{len(cohort.files)} files, {sum(cohort.files.values()) / 1e6:.1f} MB)")
    return 0
