"""Run hubscan's whole path on a small simulated cohort, on the local embedded Spark.

Steps (each a library call any user can make; the demo grows as capabilities land):

1. simulate  a hub cohort: genotypes as VCF + BGEN, OMOP CDM records, a hub extract, linkage, truth
2. ingest    the BGEN into the chunked Zarr genotype store (Spark tasks, resumable)
3. qc        genetic QC of the store on Hail: sample/variant QC, sex check, relatedness, principal components
4. phenotypes  traits from the OMOP records: custom definitions of the simulated diseases and
             measurements (written to <out>/definitions/), phecodes (the simulator's small map of
             the codes it emits, or --phecode-map), covariates (sex, age, length of record) with
             the QC's principal components
5. wgr       whole-genome regression step 1 (REGENIE's method) of the GWAS traits on the QC's
             LD-pruned variants: leave-one-chromosome-out predictions (<out>/wgr/)
6. gwas      step 2: every variant x the planted traits with the LOCO predictions (quantitative traits
             on the trait minus the prediction; diseases: score test with the prediction as offset,
             then Firth), PCs as covariates too
7. phewas    the planted causal variants x every trait with enough cases (PCs, no step 1)
8. publish   the GWAS and the PheWAS as files a hub may release: GWAS-SSF (+ REGENIE/plink2 text),
             small counts suppressed, Manhattan/QQ/PheWAS/regional plots and an HTML report
9. browse    each release as a PheWeb-style results browser (static site; phecode categories from
             the simulator's phecode_info.csv)

At the end it prints where each result is. Spark scratch lives under the output folder and is
removed at the end; Spark's logs stay in <out>/_logs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from hubscan.options import add_output, add_seed, add_spark, spark_overrides

HELP = "run the end-to-end demo on a small simulated cohort (local Spark)"
log = logging.getLogger(__name__)

#: The demo cohort: small enough for a few minutes on 2 cores, large enough for the planted signals.
DEMO_SAMPLES = 2000
DEMO_VARIANTS = 6000
DEMO_CHROMOSOMES = ("1", "2", "3", "4", "5", "6", "7", "8", "X")


@dataclass
class DemoRun:
    """What the demo produced: step name -> (what it is, path), in order."""

    out: Path
    results: list[tuple[str, str, Path]] = field(default_factory=list)

    def add(self, step: str, what: str, path: Path) -> None:
        self.results.append((step, what, path))


def add_arguments(parser) -> None:
    add_output(parser, "demo output folder (default of ./run.sh demo: demo-output)")
    parser.add_argument("--samples", type=int, default=DEMO_SAMPLES, help=f"samples (default {DEMO_SAMPLES})")
    parser.add_argument("--variants", type=int, default=DEMO_VARIANTS, help=f"variants (default {DEMO_VARIANTS})")
    parser.add_argument("--phecode-map", metavar="FILE",
                        help="a phecode map (phecode 1.2 or phecodeX layout) for the PheWAS (default: the "
                             "simulator's map of the codes it emits, cohort/phecode_map.csv)")
    add_seed(parser)
    add_spark(parser)


def run(args) -> int:
    from hubscan.files import prepare_output_dir
    from hubscan.runtime.java import require_java

    require_java()  # before any work: one clear line if Java is missing or too old
    out = prepare_output_dir(args.out)
    demo = run_demo(out, samples=args.samples, variants=args.variants, seed=args.seed,
                    properties_file=args.spark_conf, overrides=spark_overrides(args), phecode_map=args.phecode_map)
    print(summary(demo))
    return 0


def run_demo(out: Path, samples: int = DEMO_SAMPLES, variants: int = DEMO_VARIANTS, seed: int = 1,
             properties_file=None, overrides: dict | None = None, phecode_map=None) -> DemoRun:
    """Every step of the demo into ``out``; returns what was produced."""
    from gwas.ingest.run import ingest
    from gwas.qc.run import run_qc
    from gwas.qc.thresholds import QcThresholds
    from hubscan.runtime.spark import spark_for_run
    from hubscan.simulate.cohort import CohortSpec
    from hubscan.simulate.run import simulate_cohort

    demo = DemoRun(out)
    started = time.monotonic()
    with spark_for_run(out, properties_file, overrides, with_hail=True) as spark:
        log.info("demo step 1: simulate a hub cohort")
        spec = CohortSpec(n_samples=samples, n_variants=variants, chromosomes=DEMO_CHROMOSOMES, seed=seed)
        cohort = simulate_cohort(spec, out / "cohort", spark=spark)
        demo.add("simulate", "genotypes (VCF, tabix-indexed)", cohort.path("genotypes.vcf.gz"))
        demo.add("simulate", "genotypes (BGEN 1.2 + .sample)", cohort.path("genotypes.bgen"))
        demo.add("simulate", "health records (OMOP CDM v5.4)", cohort.path("omop"))
        demo.add("simulate", "hub extract (undotted ICD-10, measurements)", cohort.path("hub_events.csv"))
        demo.add("simulate", "linkage patient -> sample", cohort.path("linkage.csv"))
        demo.add("simulate", "planted truth (causal variants, effects)", cohort.path("truth"))

        log.info("demo step 2: ingest the BGEN into the genotype store")
        store = ingest([cohort.path("genotypes.bgen")], out / "genotype-store",  # the simulator writes REF first
                       sample_file=cohort.path("genotypes.sample"), spark=spark, allele_order="ref-first")
        demo.add("ingest", f"genotype store (Zarr, {store.n_variants} variants x {store.n_samples} samples)",
                 store.store)

        log.info("demo step 3: genetic QC on Hail")
        qc = run_qc([str(store.store)], out / "qc", QcThresholds(n_pcs=10),
                    sex_file=str(cohort.path("genotypes.sample")))
        demo.add("qc", f"sample QC ({qc.n_failed_samples} of {qc.n_samples} samples flagged)", qc.out / "sample_qc.tsv")
        demo.add("qc", f"principal components (from {qc.n_pca_variants} LD-pruned variants)", qc.out / "pcs.tsv")
        demo.add("qc", f"related pairs ({qc.n_related_pairs}; {qc.n_unrelated} unrelated samples)",
                 qc.out / "related_pairs.tsv")
        demo.add("qc", "QC report (plots)", qc.out / "report" / "report.html")

    # phenotypes and scans run in this process (the commands' default: no JVM needed)
    log.info("demo step 4: phenotypes from the OMOP records (in-process engine)")
    phecodes = (phecode_map, None) if phecode_map else (cohort.path("phecode_map.csv"),
                                                        cohort.path("phecode_info.csv"))
    phen = _phenotypes(out, cohort, store.store, qc.out / "pcs.tsv", phecodes)
    demo.add("phenotypes", f"trait matrix ({phen.n_traits} traits x {phen.n_samples} samples)",
             phen.out / "traits.parquet")
    demo.add("phenotypes", "trait catalogue (cases, controls, excluded)", phen.out / "catalogue.tsv")
    demo.add("phenotypes", "covariates (sex, age, record length, PCs)", phen.out / "covariates.tsv")

    log.info("demo step 5: whole-genome regression step 1 on the LD-pruned variants (in-process, threads)")
    step1 = _step1(out, store.store, phen.out, qc.out / "pca_variants.txt")
    demo.add("wgr", f"step 1 LOCO predictions ({len(DEMO_GWAS_TRAITS)} traits, {step1.n_variants} variants "
                    f"in {step1.n_blocks} blocks)", step1.pred_list)

    log.info("demo step 6: GWAS of the planted traits, step 2 with the LOCO predictions (in-process, threads)")
    gwas = _scan("gwas", out, store.store, phen.out, traits=list(DEMO_GWAS_TRAITS), min_maf=0.01,
                 predictions=str(step1.pred_list))
    demo.add("gwas", f"GWAS results ({gwas.n_variants} variants x {gwas.n_traits_tested} traits, "
                     "step 2 on step 1's predictions)", gwas.out)

    log.info("demo step 7: PheWAS of the planted causal variants (in-process, threads)")
    causal = cohort.path("truth") / "causal_variants.tsv"
    ids = sorted({line.split("\t")[2] for line in causal.read_text().splitlines()[1:] if line.strip()})
    phewas = _scan("phewas", out, store.store, phen.out, variant_ids=ids)
    demo.add("phewas", f"PheWAS results ({phewas.n_variants} variants x {phewas.n_traits_tested} traits)",
             phewas.out)

    log.info("demo step 8: publish with disclosure control")
    from gwas.publish.run import publish

    for job in ("gwas", "phewas"):
        pub = publish(out / job, out / "publish" / job)
        demo.add("publish", f"{job} release ({pub.traits_published} traits, {pub.traits_withheld} withheld; "
                            f"{pub.rows_withheld} rows withheld)", pub.out / "report.html")
    log.info("demo step 9: results browsers of the releases")
    from gwas.browse.build import BrowseOptions, build_site

    info = None if phecode_map else str(cohort.path("phecode_info.csv"))
    for job in ("gwas", "phewas"):
        site = build_site(out / "publish" / job, out / "site" / job, BrowseOptions(phecode_info=info))
        demo.add("browse", f"{job} results browser ({site.traits} traits; hubscan browse --serve)",
                 site.out / "index.html")
    log.info("demo finished in %.0f s", time.monotonic() - started)
    return demo


#: the simulated traits the demo's GWAS tests (the others are in the PheWAS)
DEMO_GWAS_TRAITS = ("ldl", "hba1c", "bmi", "type_2_diabetes", "coronary_artery_disease", "creatinine")


def demo_definitions(folder: Path) -> Path:
    """Write custom definitions of every simulated trait (codes as the simulator records them) and
    the units table for LDL in mg/dL; returns the YAML path. A template for users' own files."""
    import yaml

    from hubscan.simulate.records import LDL_MG_PER_DL
    from hubscan.simulate.traits import DISEASE, MALE, TRAITS

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "units.csv").write_text(f"code,from_unit,to_unit,factor\n13457-7,mg/dL,mmol/L,{1 / LDL_MG_PER_DL:.8f}\n")
    traits = []
    for t in TRAITS:
        if t.kind == DISEASE:
            entry = {"name": t.name, "description": f"{t.name.replace('_', ' ')} (ICD-10 {', '.join(t.icd10)})",
                     "include": [{"vocabulary": "ICD10", "codes": sorted({c.split('.')[0] for c in t.icd10})}]}
            if t.sex:
                entry["sex"] = "male" if t.sex == MALE else "female"
        else:
            entry = {"name": t.name, "type": "quantitative", "vocabulary": "LOINC", "codes": [t.loinc],
                     "unit": t.unit, "limits": [t.minimum, t.mean + 10 * t.sd], "aggregate": "mean"}
        traits.append(entry)
    path = folder / "traits.yaml"
    path.write_text(yaml.safe_dump({"units": "units.csv", "traits": traits}, sort_keys=False))
    return path


