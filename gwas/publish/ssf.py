"""GWAS-SSF v1.0 files: the GWAS Catalog's summary-statistics standard.

One gzipped tab-separated file per trait, ``<trait>.tsv.gz``, with beside it
``<trait>.tsv.gz-meta.yaml`` (the standard's metadata, ``data_file_md5sum`` included) and
``<trait>.tsv.gz.md5`` (``md5sum -c`` format). Columns, in the standard's order:

mandatory: ``chromosome`` (1-22, X = 23, Y = 24, MT = 25), ``base_pair_location`` (1-based),
``effect_allele`` (= the store's ALT), ``other_allele`` (REF), ``beta`` (per copy of the effect
allele: trait units or log-odds) or ``odds_ratio`` (binary traits, ``effect="auto"``),
``standard_error`` (of beta / of log odds ratio), ``effect_allele_frequency`` (in the tested
samples, from the rounded counts: see :mod:`gwas.publish.disclosure`), ``p_value`` — or
``neg_log_10_p_value`` with ``p_format="neg-log10"``;
encouraged: ``variant_id`` (``<chromosome>_<position>_<other>_<effect>``), ``rsid`` (when the
source id is one), ``n`` (disclosure-protected), ``info``, ``ci_lower``, ``ci_upper`` (95 %).

Missing values are ``#NA``. p-values come from ``neg_log10_p`` and are written as
``<mantissa>e<exponent>`` below 1e-308 (the Catalog's validator splits mantissa and exponent, so
they survive). Rows the standard cannot hold (contigs without a GWAS-SSF code, alleles that are
not nucleotide sequences) are left out and reported. gzip is written with no name and mtime 0,
so reruns give byte-identical files.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from gwas.publish.rows import (format_counts, format_floats, format_p_values, is_nucleotides, rsid_or_none,
                               write_text_gz)

SSF_VERSION = "GWAS-SSF v1.0"
Z_95 = 1.959963984540054
NA = "#NA"


def ssf_columns(binary: bool, effect: str = "auto", p_format: str = "p") -> list[str]:
    """Header of a GWAS-SSF file (mandatory then encouraged columns)."""
    effect_col = "odds_ratio" if (effect == "odds-ratio" or (effect == "auto" and binary)) else "beta"
    p_col = "neg_log_10_p_value" if p_format == "neg-log10" else "p_value"
    return ["chromosome", "base_pair_location", "effect_allele", "other_allele", effect_col, "standard_error",
            "effect_allele_frequency", p_col, "variant_id", "rsid", "n", "info", "ci_lower", "ci_upper"]


def ssf_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows GWAS-SSF can hold, rows it cannot with ``reason``)."""
    alleles = {a: is_nucleotides(a) for a in pd.unique(pd.concat([rows["ref"], rows["alt"]]))}
    nucleotide = (rows["ref"].map(alleles) & rows["alt"].map(alleles)).to_numpy(bool) if len(rows) else \
        np.zeros(0, bool)
    coded = rows["chrom_code"].to_numpy() > 0
    reason = np.where(~coded, "contig has no GWAS-SSF chromosome code (1-22, X, Y, MT)",
                      np.where(~nucleotide, "allele is not a nucleotide sequence (GWAS-SSF)", ""))
    out = rows.loc[reason == ""]
    bad = rows.loc[reason != "", ["contig", "position", "variant_id", "ref", "alt"]].assign(reason=reason[reason != ""])
    return out, bad


