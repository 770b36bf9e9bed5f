"""A realistic results store for the publishing tests, made the way a scan makes one.

Simulated genotypes (22 autosomes + X + an unplaced contig, common and rare variants, a
monomorphic one, a symbolic allele, imputed dosages with missing calls, LD around two planted
hits) and traits (quantitative with a huge effect so p < 1e-308, binary with a planted effect,
nulls, one binary trait with 6 cases, one the scan skipped), run through the real
``gwas.assoc.linear_regression`` / ``logistic_regression`` and written with
``rows_table`` / ``write_block`` / ``finalise_results``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwas.assoc import linear_regression, logistic_regression
from gwas.results.store import finalise_results, rows_table, write_block

N_SAMPLES = 800
PER_CONTIG = 30
HIT_QUANT = 100      # variant index of the quantitative hit (chromosome 4)
HIT_BINARY = 400     # variant index of the binary hit (chromosome 14)


@dataclass
class Cohort:
    root: Path
    sample_ids: list[str]
    patient_ids: list[str]
    variants: dict          # contig, position, variant_id, ref, alt, info arrays
    dosage: np.ndarray      # (variants, samples) float, NaN missing
    traits: dict            # name -> (samples,) values, NaN missing
    covariates: np.ndarray
    metadata: dict


def _variants(rng):
    contigs = [str(c) for c in range(1, 23)] + ["X"]
    contig, position = [], []
    for c in contigs:
        contig += [c] * PER_CONTIG
        position += np.cumsum(rng.integers(2_000, 30_000, PER_CONTIG)).tolist()
    contig += ["GL000220.1"] * 3
    position += [1_000, 2_000, 3_000]
    m = len(contig)
    bases = np.array(list("ACGT"))
    ref = bases[rng.integers(0, 4, m)]
    alt = bases[(np.searchsorted(bases, ref) + rng.integers(1, 4, m)) % 4]
    ref, alt = ref.astype(object), alt.astype(object)
    ref[50], alt[50] = "AT", "A"          # deletion
    alt[60] = "<DEL>"                    # symbolic allele: fine for REGENIE/plink2 text, not GWAS-SSF
    variant_id = np.array([f"rs{1000 + i}" if i % 7 else "." for i in range(m)], dtype=object)
    info = np.where(rng.random(m) < 0.3, rng.uniform(0.4, 1.0, m), 1.0)
    return {"contig": np.array(contig, dtype=object), "position": np.array(position, np.int64),
            "variant_id": variant_id, "ref": ref, "alt": alt, "info": info}


def _dosage(rng, m):
    maf = rng.uniform(0.05, 0.5, m)
    rare = rng.choice(np.arange(m), 25, replace=False)
    maf[rare] = 0.003
    g = rng.binomial(2, maf[:, None], (m, N_SAMPLES)).astype(np.float64)
    for hit in (HIT_QUANT, HIT_BINARY):                 # LD: neighbours copy the hit with noise
        for j in range(hit - 4, hit + 5):
            if j != hit:
                swap = rng.random(N_SAMPLES) < 0.1 + 0.1 * abs(j - hit)
                g[j] = np.where(swap, rng.binomial(2, 0.3, N_SAMPLES), g[hit])
    imputed = rng.random(m) < 0.3
    g[imputed] = np.clip(g[imputed] + rng.normal(0, 0.1, g[imputed].shape), 0, 2)
    g[rng.random(g.shape) < 0.01] = np.nan
    g[7] = np.where(np.isnan(g[7]), np.nan, 0.0)            # monomorphic
    return g


def make_cohort(root: Path, seed: int = 7) -> Cohort:
    rng = np.random.default_rng(seed)
    variants = _variants(rng)
    m = len(variants["contig"])
    g = _dosage(rng, m)
    ids = [f"HUBS{rng.integers(10**7, 10**8)}" for _ in range(N_SAMPLES)]
    patients = [f"PT{rng.integers(10**8, 10**9)}" for _ in range(N_SAMPLES)]
    cov = np.column_stack([rng.normal(55, 10, N_SAMPLES), rng.integers(0, 2, N_SAMPLES), rng.normal(size=(N_SAMPLES, 2))])
    hit_q = np.nan_to_num(g[HIT_QUANT], nan=np.nanmean(g[HIT_QUANT]))
    hit_b = np.nan_to_num(g[HIT_BINARY], nan=np.nanmean(g[HIT_BINARY]))
    quant = {"ldl": 5.0 * hit_q + 0.02 * cov[:, 0] + rng.normal(size=N_SAMPLES),
             "bmi": 27 + 0.3 * cov[:, 1] + rng.normal(0, 4, N_SAMPLES)}
    quant["bmi"][rng.random(N_SAMPLES) < 0.05] = np.nan
    logit = -1.6 + 0.9 * hit_b
    binary = {"250.2": (rng.random(N_SAMPLES) < 1 / (1 + np.exp(-logit))).astype(float),
              "411.2": (rng.random(N_SAMPLES) < 0.1).astype(float),
              "rare_disease": np.zeros(N_SAMPLES)}
    binary["rare_disease"][rng.choice(N_SAMPLES, 6, replace=False)] = 1.0
    lin = linear_regression(g, np.column_stack(list(quant.values())), cov)
    log = logistic_regression(g, np.column_stack(list(binary.values())), cov, test="firth-fallback")
    tables_per_trait, entries = {}, []
    extra = {"250.2": {"category": "endocrine/metabolic", "description": "Type 2 diabetes"},
             "411.2": {"category": "circulatory system", "description": "Ischemic heart disease"}}
    for res, names, kind in ((lin, list(quant), "quantitative"), (log, list(binary), "binary")):
        for j, name in enumerate(names):
            cols = {"variant_index": np.arange(m), **variants}
            for f in ("n", "n_cases", "n_controls", "allele_count", "allele_frequency", "beta", "standard_error",
                      "statistic", "p_value", "neg_log10_p", "error_code", "converged", "exploded", "iterations",
                      "firth_used"):
                cols[f] = getattr(res, f)[:, j]
            cols["test"] = (np.full(m, "linear", dtype=object) if kind == "quantitative"
                            else np.where(res.firth_used[:, j], "firth", "score").astype(object))
            tables_per_trait[name] = cols
            y = (quant | binary)[name]
            entry = {"name": name, "type": kind, "status": "tested", "n": int(np.isfinite(y).sum()),
                     "model": "linear" if kind == "quantitative" else "logistic",
                     "test": "linear" if kind == "quantitative" else "firth-fallback", **extra.get(name, {})}
            if kind == "binary":
                entry.update(n_cases=int((y == 1).sum()), n_controls=int((y == 0).sum()))
            entries.append(entry)
    entries.append({"name": "skipped trait", "type": "binary", "n": 800, "n_cases": 3, "n_controls": 797,
                    "status": "skipped", "reason": "3 cases < min_cases 50"})
    blocks = {"block-00000": slice(0, m // 2), "block-00001": slice(m // 2, m)}
    for block, sl in blocks.items():
        write_block(root, block, {t: rows_table({k: np.asarray(v)[sl] for k, v in cols.items()})
                                  for t, cols in tables_per_trait.items()})
    metadata = {"job": "gwas", "created_by": "hubscan 0.1.0",
                "software": {"python": "3.11", "numpy": np.__version__},
                "config": {"binary_test": "firth-fallback", "min_maf": None, "samples_file": "samples.txt"},
                "inputs": {"phenotypes": {"path": "phenotypes/traits.parquet", "sha256": "0" * 64}},
                "traits": entries, "covariates": ["age", "sex", "PC1", "PC2"], "n_samples": N_SAMPLES,
                "n_variants": m, "genome_build": "GRCh38",
                # a trap: identifiers a careless publisher could copy out of the metadata
                "qc": {"excluded_samples": ids[:3], "excluded_patients": patients[:3]}}
    finalise_results(root, metadata, list(blocks), list(tables_per_trait))
    return Cohort(root, ids, patients, variants, g, quant | binary, cov, metadata)


CATEGORIES = ("circulatory system", "endocrine/metabolic", "respiratory", None)


def make_phewas_store(root: Path, seed: int = 11) -> dict:
    """A PheWAS-shaped store: 3 variants x 24 binary phecodes (categories, some missing), one
    phecode driven by the first variant; logistic firth-fallback as the scan runs it."""
    rng = np.random.default_rng(seed)
    n = 1500
    g = rng.binomial(2, [[0.3], [0.2], [0.4]], (3, n)).astype(np.float64)
    names = [f"{400 + k}.{k % 3}" for k in range(24)]
    prevalence = rng.uniform(0.05, 0.3, len(names))
    y = (rng.random((n, len(names))) < prevalence).astype(float)
    y[:, 5] = rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 1.2 * g[0])))
    cov = rng.normal(size=(n, 2))
    res = logistic_regression(g, y, cov, test="firth-fallback")
    variants = {"contig": np.array(["4", "11", "19"], dtype=object), "position": np.array([1_000_000, 2_000_000, 3_000_000]),
                "variant_id": np.array(["rs11", "rs22", "."], dtype=object), "ref": np.array(["A", "C", "G"], dtype=object),
                "alt": np.array(["G", "T", "A"], dtype=object), "info": np.ones(3)}
    tables, entries = {}, []
    for j, name in enumerate(names):
        cols = {"variant_index": np.arange(3), **variants}
        for f in ("n", "n_cases", "n_controls", "allele_count", "allele_frequency", "beta", "standard_error",
                  "statistic", "p_value", "neg_log10_p", "error_code", "converged", "exploded", "iterations",
                  "firth_used"):
            cols[f] = getattr(res, f)[:, j]
        cols["test"] = np.where(res.firth_used[:, j], "firth", "score").astype(object)
        tables[name] = rows_table(cols)
        entry = {"name": name, "type": "binary", "status": "tested", "n": n, "test": "firth-fallback",
                 "n_cases": int(y[:, j].sum()), "n_controls": int(n - y[:, j].sum())}
        if CATEGORIES[j % 4]:
            entry["category"] = CATEGORIES[j % 4]
        entries.append(entry)
    write_block(root, "block-00000", tables)
    finalise_results(root, {"job": "phewas", "created_by": "hubscan 0.1.0", "software": {}, "config": {},
                            "inputs": {}, "traits": entries, "covariates": ["PC1", "PC2"], "n_variants": 3},
                     ["block-00000"], names)
    return {"names": names, "hit_trait": names[5]}
