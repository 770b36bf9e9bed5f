"""The arithmetic of whole-genome regression step 1 (REGENIE's, Mbatchou et al. 2021, Nat Genet
53:1097), on arrays: samples are the analysed samples (rows), traits are columns.

Conventions (those of REGENIE v4, so that predictions agree with its ``.loco`` files):

* Covariates: an orthonormal basis ``Q`` of [1, covariates] over the analysed samples (eigenvectors
  of X'X with eigenvalues above ``1e-15 x`` the largest; ``ncov`` = its rank).
* Traits: a quantitative trait is centred on the mean of its observed values and its missing values
  are then 0 (mean-imputed: with several traits REGENIE keeps those samples, with one trait the
  caller leaves them out); a binary trait stays 0/1 and its missing values are masked (``mask``
  False: 0 and left out of every sum). Residualised on ``Q`` (residuals of masked samples set to 0)
  and scaled to ``‖r‖² = Neff − ncov``.
* Genotypes: per block, missing calls mean-imputed, residualised on ``Q`` and scaled to
  ``‖g‖² = n − ncov``. The sign of a genotype (which allele is counted) does not change predictions.
* Level 0: K folds of consecutive samples (``n // K`` each, the last takes the rest); in each
  fold, ridge on the other folds for every ``λ = M (1 − h²)/h²`` (M variants in step 1), and
  predictions for the fold's samples; every (block, λ) prediction column is then centred on its
  mean over the trait's samples and scaled to unit variance (``n − 1``). Leave-one-out (``loocv``)
  instead of folds on request, and for binary traits with fewer than 5,000 samples.
* Level 1: ridge (quantitative) or ridge logistic regression with the covariates' fitted logit as
  offset (binary) on the level-0 columns, for ``τ = P (1 − h²)/h²`` (P columns; x 3/π² for binary),
  chosen by cross-validated MSE (quantitative) or negative log-likelihood (binary); each sample's
  prediction uses the fit of the fold that left it out; the LOCO prediction of chromosome c is
  the sum over the other chromosomes' columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from gwas.kernels.ridge import eigh, loo_ridge, ridge_path, ridge_path_cholesky

#: REGENIE's default heritability grids of level 0 and level 1
DEFAULT_H2 = (0.01, 0.25, 0.5, 0.75, 0.99)
#: eigenvalues of the covariates' X'X below this share of the largest are dropped (rank)
EIGEN_REL_TOL = 1e-15
#: a genotype or trait scale (standard deviation after covariates) below this is "no variance"
NUMTOL = 1e-6
#: null logistic fit: tolerance and iterations; ridge logistic: score tolerance, weight floor
LOGISTIC_TOL, LOGISTIC_ITER = 1e-8, 30
RIDGE_LOGISTIC_TOL, RIDGE_LOGISTIC_EPS, RIDGE_LOGISTIC_ITER = 1e-4, 1e-5, 500
#: binary traits with fewer analysed samples use leave-one-out cross-validation (as REGENIE)
LOOCV_BELOW = 5000


# -- covariates and traits ------------------------------------------------------------------
def covariate_basis(covariates: np.ndarray) -> np.ndarray:
    """Orthonormal basis (n, ncov) of the intercept and ``covariates`` (n, k)."""
    x = np.column_stack([np.ones(covariates.shape[0]), covariates])
    d, v = eigh(x.T @ x)
    keep = d > d[-1] * EIGEN_REL_TOL
    return (x @ v[:, keep]) / np.sqrt(d[keep])


@dataclass
class Traits:
    """Traits ready for level 0 (see the module docstring)."""

    y: np.ndarray            # (n, T) residualised, scaled; 0 where masked
    mask: np.ndarray         # (n, T) bool: sample in the trait's analysis
    neff: np.ndarray         # (T,) samples per trait
    scale: np.ndarray        # (T,) standard deviation after covariates (trait units)
    binary: np.ndarray       # (T,) bool
    raw: np.ndarray          # (n, T) 0/1 values of binary traits (0 where masked), else 0
    offset: np.ndarray       # (n, T) covariates' fitted logit of binary traits, else 0
    converged: np.ndarray = field(default=None)   # (T,) null logistic fit converged


def prepare_traits(values: np.ndarray, binary: np.ndarray, basis: np.ndarray,
                   means: np.ndarray | None = None) -> Traits:
    """:class:`Traits` from ``values`` (n, T) with NaN missing; ``binary`` (T,) bool; ``means`` (T,)
    the values' means used to centre them (default over ``values``; REGENIE takes them over every
    phenotyped sample, also those later left out for a missing covariate: with masked or imputed
    samples the centre is not absorbed by the intercept). A trait whose scale after covariates is
    below :data:`NUMTOL` has ``scale`` < NUMTOL (the caller refuses it)."""
    observed = np.isfinite(values)
    mask = np.where(binary[None, :], observed, True)
    if means is None:
        means = np.where(observed, values, 0.0).sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
    # binary traits enter the residualisation as 0/1 with 0 where masked, uncentred (checked against
    # REGENIE v4.1.2's level-0 predictions: with masked samples the centre is not absorbed)
    means = np.where(binary, 0.0, means)
    y0 = np.where(observed, values - means, 0.0)
    resid = y0 - (basis @ (basis.T @ y0)) * mask
    neff = mask.sum(axis=0).astype(np.float64)
    scale = np.linalg.norm(resid, axis=0) / np.sqrt(np.maximum(neff - basis.shape[1], 1))
    y = resid / np.where(scale > 0, scale, 1.0)
    raw = np.where(binary[None, :] & observed, values, 0.0)
    offset = np.zeros_like(y)
    converged = np.ones(values.shape[1], dtype=bool)
    for t in np.flatnonzero(binary):
        offset[:, t], converged[t] = null_logistic(raw[:, t], mask[:, t], basis)
    return Traits(y, mask, neff, scale, np.asarray(binary, bool), raw, offset, converged)


def null_logistic(y: np.ndarray, mask: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Logistic regression of ``y`` on ``x`` over the ``mask`` samples (Newton-Raphson with step
    halving): (fitted logit for every sample, converged)."""
    xm = x[mask]
    ym = y[mask]
    start = (0.5 + ym) / 2                       # REGENIE's start: p = (0.5 + y) / 2
    beta = np.linalg.lstsq(xm, np.log(start / (1 - start)), rcond=None)[0]
    eta = xm @ beta
    dev = _deviance(ym, 1 / (1 + np.exp(-eta)))
    for _ in range(LOGISTIC_ITER):
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        if w.min() <= 0:
            return x @ beta, False
        step = np.linalg.solve((xm * w[:, None]).T @ xm, xm.T @ (ym - p))
        new = beta + step
        for _ in range(20):
            eta_new = xm @ new
            p_new = 1 / (1 + np.exp(-eta_new))
            dev_new = _deviance(ym, p_new)
            if np.isfinite(dev_new) and 0 < p_new.min() and p_new.max() < 1:
                break
            new = (beta + new) / 2
        score = xm.T @ (ym - p_new)
        beta, eta = new, eta_new
        if np.abs(score).max() < LOGISTIC_TOL or abs(dev_new - dev) / (0.1 + abs(dev_new)) < LOGISTIC_TOL:
            return x @ beta, True
        dev = dev_new
    return x @ beta, False


