"""Ridge regression kernels of whole-genome regression (REGENIE's step 1), BLAS through NumPy.

Every fit here is a ridge regression ``(A + λI)⁻¹ b`` for a grid of ``λ`` with the same ``A``: one
symmetric eigendecomposition ``A = V diag(d) V'`` gives every ``λ`` at the price of a matrix product
(``V diag(1/(d+λ)) V' b``). Leave-one-out predictions use the usual hat-matrix shortcut,
``ŷ₋ᵢ = (x'ᵢβ − hᵢ yᵢ) / (1 − hᵢ)`` with ``hᵢ = x'ᵢ (A + λI)⁻¹ xᵢ``.

The products are large (block x samples) and run in BLAS; callers decide the BLAS thread count
(:func:`hubscan.runtime.threads.single_threaded_blas` when blocks run on several threads).
:func:`ridge_path_reference` and :func:`loo_ridge_reference` are the plain NumPy definitions the
tests compare with.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of the symmetric matrix ``a`` (LAPACK's
    divide-and-conquer driver: the fastest for the full spectrum)."""
    return scipy.linalg.eigh(a, driver="evd", check_finite=False)


def ridge_path(a: np.ndarray, b: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """``(a + λ I)⁻¹ b`` for every ``λ`` of ``lambdas``: (len(lambdas), p, k) for ``a`` (p, p)
    symmetric positive semi-definite and ``b`` (p, k), from one eigendecomposition of ``a``."""
    d, v = eigh(a)
    w = v.T @ b                                                      # (p, k)
    scaled = w[None, :, :] / (d[None, :, None] + np.asarray(lambdas)[:, None, None])   # (L, p, k)
    return v @ scaled


def ridge_path_cholesky(a: np.ndarray, b: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """:func:`ridge_path` by one Cholesky factorisation per ``λ`` (p³/3 flops each against about
    9p³ for the eigendecomposition: faster for the few ``λ`` of a level-0 grid); ``a`` is not
    modified."""
    from scipy.linalg import lapack

    p = a.shape[0]
    out = np.empty((len(lambdas), p, b.shape[1]))
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    work = np.empty((p, p), order="F")
    for j, lam in enumerate(lambdas):
        # LAPACK directly (scipy.linalg.cho_factor copies and checks its input on every call)
        work[...] = a
        work.flat[::p + 1] += lam
        factor, info = lapack.dpotrf(work, lower=1, overwrite_a=1, clean=0)
        if info:
            raise np.linalg.LinAlgError(f"ridge matrix not positive definite (LAPACK dpotrf info {info})")
        out[j], info = lapack.dpotrs(factor, b, lower=1)
    return out


def ridge_path_reference(a: np.ndarray, b: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """:func:`ridge_path` by one linear solve per ``λ``."""
    eye = np.eye(a.shape[0])
    return np.stack([np.linalg.solve(a + lam * eye, b) for lam in lambdas])


def loo_ridge(x: np.ndarray, y: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Leave-one-out ridge predictions without intercept: (n, k, L) for ``x`` (n, p) predictors,
    ``y`` (n, k) responses (same predictors for every response), ``lambdas`` (L): row i is
    predicted from the fit on every other row, ``(x'ᵢβ(λ) − hᵢ(λ) yᵢ) / (1 − hᵢ(λ))``."""
    d, v = eigh(x.T @ x)
    z = x @ v                                                        # (n, p): V'xᵢ per row
    w = v.T @ (x.T @ y)                                              # (p, k)
    inv = 1.0 / (d[:, None] + np.asarray(lambdas)[None, :])          # (p, L)
    h = (z * z) @ inv                                                # (n, L) leverages
    k, n_lam = w.shape[1], inv.shape[1]
    fitted = (z @ (w[:, :, None] * inv[:, None, :]).reshape(len(d), k * n_lam)).reshape(len(z), k, n_lam)  # x'ᵢβ(λ)
    return (fitted - h[:, None, :] * y[:, :, None]) / (1.0 - h[:, None, :])


def loo_ridge_reference(x: np.ndarray, y: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """:func:`loo_ridge` by refitting without each row in turn."""
    n, k = y.shape
    out = np.empty((n, k, len(lambdas)))
    eye = np.eye(x.shape[1])
    for i in range(n):
        keep = np.arange(n) != i
        for j, lam in enumerate(lambdas):
            beta = np.linalg.solve(x[keep].T @ x[keep] + lam * eye, x[keep].T @ y[keep])
            out[i, :, j] = x[i] @ beta
    return out