def ssf_values(rows: pd.DataFrame, binary: bool, effect: str = "auto", p_format: str = "p") -> list[list[str]]:
    """The columns of :func:`ssf_columns` as text for rows from :func:`ssf_rows`."""
    beta = rows["beta"].to_numpy(np.float64)
    se = rows["standard_error"].to_numpy(np.float64)
    lo, hi = beta - Z_95 * se, beta + Z_95 * se
    if ssf_columns(binary, effect, p_format)[4] == "odds_ratio":
        beta, lo, hi = np.exp(beta), np.exp(lo), np.exp(hi)
    nlp = rows["neg_log10_p"].to_numpy(np.float64)
    p = format_floats(nlp, na=NA) if p_format == "neg-log10" else format_p_values(nlp, na=NA)
    info = rows["info"].to_numpy(np.float64)
    info = np.where((info >= 0) & (info <= 1), info, np.nan)
    chrom = rows["chrom_code"].astype(str).tolist()
    pos = rows["position"].astype(str).tolist()
    ref, alt = rows["ref"].tolist(), rows["alt"].tolist()
    return [chrom, pos, alt, ref, format_floats(beta, na=NA), format_floats(se, na=NA),
            format_floats(rows["allele_frequency"], na=NA), p,
            [f"{c}_{q}_{r}_{a}" for c, q, r, a in zip(chrom, pos, ref, alt)],
            [rsid_or_none(v) or NA for v in rows["variant_id"]],
            format_counts(rows["n_pub"], na=NA), format_floats(info, na=NA),
            format_floats(lo, na=NA), format_floats(hi, na=NA)]


def write_gzip(path: Path, text: str) -> str:
    """Write ``text`` gzipped with fixed header fields; return the file's MD5 (hex)."""
    data = gzip.compress(text.encode(), compresslevel=6, mtime=0)
    path.write_bytes(data)
    return hashlib.md5(data).hexdigest()


def ssf_metadata(file_name: str, md5: str, trait: dict, *, genome_build: str, date: str, software: str,
                 covariates: list[str], min_maf: float | None, counts: dict, notes: str,
                 step1: dict | None = None) -> dict:
    """The ``-meta.yaml`` content (GWAS-SSF metadata fields; counts already disclosure-protected).
    ``step1``: the scan's step-1 record (results.json), carried into ``analysis_software`` and
    ``author_notes`` (file names and sha256 of the prediction list and of this trait's .loco file)."""
    binary = trait.get("type") == "binary"
    sample = {"sample_size": counts["n"]}
    if binary:
        sample.update(case_control_study=True, case_count=counts["n_cases"], control_count=counts["n_controls"])
    else:
        sample["case_control_study"] = False
    sample = {k: v for k, v in sample.items() if v is not None}
    meta = {"date_metadata_last_modified": date,
            "trait_description": [trait.get("description") or trait["name"]],
            "genome_assembly": genome_build,
            "coordinate_system": "1-based",
            "samples": [sample],
            "data_file_name": file_name,
            "file_type": SSF_VERSION,
            "data_file_md5sum": md5,
            "analysis_software": software,
            "adjusted_covariates": list(covariates) or None,
            "minor_allele_freq_lower_limit": min_maf,
            "is_harmonised": False,
            "is_sorted": True,
            "author_notes": notes}
    if step1:
        loco = (step1.get("loco") or {}).get(trait["name"]) or {}
        meta["analysis_software"] = f"{software} (step 2 with whole-genome regression LOCO predictions)"
        meta["author_notes"] = (f"{notes} Step 1 (whole-genome regression) predictions: {step1['pred_list']} "
                                f"(sha256 {step1['sha256']})"
                                + (f", {loco['file']} (sha256 {loco['sha256']})" if loco else "") + ".").strip()
    return {k: v for k, v in meta.items() if v is not None}


def write_ssf(folder: Path, stem: str, rows: pd.DataFrame, trait: dict, *, effect: str, p_format: str,
              meta_args: dict) -> tuple[list[Path], pd.DataFrame]:
    """Write ``<stem>.tsv.gz`` with its ``-meta.yaml`` and ``.md5``; return (files, rows left out)."""
    keep, left_out = ssf_rows(rows)
    data = folder / f"{stem}.tsv.gz"
    binary = trait.get("type") == "binary"
    md5 = write_text_gz(data, ssf_columns(binary, effect, p_format), keep,
                        lambda chunk: ssf_values(chunk, binary, effect, p_format))
    meta = ssf_metadata(data.name, md5, trait, **meta_args)
    meta_path = folder / f"{data.name}-meta.yaml"
    meta_path.write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))
    md5_path = folder / f"{data.name}.md5"
    md5_path.write_text(f"{md5}  {data.name}\n")
    return [data, meta_path, md5_path], left_out
