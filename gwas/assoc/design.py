"""Shared input handling: checks against the field conventions, covariates with the intercept,
traits grouped by their sample masks."""

from __future__ import annotations

import numpy as np

from hubscan.errors import InputError

#: Relative size below which a residual genotype sum of squares counts as zero.
COLLINEAR_TOLERANCE = 1e-8


def check_inputs(dosage, traits, covariates, add_intercept: bool):
    """Arrays as float64: dosage (variants, samples), traits (samples, traits), design
    (samples, k) with the intercept first when ``add_intercept``; rows of covariates with a
    missing value are excluded from every trait (as Hail drops samples lacking a covariate)."""
    dosage = np.asarray(dosage, dtype=np.float64)
    if dosage.ndim == 1:
        dosage = dosage[None, :]
    traits = np.asarray(traits, dtype=np.float64)
    if traits.ndim == 1:
        traits = traits[:, None]
    if dosage.ndim != 2 or traits.ndim != 2:
        raise InputError("dosage must be (variants, samples) and traits (samples, traits)")
    n = dosage.shape[1]
    if traits.shape[0] != n:
        raise InputError(f"traits have {traits.shape[0]} samples, dosages {n}")
    cov = np.empty((n, 0)) if covariates is None else np.asarray(covariates, dtype=np.float64)
    if cov.ndim == 1:
        cov = cov[:, None]
    if cov.shape[0] != n:
        raise InputError(f"covariates have {cov.shape[0]} samples, dosages {n}")
    design = np.column_stack([np.ones(n), cov]) if add_intercept else cov
    cov_ok = np.isfinite(design).all(axis=1)
    return dosage, traits, design, cov_ok


def mask_groups(traits: np.ndarray, cov_ok: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(sample rows, trait columns) for each distinct missingness pattern, in first-seen order."""
    groups: dict[bytes, list[int]] = {}
    masks: dict[bytes, np.ndarray] = {}
    for t in range(traits.shape[1]):
        mask = ~np.isnan(traits[:, t]) & cov_ok
        key = np.packbits(mask).tobytes()
        groups.setdefault(key, []).append(t)
        masks[key] = mask
    return [(np.flatnonzero(masks[k]), np.array(cols)) for k, cols in groups.items()]


def full_rank(design: np.ndarray) -> bool:
    return design.shape[1] == 0 or np.linalg.matrix_rank(design) == design.shape[1]


def genotype_checks(filled: np.ndarray, residual_ss: np.ndarray) -> np.ndarray:
    """Error code per variant from the imputed genotypes of the tested samples and the residual sum
    of squares after projecting out the covariates: MONOMORPHIC, COLLINEAR or OK."""
    from gwas.assoc.results import ErrorCode

    centred_ss = ((filled - filled.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    codes = np.zeros(filled.shape[0], dtype=np.int8)
    constant = np.ptp(filled, axis=1) == 0 if filled.shape[1] else np.ones(filled.shape[0], bool)
    codes[residual_ss <= COLLINEAR_TOLERANCE * np.maximum(centred_ss, 1e-300)] = ErrorCode.COLLINEAR
    codes[constant] = ErrorCode.MONOMORPHIC
    return codes
