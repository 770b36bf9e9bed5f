"""One trait's rows made ready to publish: read, disclosure-controlled, sorted, formatted.

:func:`publishable_rows` reads a trait from the results store and returns a pandas DataFrame of
the rows that may leave the hub (disclosure rules of :mod:`gwas.publish.disclosure` applied,
untested rows dropped), sorted by chromosome then position, with counts already protected and
the numbers derived from counts replaced by their published values (:func:`protect_rows`), plus
the withheld rows with their reason. The effect allele is ``alt``; ``beta`` is per copy of it.

Text helpers format numbers the same way in every text format: 6 significant digits, and
p-values from ``neg_log10_p`` so that p below 1e-308 (where float64 underflows) is written
exactly as ``<mantissa>e<exponent>``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from gwas.assoc.results import ErrorCode
from gwas.publish.disclosure import (INFO_DECIMALS, DisclosureRules, called_count, protect_counts,
                                     protect_trait_counts, published_allele_frequency, published_neg_log10_p,
                                     too_few_carriers)

#: columns read from the results store
READ_COLUMNS = ["variant_index", "contig", "position", "variant_id", "ref", "alt", "info", "n", "n_cases",
                "n_controls", "allele_count", "allele_frequency", "beta", "standard_error", "statistic",
                "p_value", "neg_log10_p", "test", "error_code", "firth_used"]

#: GWAS-SSF chromosome codes: 1-22, X = 23, Y = 24, MT = 25
_NAMED = {"X": 23, "Y": 24, "M": 25, "MT": 25}
_NUCLEOTIDES = re.compile(r"^[ACGTacgt]+$")
_RSID = re.compile(r"^rs[0-9]+$")


def chromosome_code(contig: str) -> int:
    """GWAS-SSF chromosome number of a contig name ('1', 'chr1', '01', 'X', 'chrM'...); 0 when the
    contig has none (unplaced, alternate, or numeric 23+ whose meaning differs between tools)."""
    name = str(contig)
    if name.lower().startswith("chr"):
        name = name[3:]
    if name.isdigit():
        value = int(name)
        return value if 1 <= value <= 22 else 0
    return _NAMED.get(name.upper(), 0)


def is_nucleotides(allele: str) -> bool:
    return bool(_NUCLEOTIDES.match(allele))


def rsid_or_none(variant_id: str) -> str | None:
    return variant_id if _RSID.match(variant_id or "") else None


def withhold_reasons(frame: pd.DataFrame, rules: DisclosureRules) -> np.ndarray:
    """Why each row (read with :data:`READ_COLUMNS`) is withheld; '' where it may be published.
    First reason wins: not tested, too few minor-allele carriers, no effect size or p-value."""
    reason = np.full(len(frame), "", dtype=object)
    codes = frame["error_code"].to_numpy()
    for code in sorted(set(codes[codes != 0].tolist())):
        reason[(codes == code) & (reason == "")] = f"not tested ({ErrorCode.NAMES.get(int(code), code)})"
    few = too_few_carriers(frame["allele_count"].to_numpy(), frame["allele_frequency"].to_numpy(), rules)
    reason[few & (reason == "")] = f"fewer than {rules.min_carriers} minor-allele carriers possible"
    no_stat = ~(np.isfinite(frame["beta"]) & np.isfinite(frame["standard_error"]) & np.isfinite(frame["neg_log10_p"])
                & np.isfinite(frame["allele_frequency"])).to_numpy()
    reason[no_stat & (reason == "")] = "no effect size, standard error or p-value (e.g. score test)"
    return reason


def df_offset(entry: dict, metadata: dict) -> int:
    """k + 1 of the linear test's n - k - 1 degrees of freedom: the trait's covariates (those the
    scan kept, else the store's), the intercept and the genotype."""
    covariates = entry.get("covariates")
    if covariates is None:
        covariates = metadata.get("covariates") or []
    return len(covariates) + 2


def protect_rows(rows: pd.DataFrame, rules: DisclosureRules, offset: int) -> pd.DataFrame:
    """Add the published counts ``n_pub``, ``n_cases_pub``, ``n_controls_pub`` (controls = n -
    cases of the published values, secondary suppression) and ``allele_count_pub``, and replace
    the numbers derived from counts by their published values: ``allele_frequency`` from the
    rounded allele count and rounded called samples, ``info`` to INFO_DECIMALS decimals,
    ``neg_log10_p`` / ``p_value`` of linear rows with the published n (see
    :mod:`gwas.publish.disclosure`). Call after the rules that need the exact values."""
    n_pub, cases_pub, controls_pub = protect_trait_counts(rows["n"].to_numpy(), rows["n_cases"].to_numpy(),
                                                          rows["n_controls"].to_numpy(), rules)
    ac, af = rows["allele_count"].to_numpy(np.float64), rows["allele_frequency"].to_numpy(np.float64)
    ac_pub = protect_counts(ac, rules)
    beta, se = rows["beta"].to_numpy(np.float64), rows["standard_error"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    nlp = published_neg_log10_p(rows["test"].to_numpy(), t, rows["neg_log10_p"].to_numpy(), n_pub, offset)
    return rows.assign(n_pub=n_pub, n_cases_pub=cases_pub, n_controls_pub=controls_pub, allele_count_pub=ac_pub,
                       allele_frequency=published_allele_frequency(ac_pub, protect_counts(called_count(ac, af), rules)),
                       info=np.round(rows["info"].to_numpy(np.float64), INFO_DECIMALS),
                       neg_log10_p=nlp, p_value=10.0 ** -nlp)


def publishable_rows(store, trait: str, rules: DisclosureRules, offset: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(published rows, withheld rows with ``reason``) of one trait; ``offset``: :func:`df_offset`.

    Published rows carry ``chrom_code`` (0 when the contig has no GWAS-SSF code) and the published
    values of :func:`protect_rows`, and are sorted by (chrom_code with 0 last, contig, position,
    variant_index). Withheld rows are only ever counted (by reason), never named.
    """
    frame = store.read(traits=[trait], columns=READ_COLUMNS)
    reason = withhold_reasons(frame, rules)
    frame = protect_rows(frame, rules, offset)
    no_p = (reason == "") & ~(np.isfinite(frame["neg_log10_p"]) & np.isfinite(frame["allele_frequency"])).to_numpy()
    reason[no_p] = "no p-value or frequency with the published counts"
    withheld = frame.loc[reason != "", ["contig", "position", "variant_id", "ref", "alt"]].assign(
        reason=reason[reason != ""])
    rows = frame.loc[reason == ""].copy()
    codes = {c: chromosome_code(c) for c in rows["contig"].unique()}
    rows["chrom_code"] = rows["contig"].map(codes).to_numpy(np.int64) if len(rows) else np.zeros(0, np.int64)
    rows["_order"] = np.where(rows["chrom_code"] == 0, 99, rows["chrom_code"])
    rows = rows.sort_values(["_order", "contig", "position", "variant_index"], kind="mergesort")
    rows = rows.drop(columns=["_order"]).reset_index(drop=True)
    return rows, withheld.reset_index(drop=True)


# --- text formatting ---------------------------------------------------------------------------

def format_floats(values, digits: int = 6, na: str = "NA") -> list[str]:
    """Numbers as text with ``digits`` significant digits; NaN and infinities as ``na``."""
    v = np.asarray(values, dtype=np.float64)
    text = list(map(f"{{:.{digits}g}}".format, v.tolist()))
    for i in np.flatnonzero(~np.isfinite(v)).tolist():
        text[i] = na
    return text


def format_counts(values, na: str = "NA") -> list[str]:
    """Whole counts (protected, NaN = suppressed) as integers."""
    return [str(int(v)) if math.isfinite(v) else na for v in np.asarray(values, dtype=np.float64).tolist()]


def p_value_text(neg_log10_p: float, digits: int = 6) -> str:
    """p = 10^-neg_log10_p as text, exact below 1e-308: '0.0123', '3.2e-12', '4.56e-400'."""
    if not math.isfinite(neg_log10_p):
        return "NA"
    if neg_log10_p < 300:
        return format(10.0 ** -neg_log10_p, f".{digits}g")
    x = -neg_log10_p
    exponent = math.floor(x)
    mantissa = round(10.0 ** (x - exponent), digits - 1)
    if mantissa >= 10.0:
        mantissa, exponent = mantissa / 10.0, exponent + 1
    text = format(mantissa, f".{digits - 1}f").rstrip("0").rstrip(".")
    return f"{text}e{exponent}"


def format_p_values(neg_log10_p, digits: int = 6, na: str = "NA") -> list[str]:
    return [p_value_text(v, digits) if math.isfinite(v) else na
            for v in np.asarray(neg_log10_p, dtype=np.float64).tolist()]


def chi2_from_neg_log10_p(neg_log10_p) -> np.ndarray:
    """1-df chi² with the same p-value, computed in log space (exact below 1e-308):
    chi² = z², z = -Φ⁻¹(p/2) via ``scipy.special.ndtri_exp(log(p/2))``."""
    from scipy import special

    nlp = np.asarray(neg_log10_p, dtype=np.float64)
    log_half_p = -nlp * np.log(10.0) - np.log(2.0)
    with np.errstate(invalid="ignore"):
        z = special.ndtri_exp(np.minimum(log_half_p, np.log(0.5)))
    return z * z


def write_text_gz(path: Path, header: list[str], rows: pd.DataFrame, columns: Callable[[pd.DataFrame], list],
                  sep: str = "\t", chunk_rows: int = 200_000) -> str:
    """Write a gzipped text table (header, then ``columns(chunk)`` — one list of strings per column —
    for each chunk of ``rows``); gzip with no file name and mtime 0, so reruns are byte-identical.
    Returns the file's MD5 (hex)."""
    digest = hashlib.md5()

    class _Hashing:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            digest.update(data)
            return self.f.write(data)

        def flush(self):
            self.f.flush()

    with open(path, "wb") as raw:
        # level 4: three times faster than 6 for 6 % larger files
        with gzip.GzipFile(filename="", mode="wb", fileobj=_Hashing(raw), compresslevel=4, mtime=0) as gz:
            gz.write((sep.join(header) + "\n").encode())
            for start in range(0, len(rows), chunk_rows):
                cols = columns(rows.iloc[start:start + chunk_rows])
                gz.write(("\n".join(sep.join(values) for values in zip(*cols)) + "\n").encode())
    return digest.hexdigest()