def _deviance(y, p):
    with np.errstate(divide="ignore"):
        return -2 * np.sum(np.where(y == 1, np.log(p), np.log(1 - p)))


def fold_bounds(n: int, folds: int) -> np.ndarray:
    """Boundaries (folds + 1) of ``folds`` consecutive groups of ``n // folds`` samples, the last
    one taking the remainder (REGENIE's split of the analysed samples in file order)."""
    size = n // folds
    return np.array([k * size for k in range(folds)] + [n], dtype=np.int64)


def ridge_grid(h2, count: int, binary: bool = False) -> np.ndarray:
    """Ridge parameters ``count (1 − h²)/h²`` for the heritabilities ``h2`` (x 3/π² for the
    liability scale of a binary level 1)."""
    h2 = np.asarray(h2, dtype=np.float64)
    grid = count * (1 - h2) / h2
    return grid * 3 / np.pi ** 2 if binary else grid


# -- level 0 --------------------------------------------------------------------------------
def standardise_block(filled: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-imputed genotypes (b, n) residualised on ``basis`` and scaled to ``‖g‖² = n − ncov``
    (in place): (block, scales); a scale below :data:`NUMTOL` means no variance after covariates."""
    filled -= (filled @ basis) @ basis.T
    scale = np.linalg.norm(filled, axis=1) / np.sqrt(filled.shape[1] - basis.shape[1])
    filled /= np.where(scale > 0, scale, 1.0)[:, None]
    return filled, scale


def level0_block(g: np.ndarray, traits: Traits, lambdas: np.ndarray, bounds: np.ndarray | None) -> np.ndarray:
    """Level-0 predictions of one standardised block ``g`` (b, n) for every trait and ridge
    parameter: (T, n, L), each column centred and scaled over the trait's samples, 0 where masked.
    ``bounds`` from :func:`fold_bounds`, or None for leave-one-out."""
    y = traits.y
    n_traits, n_lam = y.shape[1], len(lambdas)
    if bounds is None:
        pred = loo_ridge(g.T, y, lambdas)                            # (n, T, L)
        pred = np.ascontiguousarray(pred.transpose(1, 0, 2))
    else:
        pred = np.empty((n_traits, g.shape[1], n_lam))
        parts = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        gg = [g[:, a:b] @ g[:, a:b].T for a, b in parts]
        gy = [g[:, a:b] @ y[a:b] for a, b in parts]
        gg_all, gy_all = sum(gg), sum(gy)
        for (a, b), gg_f, gy_f in zip(parts, gg, gy):
            beta = ridge_path_cholesky(gg_all - gg_f, gy_all - gy_f, lambdas)  # (L, b, T)
            p = g[:, a:b].T @ beta.transpose(1, 0, 2).reshape(g.shape[0], n_lam * n_traits)
            pred[:, a:b, :] = p.reshape(b - a, n_lam, n_traits).transpose(2, 0, 1)
    return scale_level0(pred, traits.mask, traits.neff)


def scale_level0(pred: np.ndarray, mask: np.ndarray, neff: np.ndarray) -> np.ndarray:
    """Centre and scale every (trait, λ) column of ``pred`` (T, n, L) over the trait's samples."""
    m = mask.T[:, :, None]
    pred = np.where(m, pred, 0.0)
    mean = pred.sum(axis=1, keepdims=True) / neff[:, None, None]
    centred = np.where(m, pred - mean, 0.0)
    sd = np.sqrt((centred ** 2).sum(axis=1, keepdims=True) / (neff[:, None, None] - 1))
    return centred / np.where(sd > 0, sd, 1.0)


# -- level 1 --------------------------------------------------------------------------------
@dataclass
class Level1Fit:
    """Level-1 result of one trait: per-chromosome contributions and the CV table."""

    parts: np.ndarray            # (n, chromosomes) each chromosome's share of the prediction
    best: int                    # index of the chosen τ
    cv_loss: np.ndarray          # (L1,) MSE (quantitative) or -log-likelihood / n (binary)
    converged: bool = True

    def loco(self) -> np.ndarray:
        """(n, chromosomes): prediction from every chromosome but the column's."""
        return self.parts.sum(axis=1, keepdims=True) - self.parts


def level1_quantitative(x: np.ndarray, y: np.ndarray, neff: float, ncov: int, taus: np.ndarray,
                        bounds: np.ndarray | None, column_chrom: np.ndarray, n_chrom: int) -> Level1Fit:
    """Ridge of ``y`` (n,) on the level-0 columns ``x`` (n, P), τ chosen by CV MSE."""
    if bounds is None:
        return _level1_quantitative_loo(x, y, neff, ncov, taus, column_chrom, n_chrom)
    parts_idx = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    xtx = [x[a:b].T @ x[a:b] for a, b in parts_idx]
    xty = [x[a:b].T @ y[a:b] for a, b in parts_idx]
    xtx_all, xty_all = sum(xtx), sum(xty)
    sx2 = np.zeros(len(taus))
    sxy = np.zeros(len(taus))
    sy2 = float(y @ y)
    betas = []
    for (a, b), xtx_f, xty_f in zip(parts_idx, xtx, xty):
        beta = ridge_path(xtx_all - xtx_f, (xty_all - xty_f)[:, None], taus)[:, :, 0]   # (L1, P)
        betas.append(beta)
        p = x[a:b] @ beta.T
        sx2 += (p * p).sum(axis=0)
        sxy += (p * y[a:b, None]).sum(axis=0)
    loss = (sx2 + sy2 - 2 * sxy) / neff
    best = int(np.argmin(loss))
    parts = np.zeros((x.shape[0], n_chrom))
    for (a, b), beta in zip(parts_idx, betas):
        contrib = x[a:b] * beta[best][None, :]
        parts[a:b] = _by_chrom(contrib, column_chrom, n_chrom)
    return Level1Fit(parts, best, loss)


def _by_chrom(contrib: np.ndarray, column_chrom: np.ndarray, n_chrom: int) -> np.ndarray:
    out = np.zeros((contrib.shape[0], n_chrom))
    for c in range(n_chrom):
        out[:, c] = contrib[:, column_chrom == c].sum(axis=1)
    return out


def _level1_quantitative_loo(x, y, neff, ncov, taus, column_chrom, n_chrom) -> Level1Fit:
    d, v = eigh(x.T @ x)
    z = x @ v                                   # (n, P)
    w = v.T @ (x.T @ y)                         # (P,)
    inv = 1.0 / (d[:, None] + taus[None, :])    # (P, L1)
    cal = (z * z) @ inv                         # (n, L1) leverages
    fitted = (z * w[None, :]) @ inv
    pred = (fitted - cal * y[:, None]) / (1 - cal)
    loss = ((pred ** 2).sum(axis=0) + (neff - ncov) - 2 * (pred * y[:, None]).sum(axis=0)) / neff
    best = int(np.argmin(loss))
    # leave-one-out coefficients at the chosen τ: β − (X'X+τ)⁻¹xᵢ (yᵢ − x'ᵢβ)/(1 − hᵢ)
    inv_b = inv[:, best]
    beta = v @ (w * inv_b)
    factor = (fitted[:, best] - y) / (1 - cal[:, best])              # (n,)
    b_loo = beta[None, :] + ((z * inv_b[None, :]) @ v.T) * factor[:, None]   # (n, P)
    return Level1Fit(_by_chrom(x * b_loo, column_chrom, n_chrom), best, loss)


def _weights(eta_lin, offset, mask, eps):
    """REGENIE's IRLS weights: p from offset + linear predictor on masked samples; p within
    ``eps`` of 0 or 1 set to 0 or 1 with weight ``eps`` (glmnet's strategy); weight 1 elsewhere."""
    eta = np.where(mask, offset + eta_lin, 0.0)
    p = 1 - 1 / (np.exp(eta) + 1)
    w = np.ones_like(p)
    inside = mask & (p >= eps) & (p <= 1 - eps)
    w[inside] = (p * (1 - p))[inside]
    low, high = mask & (p < eps), mask & (p > 1 - eps)
    p[low], w[low] = 0.0, eps
    p[high], w[high] = 1.0, eps
    return eta, p, w


def _ridge_logistic(x, y, offset, mask, tau, beta0):
    """IRLS of the ridge logistic regression (penalty τ‖β‖²/2) from ``beta0``: (β, converged)."""
    beta = beta0
    for it in range(1, RIDGE_LOGISTIC_ITER + 1):
        eta, p, w = _weights(x @ beta, offset, mask, RIDGE_LOGISTIC_EPS)
        z = np.where(mask, (eta - offset) + (y - p) / w, 0.0)
        xs = x * np.sqrt(w)[:, None]
        h = xs.T @ xs                     # X'WX by a symmetric rank-k update
        h[np.diag_indices_from(h)] += tau
        new = scipy.linalg.cho_solve(scipy.linalg.cho_factor(h, lower=True, check_finite=False),
                                     x.T @ (w * z), check_finite=False)
        _, p, _ = _weights(x @ new, offset, mask, RIDGE_LOGISTIC_EPS)
        score = x.T @ np.where(mask, y - p, 0.0) - tau * new
        beta = new
        if np.abs(score).max() < RIDGE_LOGISTIC_TOL:
            return beta, it <= LOGISTIC_ITER
    return beta, False


def _bernoulli_nll(y, p):
    p = np.clip(p, RIDGE_LOGISTIC_EPS, 1 - RIDGE_LOGISTIC_EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def level1_binary(x: np.ndarray, y: np.ndarray, offset: np.ndarray, mask: np.ndarray, neff: float,
                  taus: np.ndarray, bounds: np.ndarray | None, column_chrom: np.ndarray,
                  n_chrom: int) -> Level1Fit:
    """Ridge logistic regression of the 0/1 ``y`` on ``x`` with ``offset`` over the ``mask``
    samples; τ chosen by CV negative log-likelihood; ``converged`` False if any fit did not."""
    n = x.shape[0]
    loss = np.zeros(len(taus))
    if bounds is None:
        return _level1_binary_loo(x, y, offset, mask, neff, taus, column_chrom, n_chrom)
    parts_idx = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    betas = []
    for a, b in parts_idx:
        train = np.ones(n, dtype=bool)
        train[a:b] = False
        beta = np.zeros(x.shape[1])
        fold = []
        for tau in taus:
            beta, ok = _ridge_logistic(x[train], y[train], offset[train], mask[train], tau, beta)
            if not ok:
                return Level1Fit(np.zeros((n, n_chrom)), -1, loss, converged=False)
            fold.append(beta)
            p = 1 - 1 / (np.exp(offset[a:b] + x[a:b] @ beta) + 1)
            m = mask[a:b]
            loss[len(fold) - 1] += _bernoulli_nll(y[a:b][m], p[m]).sum()
        betas.append(fold)
    loss /= neff
    best = int(np.argmin(loss))
    parts = np.zeros((n, n_chrom))
    for (a, b), fold in zip(parts_idx, betas):
        parts[a:b] = _by_chrom(x[a:b] * fold[best][None, :], column_chrom, n_chrom)
    return Level1Fit(parts, best, loss)


def _level1_binary_loo(x, y, offset, mask, neff, taus, column_chrom, n_chrom) -> Level1Fit:
    n, p_cols = x.shape
    loss = np.zeros(len(taus))
    beta = np.zeros(p_cols)

    def loo_betas(beta, tau):
        _, p, w = _weights(x @ beta, offset, mask, RIDGE_LOGISTIC_EPS)
        xs = x * np.sqrt(w)[:, None]
        h = xs.T @ xs
        h[np.diag_indices_from(h)] += tau
        v1 = scipy.linalg.cho_solve(scipy.linalg.cho_factor(h, lower=True, check_finite=False), x.T,
                                    check_finite=False)                # (P, n)
        v2 = (x * v1.T).sum(axis=1) * w
        return beta[None, :] - (v1 * ((y - p) / (1 - v2))[None, :]).T  # (n, P)

    for j, tau in enumerate(taus):
        beta, ok = _ridge_logistic(x, y, offset, mask, tau, beta)
        if not ok:
            return Level1Fit(np.zeros((n, n_chrom)), -1, loss, converged=False)
        b_loo = loo_betas(beta, tau)
        pred = 1 - 1 / (np.exp(offset + (x * b_loo).sum(axis=1)) + 1)
        loss[j] = _bernoulli_nll(y[mask], pred[mask]).sum()
    loss /= neff
    best = int(np.argmin(loss))
    beta, ok = _ridge_logistic(x, y, offset, mask, taus[best], np.zeros(p_cols))
    if not ok:
        return Level1Fit(np.zeros((n, n_chrom)), -1, loss, converged=False)
    b_loo = loo_betas(beta, taus[best])
    return Level1Fit(_by_chrom(x * b_loo, column_chrom, n_chrom), best, loss)
