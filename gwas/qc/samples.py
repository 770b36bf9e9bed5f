"""Sample and variant QC and the genetic sex check, on Hail (results as pandas tables).

Sample QC uses autosomal calls only (X heterozygosity depends on sex). Variant QC: call rate and
ALT allele frequency over all samples; Hardy–Weinberg exact p (Wigginton et al. 2005, Hail
``variant_qc``) on autosomes only. Genetic sex: Hail ``impute_sex`` on non-PAR X variants with
ALT frequency >= 0.05: the inbreeding coefficient F of X calls (males, hemizygous, look homozygous:
F near 1; females near 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gwas.qc.load import variant_id
from gwas.qc.thresholds import QcThresholds
from hubscan.errors import InputError

MALE, FEMALE = 1, 2


def autosomal(hl, mt):
    return mt.filter_rows(mt.locus.in_autosome())


def sample_qc(hl, mt, thresholds: QcThresholds) -> pd.DataFrame:
    """Per sample: s, n_called, call_rate, n_het, het_rate, and the QC failures (call_rate,
    heterozygosity, no_calls) as a ';'-joined ``fail_reasons`` ('' when the sample passes)."""
    auto = autosomal(hl, mt)
    qc = auto.annotate_cols(qc=hl.struct(n_called=hl.agg.count_where(hl.is_defined(auto.GT)),
                                         n_het=hl.agg.count_where(auto.GT.is_het()),
                                         n=hl.agg.count())).cols()
    df = qc.select(n_called=qc.qc.n_called, n_het=qc.qc.n_het, n=qc.qc.n).to_pandas()
    if df.empty:
        raise InputError("the genotype input has no samples")
    if int(df["n"].max()) == 0:
        raise InputError("the genotype input has no autosomal biallelic variants")
    df["s"] = df["s"].astype(str)
    df["call_rate"] = df["n_called"] / df["n"]
    df["het_rate"] = np.where(df["n_called"] > 0, df["n_het"] / df["n_called"].clip(lower=1), np.nan)
    reasons = [[] for _ in range(len(df))]
    no_calls = df["n_called"].to_numpy() == 0
    low = df["call_rate"].to_numpy() < thresholds.min_sample_call_rate
    ok = ~low & ~no_calls
    het = df["het_rate"].to_numpy()
    if ok.sum() >= 3:
        mean, sd = het[ok].mean(), het[ok].std(ddof=1)
        outlier = ~no_calls & (np.abs(het - mean) > thresholds.het_sd * sd) if sd > 0 else np.zeros(len(df), bool)
    else:
        outlier = np.zeros(len(df), bool)
    for i in range(len(df)):
        if no_calls[i]:
            reasons[i].append("no_calls")
        elif low[i]:
            reasons[i].append("call_rate")
        if outlier[i]:
            reasons[i].append("heterozygosity")
    df["fail_reasons"] = [";".join(r) for r in reasons]
    return df.drop(columns="n")


def variant_qc(hl, mt, thresholds: QcThresholds) -> pd.DataFrame:
    """Per variant: variant ("chrom:pos:ref:alt"), chrom, pos, call_rate, alt_af, maf, hwe_p
    (autosomes; NaN elsewhere), fail_reasons."""
    rows = mt.annotate_rows(
        call_rate=hl.agg.fraction(hl.is_defined(mt.GT)),
        alt_af=hl.agg.sum(mt.GT.n_alt_alleles()) / hl.agg.sum(mt.GT.ploidy),
        hwe=hl.or_missing(mt.locus.in_autosome(), hl.agg.hardy_weinberg_test(mt.GT)),
    ).rows()
    rows = rows.select(variant=variant_id(hl, rows.locus, rows.alleles),
                       chrom=rows.locus.contig, pos=rows.locus.position, call_rate=rows.call_rate,
                       alt_af=rows.alt_af, hwe_p=rows.hwe.p_value)
    df = rows.key_by().drop("locus", "alleles").to_pandas()
    df["maf"] = np.minimum(df["alt_af"], 1 - df["alt_af"])
    failed = {
        "call_rate": df["call_rate"].to_numpy() < thresholds.min_variant_call_rate,
        "maf": ~(df["maf"].to_numpy() >= thresholds.min_maf),
        "hwe": df["hwe_p"].fillna(1.0).to_numpy() < thresholds.min_hwe_p,
    }
    df["fail_reasons"] = [";".join(name for name, flags in failed.items() if flags[i]) for i in range(len(df))]
    return df


def genetic_sex(hl, mt, thresholds: QcThresholds, recorded: dict[str, int | None] | None) -> pd.DataFrame:
    """Per sample: x_f (X inbreeding F), n_x_called, genetic_sex (1 male, 2 female, NA unknown),
    recorded_sex, sex_check ("ok", "mismatch", "unknown": F between the thresholds, no X
    variants, or sex not recorded)."""
    x = mt.filter_rows(mt.locus.in_x_nonpar())
    # Hemizygous (haploid) calls count as homozygous, as PLINK's --check-sex does.
    x = x.annotate_entries(GT=hl.if_else(x.GT.ploidy == 1, hl.call(x.GT[0], x.GT[0]), x.GT))
    n_x = x.count_rows()
    samples = [str(s) for s in mt.s.collect()]
    df = pd.DataFrame({"s": samples})
    if n_x == 0:
        df["x_f"], df["n_x_called"] = np.nan, 0
    else:
        imputed = hl.impute_sex(x.GT, aaf_threshold=0.05, female_threshold=thresholds.female_f,
                                male_threshold=thresholds.male_f)
        got = imputed.select(x_f=imputed.f_stat, n_x_called=imputed.n_called).to_pandas()
        got["s"] = got["s"].astype(str)
        df = df.merge(got, on="s", how="left")
    f = df["x_f"].to_numpy(dtype=float)
    sex = np.where(f > thresholds.male_f, MALE, np.where(f < thresholds.female_f, FEMALE, 0))
    df["genetic_sex"] = pd.array(np.where(np.isnan(f) | (sex == 0), pd.NA, sex), dtype="Int64")
    rec = recorded or {}
    df["recorded_sex"] = pd.array([rec.get(s) for s in df["s"]], dtype="Int64")
    both = df["genetic_sex"].notna() & df["recorded_sex"].notna()
    df["sex_check"] = np.where(~both, "unknown",
                               np.where(df["genetic_sex"].fillna(0) == df["recorded_sex"].fillna(0), "ok", "mismatch"))
    return df
