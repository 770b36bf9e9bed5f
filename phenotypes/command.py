"""Derive phenotypes from health records: phecodes 1.2/X, YAML custom traits, quantitative traits
from measurements and covariates, as a sample x trait matrix aligned to the genotype samples.

Inputs: OMOP CDM v5.4 tables (--omop, a folder or zip of CSV/Parquet tables) and/or hub long-form
extracts (--hub, patient_id,date,vocabulary,code,value,unit); a linkage table patient_id,sample_id
(--linkage); the genotype samples (--samples list file or --genotype-store). Phecode maps are the
files you have (--phecode-map, e.g. phecode_map_v1_2_icd10_beta.csv or phecodeX_R_map_ICD_10_WHO.csv;
nothing is bundled).

Outputs in --out: traits.parquet (NaN = not in the trait's analysis), catalogue.tsv,
first_dates.parquet, covariates.tsv/.parquet, unmapped_<map>.tsv, report.json, and
phenotypes.tsv (plink2/REGENIE layout) with --text.

example:
  hubscan phenotypes --hub cohort/hub_events.csv --linkage cohort/linkage.csv \\
      --genotype-store store --phecode-map phecode_map_v1_2_icd10_beta.csv --out phenotypes

Engine: in-process on this machine (polars, records streamed; no JVM) by default; Spark with
--spark-master or --spark-conf, or under spark-submit. Both write the same files.
"""

import datetime as dt

from hubscan.options import add_output, add_spark, make_paths_absolute, spark_overrides

HELP = "derive phecodes, custom and quantitative traits and covariates from health records"


