"""The QC job: sample and variant QC, genetic sex, relatedness and PCs, written as one folder.

Outputs (each file written atomically; ``qc.json`` last, so a folder with it is complete):

    sample_qc.tsv        per sample: s, n_called, call_rate, n_het, het_rate, x_f, genetic_sex,
                         recorded_sex, sex_check, qc_pass, fail_reasons, in_unrelated_set,
                         pc_source, PC1..PCk (NA where a sample has no calls)
    pcs.tsv              FID IID PC1..PCk: the covariate file plink2, REGENIE and hubscan's scans read
    failed_samples.tsv   s, reason (one row per reason: no_calls, call_rate, heterozygosity, sex_mismatch)
    failed_variants.tsv  variant, reason (call_rate, maf, hwe)
    variant_qc.tsv.gz    per variant: variant, chrom, pos, call_rate, alt_af, maf, hwe_p, fail_reasons
    related_pairs.tsv    i, j, kinship, degree (pairs above min_kinship)
    pca_variants.txt     the LD-pruned variants (chrom:pos:ref:alt) of relatedness and PCA
    qc.json              thresholds, counts, eigenvalues, inputs, hubscan version
    report/              plots (PNG and SVG) and report.html
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gwas.qc.load import check_inputs, load_genotypes, read_recorded_sex, read_sample_table, variant_id
from gwas.qc.samples import genetic_sex, sample_qc, variant_qc
from gwas.qc.structure import PC_RELATE_PCS, principal_components, pca_variant_set, related_pairs, unrelated_set
from gwas.qc.thresholds import QcThresholds
from hubscan import __version__
from hubscan.errors import InputError
from hubscan.files import atomic_dir, atomic_file, prepare_output_dir

log = logging.getLogger(__name__)
#: Genotypes per Hail partition after loading.
ENTRIES_PER_PARTITION = 20_000_000


@dataclass(frozen=True)
class QcResult:
    """The QC folder and its headline counts."""

    out: Path
    n_samples: int
    n_failed_samples: int
    n_variants: int
    n_failed_variants: int
    n_related_pairs: int
    n_unrelated: int
    n_pca_variants: int


def run_qc(inputs: list[str], out, thresholds: QcThresholds = QcThresholds(), sample_file: str | None = None,
           sex_file: str | None = None, sex_column: str = "sex", labels_file: str | None = None,
           label_column: str | None = None) -> QcResult:
    """Run QC on ``inputs`` (see :mod:`gwas.qc.load`) into the folder ``out`` (layout above).

    ``sex_file``: recorded sex per sample (:func:`gwas.qc.load.read_recorded_sex`); without it the sex
    check reports genetic sex only. ``labels_file``/``label_column``: a sample label (population,
    hub) that colours the PC plots. Hail starts on the active Spark session (or an embedded one whose
scratch and logs live under ``out``).
    """
    from hubscan.runtime.hail import init_hail
    from hubscan.runtime.spark import run_paths

    started = time.monotonic()
    check_inputs([str(p) for p in inputs])
    recorded = read_recorded_sex(sex_file, sex_column) if sex_file else None  # bad files fail before Hail
    labels = read_sample_table(labels_file, label_column, "labels") if labels_file and label_column else None
    out = prepare_output_dir(out)
    (out / "qc.json").unlink(missing_ok=True)  # not complete until the end
    hl = init_hail(out)
    scratch = run_paths(out)["hail_tmp"] / "qc"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        mt = load_genotypes(hl, inputs, sample_file=sample_file, scratch=str(scratch))
        # Parse the inputs once: every later step reads this native copy, in partitions of about
        # ENTRIES_PER_PARTITION genotypes (Hail's per-partition overhead dominates small inputs).
        mt = mt.checkpoint(str(scratch / "genotypes.mt"), overwrite=True)
        n_rows, n_cols = mt.count()
        mt = mt.naive_coalesce(max(2, min(mt.n_partitions(), -(-n_rows * n_cols // ENTRIES_PER_PARTITION))))
        log.info("QC: sample QC and variant QC")
        samples = sample_qc(hl, mt, thresholds)
        variants = variant_qc(hl, mt, thresholds)
        sex = genetic_sex(hl, mt, thresholds, recorded)
        samples = samples.merge(sex, on="s", how="left")
        _flag_sex_mismatch(samples)
        # Relatedness and the PCA fit use samples with good calls; a sex mismatch (a flag, often a
        # sample swap) does not make the genotypes worse.
        usable = samples.loc[~samples["fail_reasons"].str.contains("no_calls|call_rate|heterozygosity"), "s"].tolist()
        with_calls = samples.loc[samples["n_called"] > 0, "s"].tolist()
        if len(usable) < 2:
            raise InputError(f"only {len(usable)} sample(s) pass call-rate and heterozygosity QC: relatedness "
                             "and PCA need more")
        log.info("QC: LD-pruned variant set, relatedness, PCA (%d samples pass QC)", len(usable))
        pruned, n_common, n_pruned = pca_variant_set(hl, mt.filter_cols(hl.literal(set(usable)).contains(mt.s)),
                                                     thresholds, str(scratch / "pca"))
        if n_pruned <= thresholds.n_pcs:
            raise InputError(f"PCA of {thresholds.n_pcs} components needs more than {thresholds.n_pcs} LD-pruned "
                             f"common variants; found {n_pruned} (of {n_common} common): lower --pcs or give "
                             f"more variants")
        rows = pruned.rows()
        pca_variants = rows.select(variant=variant_id(hl, rows.locus, rows.alleles)).variant.collect()
        first_pairs = related_pairs(hl, pruned, thresholds)
        first_unrelated = set(unrelated_set(hl, usable, first_pairs))
        ancestry, _ = principal_components(hl, pruned, sorted(first_unrelated),
                                           [s for s in usable if s not in first_unrelated], PC_RELATE_PCS)
        pairs = related_pairs(hl, pruned, thresholds, scores=ancestry)
        unrelated = unrelated_set(hl, usable, pairs)
        pruned_all = mt.semi_join_rows(pruned.rows())
        pcs, eigenvalues = principal_components(hl, pruned_all, unrelated,
                                                [s for s in with_calls if s not in set(unrelated)], thresholds.n_pcs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _remove_hail_scratch(out)
    samples["in_unrelated_set"] = samples["s"].isin(set(unrelated))
    samples = samples.merge(pcs, on="s", how="left")
    samples["qc_pass"] = samples["fail_reasons"].str.len() == 0
    _write_outputs(out, samples, variants, pairs, thresholds)
    with atomic_file(out / "pca_variants.txt") as tmp:
        tmp.write_text("".join(f"{v}\n" for v in pca_variants))
    summary = {
        "hubscan_version": __version__, "inputs": [str(p) for p in inputs], "thresholds": thresholds.to_dict(),
        "samples": len(samples), "samples_failed": int((~samples["qc_pass"]).sum()),
        "variants": len(variants), "variants_failed": int((variants["fail_reasons"] != "").sum()),
        "pca_variants_common": n_common, "pca_variants_pruned": n_pruned,
        "related_pairs": len(pairs), "unrelated_samples": len(unrelated),
        "sex_mismatches": int((samples["sex_check"] == "mismatch").sum()),
        "eigenvalues": [float(v) for v in eigenvalues],
    }
    from gwas.qc.report import write_report

    with atomic_dir(out / "report") as tmp:
        write_report(tmp, samples, variants, pairs, summary, labels)
    with atomic_file(out / "qc.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    log.info("QC finished in %.0f s: %d of %d samples and %d of %d variants fail; %d related pairs",
             time.monotonic() - started, summary["samples_failed"], len(samples), summary["variants_failed"],
             len(variants), len(pairs))
    return QcResult(out, len(samples), summary["samples_failed"], len(variants), summary["variants_failed"],
                    len(pairs), len(unrelated), n_pruned)


def _remove_hail_scratch(out: Path) -> None:
    """Remove the Hail tables (``persist_Table*``, index scratch) this run left under ``out/_spark``:
    the session may outlive the QC (the demo's does), and they hold sample ids."""
    from hubscan.runtime.spark import run_paths

    paths = run_paths(out)
    shutil.rmtree(paths["hail_tmp"], ignore_errors=True)
    spark_root = paths["hail_tmp"].parent
    if spark_root.is_dir() and not any(spark_root.iterdir()):
        spark_root.rmdir()


def _flag_sex_mismatch(samples: pd.DataFrame) -> None:
    mismatch = samples["sex_check"] == "mismatch"
    samples.loc[mismatch, "fail_reasons"] = [";".join(filter(None, [r, "sex_mismatch"]))
                                             for r in samples.loc[mismatch, "fail_reasons"]]


def _write_outputs(folder: Path, samples: pd.DataFrame, variants: pd.DataFrame, pairs: pd.DataFrame,
                   thresholds: QcThresholds) -> None:
    def write(frame: pd.DataFrame, name: str, **options) -> None:
        with atomic_file(folder / name) as tmp:
            frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g",
                         compression={"method": "gzip", "mtime": 0} if name.endswith(".gz") else None, **options)

    pc_cols = [f"PC{c + 1}" for c in range(thresholds.n_pcs)]
    columns = ["s", "n_called", "call_rate", "n_het", "het_rate", "x_f", "genetic_sex", "recorded_sex", "sex_check",
               "qc_pass", "fail_reasons", "in_unrelated_set", "pc_source", *pc_cols]
    write(samples[columns], "sample_qc.tsv", na_rep="NA")
    with_pcs = samples[samples["PC1"].notna()]
    pcs = pd.DataFrame({"FID": with_pcs["s"], "IID": with_pcs["s"]})
    for c in pc_cols:
        pcs[c] = with_pcs[c].to_numpy()
    write(pcs, "pcs.tsv")
    failed = [(s, r) for s, reasons in zip(samples["s"], samples["fail_reasons"]) for r in reasons.split(";") if r]
    write(pd.DataFrame(failed, columns=["s", "reason"]), "failed_samples.tsv")
    failed_v = [(v, r) for v, reasons in zip(variants["variant"], variants["fail_reasons"]) for r in reasons.split(";") if r]
    write(pd.DataFrame(failed_v, columns=["variant", "reason"]), "failed_variants.tsv")
    write(variants, "variant_qc.tsv.gz", na_rep="NA")
    write(pairs, "related_pairs.tsv")


def read_pcs(path) -> pd.DataFrame:
    """A ``pcs.tsv`` (FID IID PC1..) as written above."""
    return pd.read_csv(path, sep="\t", dtype={"FID": str, "IID": str})
