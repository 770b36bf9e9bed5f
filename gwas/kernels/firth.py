"""Firth's penalized logistic regression for many variants at once (a Numba kernel over variants).

Model: logit P(y = 1) = C c + g beta with the covariates C (samples, k) shared by every variant
and g one variant's dosages. Firth (1993): the score gains the term X' diag(h (1/2 - mu)) with h
the diagonal of the hat matrix of W^(1/2) X (X = [C | g], W = diag(mu (1 - mu))), and the
penalized log-likelihood is l(b) + 1/2 log det(X' W X).

Iteration convention (as Hail's, see :mod:`gwas.kernels.glm`): at iteration i = 1, 2, ... the
step delta solves I_ff delta = U*_f, with I = X' W X the Fisher information, U* the penalized
score and f the free coefficients; the fit has converged at iteration i when max |delta| < tol
(and keeps b, as Hail does), has exploded when a weight w_i is 0, the information is not positive
definite or the step not finite, and stops unconverged when i reaches max_iter; otherwise b_f += delta.

A *constrained* fit (n_free = k) keeps the variant's coefficient at 0 but uses the whole design in
the penalty: the null model of the penalized likelihood-ratio test (Heinze & Schemper 2002;
logistf, Hail). Starts: the constrained fit from [b_null, 0] with b_null the covariates-only ML
fit, the full fit from the constrained fit (Hail's order); with ``null_fit=False`` (the Wald p of
the penalized fit, as plink2 reports) the full fit starts from [b_null, 0].

Computation per iteration (p = k + 1), two passes over the samples in cache-sized chunks: (1) mu,
w, the log-likelihood and I (p(p+1)/2 dot products; :func:`gwas.kernels.glm.sample_pass`, shared
with the maximum-likelihood fits); then the Cholesky factor L of I (I = L L')
and 1/2 log det I = sum log L_jj; (2) the hat diagonal h_i = w_i |L^-1 x_i|² by a forward
substitution vectorised over the chunk's samples, and the penalized score; the step by two
triangular solves with the leading f x f block of L (the Cholesky factor of I_ff). The SE of
beta is sqrt([I^-1]_gg) = 1 / L_gg at the kept b. Cost O(n p²) per iteration; no allocation
inside the variant loop.

Variants run in parallel, dealt round-robin to one lane per thread; every variant is computed by
one thread in a fixed order, so results do not depend on the number of threads.
"""

import math

import numba
import numpy as np

from gwas.kernels.glm import (LOGISTIC, SAMPLES, block_outputs, cholesky, cholesky_solve, design_transposed,
                              pass_buffers, sample_pass, start_variant)
from gwas.kernels.sums import FAST, add_row_products


@numba.njit(cache=True, fastmath=FAST)
def _penalized_score(Xt, y, mu, w, low, n_free, z, h, score):
    """U*_f = X_f' (y - mu + h (1/2 - mu)) with the hat diagonal h_i = w_i |L^-1 x_i|², one pass
    over the samples in chunks (z: the chunk of L^-1 X')."""
    p, n = Xt.shape
    for j in range(n_free):
        score[j] = 0.0
    for s in range(0, n, SAMPLES):
        e = min(n, s + SAMPLES)
        size = e - s
        mu_c, w_c, y_c = mu[s:e], w[s:e], y[s:e]
        for j in range(p):
            xj = Xt[j, s:e]
            zj = z[j]
            for i in range(size):
                zj[i] = xj[i]
            m = 0
            while m + 4 <= j:  # four earlier rows per sweep of z_j (one load and store per four products)
                c0, c1, c2, c3 = low[j, m], low[j, m + 1], low[j, m + 2], low[j, m + 3]
                z0, z1, z2, z3 = z[m], z[m + 1], z[m + 2], z[m + 3]
                for i in range(size):
                    zj[i] -= c0 * z0[i] + c1 * z1[i] + c2 * z2[i] + c3 * z3[i]
                m += 4
            for m in range(m, j):
                c = low[j, m]
                zm = z[m]
                for i in range(size):
                    zj[i] -= c * zm[i]
            inv = 1.0 / low[j, j]
            for i in range(size):
                zj[i] *= inv
                h[i] = zj[i] * zj[i] if j == 0 else h[i] + zj[i] * zj[i]
        for i in range(size):
            m = mu_c[i]
            h[i] = y_c[i] - m + w_c[i] * h[i] * (0.5 - m)  # now the penalized residual
        add_row_products(Xt, s, size, h, score, n_free)


@numba.njit(cache=True, fastmath=FAST)
def _firth_iterate(Xt, y, b, n_free, max_iter, tol, mu, w, work, z, h, info, low, score, step, offset=None):
    """Firth fit of the first ``n_free`` coefficients of b (in place), Xt = X' (p, samples), linear
    predictor X b + ``offset`` (samples, or None).
    Returns (penalized log-likelihood, iterations, converged, exploded); on convergence ``low`` is
    the Cholesky factor of the information at the returned b."""
    p = Xt.shape[0]
    for it in range(1, max_iter + 1):
        ll, positive = sample_pass(Xt, y, b, LOGISTIC, mu, w, info, score, work, True, False, True, None, None,
                                   offset)
        # Some w = 0 (mu rounded to 0 or 1) leaves the step, which divides by sqrt(w), undefined:
        # the fit has exploded (as Hail's does there).
        if not positive or not cholesky(info, low):
            return ll, it, False, True
        for j in range(p):
            ll += math.log(low[j, j])  # 1/2 log det(X'WX)
        _penalized_score(Xt, y, mu, w, low, n_free, z, h, score)
        largest = cholesky_solve(low, score, step, n_free)  # I_ff step = U*_f
        if not largest >= 0.0:
            return ll, it, False, True
        if largest < tol:
            return ll, it, True, False
        if it == max_iter:
            return ll, it, False, False
        for j in range(n_free):
            b[j] += step[j]
    return np.nan, 0, False, False