def add_arguments(parser) -> None:
    src = parser.add_argument_group("records")
    src.add_argument("--omop", action="append", default=[], metavar="PATH",
                     help="OMOP CDM folder or zip (CSV/TSV/Parquet tables); repeatable")
    src.add_argument("--hub", action="append", default=[], metavar="FILE",
                     help="hub long-form extract patient_id,date,vocabulary,code[,value,unit]; repeatable")
    src.add_argument("--persons", metavar="FILE", help="demographics for hub extracts: patient_id[,sex,birth_date,death_date,site]")
    src.add_argument("--site", metavar="NAME", help="site label of these sources (site covariate when records have no care site)")
    src.add_argument("--omop-patient-id", default="auto", choices=["auto", "person_id", "person_source_value"],
                     help="OMOP column the linkage table's patient_id refers to (default auto: the one the "
                          "linkage table's ids match)")
    src.add_argument("--condition-vocabulary", default="ICD10",
                     help="vocabulary of condition_source_value when its concept is 0/unknown (default ICD10)")
    src.add_argument("--include-standard", action="store_true", help="also add OMOP standard concepts as events")
    src.add_argument("--bad-dates", default="error", choices=["error", "exclude"],
                     help="unparsable dates: stop with the line (default) or exclude and count")
    src.add_argument("--implausible", default="exclude", choices=["exclude", "error"],
                     help="events before birth or after death: exclude and count (default) or stop")
    link = parser.add_argument_group("samples and linkage")
    link.add_argument("--linkage", required=True, metavar="FILE", help="linkage table patient_id,sample_id")
    link.add_argument("--samples", metavar="FILE", help="genotype sample ids (one per line, or a file with an IID column)")
    link.add_argument("--genotype-store", metavar="DIR", help="take the sample ids from this genotype store")
    link.add_argument("--linkage-duplicates", default="exclude", choices=["exclude", "error"],
                      help="ids linked more than once: leave those samples out, counted (default), or stop")
    phe = parser.add_argument_group("phecodes")
    phe.add_argument("--phecode-map", action="append", default=[], metavar="FILE",
                     help="phecode map (phewascatalog 1.2, PhecodeX or PheTK layout); repeatable")
    phe.add_argument("--phecode-info", action="append", default=[], metavar="FILE",
                     help="phecode information file with sex restrictions, paired with --phecode-map by position")
    phe.add_argument("--min-days", type=int, default=2, help="distinct days with the phecode for a case (default 2)")
    phe.add_argument("--no-parent-fallback", action="store_true",
                     help="match ICD codes exactly only (as PheWAS/PheTK); default falls back to the nearest parent code")
    phe.add_argument("--crosswalk", metavar="FILE",
                     help="source_vocabulary,source_code,target_vocabulary,target_code table translating e.g. Read/SNOMED to ICD")
    phe.add_argument("--omop-crosswalk", action="store_true",
                     help="translate non-ICD codes to ICD through OMOP concept_relationship 'Maps to'")
    custom = parser.add_argument_group("custom traits and covariates")
    custom.add_argument("--definitions", metavar="YAML", help="custom binary and quantitative trait definitions")
    custom.add_argument("--covariates", default="sex,age,record_years",
                        help="comma list of sex, age, age_first_record, record_years, site ('none' for no file)")
    custom.add_argument("--reference-date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="age at this date (default: at each person's last record)")
    custom.add_argument("--pcs", metavar="FILE", help="genetic covariates to join (FID IID PC1 ...), e.g. qc/pcs.tsv")
    out = parser.add_argument_group("output")
    add_output(out, "output folder (created if missing)")
    out.add_argument("--text", nargs="?", const="plink2", choices=["plink2", "regenie"],
                     help="also write phenotypes.tsv for plink2 (the default: #FID IID header, binary 1/2, NA) or "
                     "REGENIE (FID IID header, binary 0/1, NA); covariates.tsv follows the same flavour")
    out.add_argument("--binary-coding", choices=["01", "12"],
                     help="binary traits in text files, instead of the flavour's: 0/1 (REGENIE; plink2 --1) or 1/2 "
                     "(plink2; REGENIE --cc12)")
    out.add_argument("--fid", default="iid", choices=["iid", "0"],
                     help="FID column of text files: the sample id (default, as hubscan's .fam) or 0 (plink2 .psam without FID)")
    out.add_argument("--block-size", type=int, default=5000, help="samples per written block (default 5000)")
    add_spark(parser)


def config_from_args(args):
    """The :class:`~phenotypes.pipeline.PhenotypeConfig` of parsed command-line arguments."""
    from hubscan.errors import ConfigError
    from phenotypes.covariates import CovariateOptions
    from phenotypes.pipeline import PhecodeOptions, PhenotypeConfig
    from phenotypes.sources import Source
    from phenotypes.sources.omop import OmopOptions
    from phenotypes.sources.records import QualityPolicy

    if not args.omop and not args.hub:
        raise ConfigError("give at least one record source: --omop PATH or --hub FILE")
    if (args.samples is None) == (args.genotype_store is None):
        raise ConfigError("give exactly one of --samples FILE or --genotype-store DIR")
    if len(args.phecode_info) > len(args.phecode_map):
        raise ConfigError("more --phecode-info files than --phecode-map files (they pair by position)")
    patient_id = "person_id" if args.omop_patient_id == "auto" else args.omop_patient_id  # auto: set by the checks
    sources = [Source("omop", p, site=args.site, omop=OmopOptions(patient_id, args.condition_vocabulary,
                                                                  include_standard=args.include_standard))
               for p in args.omop]
    sources += [Source("hub", p, site=args.site, persons=args.persons) for p in args.hub]
    infos = list(args.phecode_info) + [None] * (len(args.phecode_map) - len(args.phecode_info))
    covariates = None
    if args.covariates.strip().lower() != "none":
        covariates = CovariateOptions([c.strip() for c in args.covariates.split(",") if c.strip()],
                                      args.reference_date, args.pcs)
    return PhenotypeConfig(
        sources=sources, linkage=args.linkage, samples_file=args.samples, genotype_store=args.genotype_store,
        phecodes=[PhecodeOptions(m, i) for m, i in zip(args.phecode_map, infos)], min_days=args.min_days,
        parent_fallback=not args.no_parent_fallback, definitions=args.definitions, crosswalk=args.crosswalk,
        omop_crosswalk=args.omop_crosswalk, covariates=covariates,
        policy=QualityPolicy(args.bad_dates, args.implausible), linkage_duplicates=args.linkage_duplicates,
        block_size=args.block_size, text=args.text is not None, text_flavour=args.text or "plink2",
        binary_coding=args.binary_coding, fid=args.fid)


def wants_spark(args) -> bool:
    """Spark only when asked for: ``--spark-master``, ``--spark-conf`` or under ``spark-submit``;
    otherwise the in-process engine (no JVM)."""
    from hubscan.runtime.spark import under_spark_submit

    return bool(args.spark_master or args.spark_conf or under_spark_submit())


def run(args) -> int:
    from phenotypes.checks import check_before_work
    from phenotypes.pipeline import build_phenotypes

    make_paths_absolute(args, "omop", "hub", "persons", "linkage", "samples", "genotype_store", "phecode_map",
                        "phecode_info", "crosswalk", "definitions", "pcs", "out")
    config = config_from_args(args)
    check_before_work(config, args.out, detect_omop_patient_id=args.omop_patient_id == "auto")  # before any engine
    if wants_spark(args):
        from hubscan.runtime.spark import spark_for_run

        with spark_for_run(args.out, args.spark_conf, spark_overrides(args)) as spark:
            result = build_phenotypes(spark, config, args.out)
    else:
        result = build_phenotypes(None, config, args.out)
    link = result.report["linkage"]
    print(f"{result.out}: {result.n_traits} traits x {result.n_samples} samples "
          f"({link['samples_linked']} linked, {link['samples_unlinked']} without records); "
          f"catalogue.tsv, traits.parquet, report.json")
    return 0
