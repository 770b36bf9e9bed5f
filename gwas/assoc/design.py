"""Shared input handling: checks against the field conventions, covariates with the intercept,
traits grouped by their sample masks."""

from __future__ import annotations

import numpy as np

from hubscan.errors import InputError

def as_dosage(dosage, n_samples: int | None = None) -> np.ndarray:
    """dosage as float64 (variants, samples), checked against ``n_samples`` when given."""
    dosage = np.asarray(dosage, dtype=np.float64)
    if dosage.ndim == 1:
        dosage = dosage[None, :]
    if dosage.ndim != 2:
        raise InputError("dosage must be (variants, samples) and traits (samples, traits)")
    if n_samples is not None and dosage.shape[1] != n_samples:
        raise InputError(f"traits have {n_samples} samples, dosages {dosage.shape[1]}")
    return dosage


def check_traits(traits, covariates, add_intercept: bool, n: int | None = None):
    """Arrays as float64: traits (samples, traits), design (samples, k) with the intercept first
    when ``add_intercept``, and the rows whose covariates are all present (rows with a missing
    covariate are excluded from every trait, as Hail drops samples lacking a covariate); ``n`` the
    dosages' sample count when known."""
    traits = np.asarray(traits, dtype=np.float64)
    if traits.ndim == 1:
        traits = traits[:, None]
    if traits.ndim != 2:
        raise InputError("dosage must be (variants, samples) and traits (samples, traits)")
    if n is not None and traits.shape[0] != n:
        raise InputError(f"traits have {traits.shape[0]} samples, dosages {n}")
    label = "traits" if n is None else "dosages"
    n = traits.shape[0]
    cov = np.empty((n, 0)) if covariates is None else np.asarray(covariates, dtype=np.float64)
    if cov.ndim == 1:
        cov = cov[:, None]
    if cov.shape[0] != n:
        raise InputError(f"covariates have {cov.shape[0]} samples, {label} {n}")
    design = np.column_stack([np.ones(n), cov]) if add_intercept else cov
    cov_ok = np.isfinite(design).all(axis=1)
    return traits, design, cov_ok


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


#: smallest eigenvalue, relative to the largest, of the covariates' Gram matrix scaled to a unit
#: diagonal below which the covariates count as linearly dependent (about a 1e-6 residual norm of
#: one column on the others, the scan's own collinearity check)
RANK_TOLERANCE = 1e-12


def gram_inverse(design: np.ndarray) -> np.ndarray | None:
    """(C'C)⁻¹ of the design C (samples, k), or None when its columns are linearly dependent (a
    zero column, or the scaled Gram matrix's eigenvalues spread beyond :data:`RANK_TOLERANCE`).
    One k x k product and eigendecomposition: far cheaper than a QR or SVD of C for many samples."""
    k = design.shape[1]
    if k == 0:
        return np.empty((0, 0))
    gram = design.T @ design
    scale = np.sqrt(np.diag(gram))
    if not (scale > 0).all() or not np.isfinite(gram).all():
        return None
    scaled = gram / np.outer(scale, scale)
    eigen = np.linalg.eigvalsh(scaled)
    if eigen[0] <= RANK_TOLERANCE * eigen[-1]:
        return None
    return np.linalg.inv(scaled) / np.outer(scale, scale)


def full_rank(design: np.ndarray) -> bool:
    """Whether the columns of ``design`` (samples, k) are linearly independent (:func:`gram_inverse`)."""
    return gram_inverse(design) is not None