@numba.njit(cache=True)
def _buffers(p, n):
    """:func:`gwas.kernels.glm.pass_buffers`, then z (p x chunk) and h (chunk) of the penalized score."""
    mu, w, work, info, low, score, step = pass_buffers(p, n)
    return mu, w, work, np.empty((p, SAMPLES)), np.empty(SAMPLES), info, low, score, step


@numba.njit(cache=True)
def firth_fit(X, y, b0, n_free, max_iter, tol, offset=None):
    """One Firth-penalized logistic fit of the first ``n_free`` coefficients (the rest stay at b0),
    X (samples, p), linear predictor X b + ``offset`` (samples, or None). Returns (b, penalized log-likelihood, iterations, converged, exploded)."""
    Xt = np.ascontiguousarray(X.T)
    b = b0.astype(np.float64)
    mu, w, work, z, h, info, low, score, step = _buffers(X.shape[1], X.shape[0])
    ll, it, conv, expl = _firth_iterate(Xt, y, b, n_free, max_iter, tol, mu, w, work, z, h, info, low, score, step,
                                        offset)
    return b, ll, it, conv, expl


@numba.njit(cache=True, parallel=True, nogil=True)
def firth_block(C, G, y, b_null, max_iter, tol, null_fit, lanes, offset=None):
    """Firth fits of y ~ C + g for every row g of G (variants, samples); C (samples, k), y 0/1,
    b_null the covariates-only ML fit. With ``null_fit`` each variant first gets the constrained
    null fit (g's coefficient 0, full-design penalty) and chi² = 2 (l*_full - l*_null); otherwise
    chi² is NaN. ``lanes``: parallel lanes, as in :func:`gwas.kernels.glm.wald_lrt_mask`.
    ``offset`` (samples, or None): a fixed term of every fit's linear predictor (a LOCO prediction;
    b_null then the covariates-only fit with that offset).
    Returns per variant: beta, se (from the penalized information at beta), chi², iterations (of
    the full fit, or of the failed null fit), converged, exploded."""
    n_var, n = G.shape
    k = C.shape[1]
    beta, se, chi2, iters, conv, expl = block_outputs(n_var)
    lanes = max(1, min(lanes, n_var))
    for lane in numba.prange(lanes):  # round-robin lanes, as gwas.kernels.glm.wald_lrt_mask
        mu, w, work, z, h, info, low, score, step = _buffers(k + 1, n)
        Xt = design_transposed(C)
        b = np.empty(k + 1)
        for v in range(lane, n_var, lanes):
            start_variant(Xt, G[v], b, b_null)
            ll_null = np.nan
            if null_fit:
                ll_null, itn, cn, en = _firth_iterate(Xt, y, b, k, max_iter, tol, mu, w, work, z, h, info, low,
                                                      score, step, offset)
                if not cn:
                    iters[v], expl[v] = itn, en
                    continue
            ll, it, c, e = _firth_iterate(Xt, y, b, k + 1, max_iter, tol, mu, w, work, z, h, info, low, score, step,
                                          offset)
            iters[v], conv[v], expl[v] = it, c, e
            if c:
                beta[v] = b[k]
                se[v] = 1.0 / low[k, k]
                chi2[v] = 2.0 * (ll - ll_null)
    return beta, se, chi2, iters, conv, expl


def firth_fit_reference(X, y, b0, n_free, max_iter, tol, offset=None):
    """NumPy version of :func:`firth_fit` by the QR decomposition of W^(1/2) X (h = row sums of
    Q², 1/2 log det I = sum log |R_jj|, step = R_ff^-1 (Q' t)_f with t = W^(-1/2) (y - mu + h (1/2
    - mu)))."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _firth_fit_reference(X, y, np.array(b0, dtype=np.float64), n_free, max_iter, tol,
                                    0.0 if offset is None else np.asarray(offset, dtype=np.float64))


def _firth_fit_reference(X, y, b, n_free, max_iter, tol, offset):
    for it in range(1, max_iter + 1):
        mu = 1.0 / (1.0 + np.exp(-(X @ b + offset)))
        sqrt_w = np.sqrt(mu * (1.0 - mu))
        q, r = np.linalg.qr(X * sqrt_w[:, None])
        h = (q * q).sum(axis=1)
        ll = np.log(y * mu + (1 - y) * (1 - mu)).sum() + np.log(np.abs(np.diag(r))).sum()
        rhs = q[:, :n_free].T @ ((y - mu + h * (0.5 - mu)) / sqrt_w)
        coef = r[:n_free, :n_free]
        if not np.all(np.isfinite(np.diag(coef))) or np.any(np.diag(coef) == 0):
            return b, ll, it, False, True
        delta = np.linalg.solve(coef, rhs)
        if not np.all(np.isfinite(delta)):
            return b, ll, it, False, True
        if np.max(np.abs(delta)) < tol:
            return b, ll, it, True, False
        if it == max_iter:
            return b, ll, it, False, False
        b[:n_free] += delta
    return b, np.nan, 0, False, False
