"""REGENIE-style and plink2-style text, and Parquet, for users of those tools.

REGENIE step-2 style (``<trait>.regenie.gz``, space-separated, ``NA`` missing)::

    CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ INFO N TEST BETA SE CHISQ LOG10P EXTRA

ALLELE1 is the effect allele (ALT), A1FREQ its frequency, BETA per copy (log-odds for binary
traits), CHISQ the 1-df chi² with the row's p-value, LOG10P = -log10 p, TEST ``ADD``, EXTRA the
hubscan test behind the row (linear, wald, score, firth...).

plink2 ``--glm`` style (``<trait>.glm.linear.gz`` / ``<trait>.glm.logistic.gz``, tab-separated)::

    #CHROM POS ID REF ALT A1 A1_FREQ TEST OBS_CT BETA|OR SE|LOG(OR)_SE T_STAT|Z_STAT P ERRCODE

A1 = ALT; OR = exp(beta) with LOG(OR)_SE the SE of beta; T_STAT / Z_STAT = beta / SE; P written
exactly below 1e-308. OBS_CT / N are disclosure-protected counts (``NA`` when suppressed); A1FREQ /
A1_FREQ the published frequency (rounded allele count / 2 x rounded called samples) and INFO to
3 decimals (see :mod:`gwas.publish.disclosure`).

CHROM / #CHROM use plink's numeric codes, as REGENIE writes them and plink2 with ``--output-chr 26``:
1-22, X = 23, Y = 24, MT = 26, so that a reader guessing column types from the first rows (polars
reads 100) gets integers throughout instead of failing at the first X. Rows on contigs without such
a code (unplaced, alternate) are left out of both, as REGENIE cannot hold them, and listed in
``disclosure/`` (:func:`coded_rows`); Parquet keeps them.

Parquet (``<trait>.parquet``): typed columns, counts protected (null when suppressed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gwas.publish.rows import chi2_from_neg_log10_p, format_counts, format_floats, format_p_values, write_text_gz

REGENIE_COLUMNS = ["CHROM", "GENPOS", "ID", "ALLELE0", "ALLELE1", "A1FREQ", "INFO", "N", "TEST", "BETA", "SE",
                   "CHISQ", "LOG10P", "EXTRA"]


#: GWAS-SSF chromosome code (rows.chrom_code) -> plink's numeric code where they differ (MT)
_PLINK_CODES = {25: 26}
#: plink's numeric codes of the text formats' CHROM -> the chromosome's name (1-22 are their own)
PLINK_CHROMOSOME_NAMES = {"23": "X", "24": "Y", "26": "MT"}


def coded_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows the text formats hold, rows left out with the reason): a contig needs a chromosome code."""
    coded = rows["chrom_code"].to_numpy() > 0
    left_out = rows.loc[~coded, ["contig", "position", "variant_id", "ref", "alt"]].assign(
        reason="contig has no chromosome code (1-22, X, Y, MT)")
    return rows.loc[coded], left_out


def plink_chromosomes(rows: pd.DataFrame) -> list[str]:
    """CHROM of text rows (:func:`coded_rows`): plink's numeric code (1-22, X 23, Y 24, MT 26)."""
    return [str(_PLINK_CODES.get(code, code)) for code in rows["chrom_code"].tolist()]


def _ids(rows: pd.DataFrame) -> list[str]:
    return [v if v and v != "." else f"{c}:{p}:{r}:{a}"
            for v, c, p, r, a in zip(rows["variant_id"], rows["contig"], rows["position"], rows["ref"], rows["alt"])]


def regenie_values(rows: pd.DataFrame) -> list[list[str]]:
    nlp = rows["neg_log10_p"].to_numpy(np.float64)
    columns = [plink_chromosomes(rows), rows["position"].astype(str).tolist(), _ids(rows),
               rows["ref"].tolist(), rows["alt"].tolist(), format_floats(rows["allele_frequency"]),
               format_floats(rows["info"]), format_counts(rows["n_pub"]), ["ADD"] * len(rows),
               format_floats(rows["beta"]), format_floats(rows["standard_error"]),
               format_floats(chi2_from_neg_log10_p(nlp)), format_floats(nlp), rows["test"].tolist()]
    return columns