def _phenotypes(out: Path, cohort, store: Path, pcs: Path, phecodes):
    from phenotypes.covariates import CovariateOptions
    from phenotypes.pipeline import PhecodeOptions, PhenotypeConfig, build_phenotypes
    from phenotypes.sources import Source
    from phenotypes.sources.omop import OmopOptions

    config = PhenotypeConfig(
        sources=[Source("omop", cohort.path("omop"), omop=OmopOptions(patient_id="person_source_value"))],
        linkage=cohort.path("linkage.csv"), genotype_store=store,
        phecodes=[PhecodeOptions(*phecodes)],
        definitions=demo_definitions(out / "definitions"),
        covariates=CovariateOptions(["sex", "age", "record_years"], genetic=pcs))
    return build_phenotypes(None, config, out / "phenotypes")  # the in-process engine


#: variants per level-0 block of the demo's step 1 (REGENIE's --bsize; its default of 1,000 is for
#: the few hundred thousand variants of a real step 1, the demo has a few thousand)
DEMO_STEP1_BLOCK = 200


def _step1(out: Path, store: Path, phenotypes: Path, pruned: Path):
    """Step 1 of the demo's GWAS traits, as ``hubscan wgr`` runs it (covariates as the scans)."""
    from gwas.wgr.config import validate
    from gwas.wgr.run import run_wgr

    cfg = validate({"genotypes": str(store), "phenotypes": str(phenotypes), "traits": list(DEMO_GWAS_TRAITS),
                    "covariates": [str(phenotypes / "covariates.tsv")], "variant_ids_file": str(pruned),
                    "block_size": DEMO_STEP1_BLOCK, "out": str(out / "wgr")})
    return run_wgr(cfg)  # in-process, on threads


def _scan(job: str, out: Path, store: Path, phenotypes: Path, **options):
    from gwas.scan.config import validate
    from gwas.scan.run import run_scan

    cfg = validate({"job": job, "genotypes": str(store), "phenotypes": str(phenotypes),
                    "covariates": [str(phenotypes / "covariates.tsv")], "out": str(out / job),
                    "genome_build": "GRCh37", **options})
    return run_scan(cfg)  # in-process, on threads


def summary(demo: DemoRun) -> str:
    """The table the demo prints: step, what, where."""
    width = max(len(what) for _, what, _ in demo.results)
    lines = [f"hubscan demo: results under {demo.out}"]
    for step, what, path in demo.results:
        lines.append(f"  {step:<10} {what:<{width}}  {path}")
    return "\n".join(lines)