def plink2_columns(binary: bool) -> list[str]:
    effect = ["OR", "LOG(OR)_SE", "Z_STAT"] if binary else ["BETA", "SE", "T_STAT"]
    return ["#CHROM", "POS", "ID", "REF", "ALT", "A1", "A1_FREQ", "TEST", "OBS_CT", *effect, "P", "ERRCODE"]


def plink2_values(rows: pd.DataFrame, binary: bool) -> list[list[str]]:
    beta = rows["beta"].to_numpy(np.float64)
    se = rows["standard_error"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    columns = [plink_chromosomes(rows), rows["position"].astype(str).tolist(), _ids(rows),
               rows["ref"].tolist(), rows["alt"].tolist(), rows["alt"].tolist(),
               format_floats(rows["allele_frequency"]), ["ADD"] * len(rows), format_counts(rows["n_pub"]),
               format_floats(np.exp(beta) if binary else beta), format_floats(se), format_floats(stat),
               format_p_values(rows["neg_log10_p"]), ["."] * len(rows)]
    return columns


def write_regenie(folder: Path, stem: str, rows: pd.DataFrame) -> Path:
    path = folder / f"{stem}.regenie.gz"
    write_text_gz(path, REGENIE_COLUMNS, rows, regenie_values, sep=" ")
    return path


def write_plink2(folder: Path, stem: str, rows: pd.DataFrame, binary: bool) -> Path:
    path = folder / f"{stem}.glm.{'logistic' if binary else 'linear'}.gz"
    write_text_gz(path, plink2_columns(binary), rows, lambda chunk: plink2_values(chunk, binary))
    return path


PARQUET_SCHEMA = pa.schema([
    ("chromosome", pa.string()), ("base_pair_location", pa.int64()), ("variant_id", pa.string()),
    ("effect_allele", pa.string()), ("other_allele", pa.string()), ("beta", pa.float64()),
    ("standard_error", pa.float64()), ("effect_allele_frequency", pa.float64()), ("p_value", pa.float64()),
    ("neg_log10_p_value", pa.float64()), ("n", pa.int64()), ("n_cases", pa.int64()), ("n_controls", pa.int64()),
    ("allele_count", pa.int64()), ("info", pa.float64()), ("test", pa.string())])


def _nullable_int(values) -> pa.Array:
    v = np.asarray(values, dtype=np.float64)
    return pa.array(np.where(np.isfinite(v), v, 0).astype(np.int64), pa.int64(), mask=~np.isfinite(v))


def write_parquet(folder: Path, stem: str, rows: pd.DataFrame) -> Path:
    """Typed table: p_value is 0 where it underflows (use neg_log10_p_value)."""
    nlp = rows["neg_log10_p"].to_numpy(np.float64)
    arrays = [pa.array(rows["contig"].astype(str).tolist(), pa.string()),
              pa.array(rows["position"].to_numpy(np.int64)), pa.array(rows["variant_id"].astype(str).tolist()),
              pa.array(rows["alt"].tolist(), pa.string()), pa.array(rows["ref"].tolist(), pa.string()),
              pa.array(rows["beta"].to_numpy(np.float64)), pa.array(rows["standard_error"].to_numpy(np.float64)),
              pa.array(rows["allele_frequency"].to_numpy(np.float64)), pa.array(10.0 ** -nlp),
              pa.array(nlp), _nullable_int(rows["n_pub"]), _nullable_int(rows["n_cases_pub"]),
              _nullable_int(rows["n_controls_pub"]), _nullable_int(rows["allele_count_pub"]),
              pa.array(rows["info"].to_numpy(np.float64)), pa.array(rows["test"].astype(str).tolist(), pa.string())]
    path = folder / f"{stem}.parquet"
    pq.write_table(pa.Table.from_arrays(arrays, schema=PARQUET_SCHEMA), path, compression="zstd",
                   store_schema=False)
    return path
