"""Saddle-point approximation (SPA) of the logistic score test for a block of variants (a Numba
kernel over variants): REGENIE's ``--spa`` (Dey et al. 2017, Am J Hum Genet 101:37), as
:func:`gwas.wgr.step2.spa_test` defines it one variant at a time.

Per variant, with g~ the covariate-adjusted genotype (samples), mu and w = mu (1 - mu) the null
model's fitted probabilities and weights and U = g~'(y - mu) the score, q = -|U|; for each tail
(x = g~, then x = -g~) the cumulant generating function of the score restricted to the samples
``xs`` it is computed on:

    K(s)   = sum log(1 - m + m exp(s x)) - s sum x m + s² var0 / 2
    K'(s)  = sum x expit(logit m + s x) - sum x m + s var0
    K''(s) = sum x² p (1 - p) + var0,           p = expit(logit m + s x)

with REGENIE's "fast" SPA when at most :data:`FAST_FRACTION` of the samples have a non-zero
genotype (``xs`` those samples; the others enter by their normal approximation, var0 = sum of
their w x²), else every sample and var0 = 0. The saddle point s* solves K'(s) = q on [lo, 0]
(lo = -1, doubled until K'(lo) <= q; no root when lo passes -1e8 or q is at or below K's lower
limit sum(x[x < 0]) - sum x m of the exact case) by Brent's method (tolerance 1e-14 absolute and
relative, at most 500 iterations: scipy.optimize.brentq's settings in the reference). The tail is
Lugannani–Rice's Phi(z), z = w + log(v / w) / w, w = sign(s*) sqrt(2 (s* q - K(s*))), v = s*
sqrt(K''(s*)); s* = 0 gives the tail 1/2.

The kernel returns, per variant and tail, z (and whether the tail is 1/2) or a failure; the caller
takes log Phi(z) with scipy's ``log_ndtr`` and sums the two tails (:func:`spa_chi2`), so that the
special functions are those of the reference. Every variant is computed in a fixed order by one
thread: results do not depend on the thread count.
"""

import math

import numba
import numpy as np

#: REGENIE's fast SPA: when at most this fraction of the samples have a non-zero genotype
FAST_FRACTION = 0.5
#: Brent's method: tolerances and iterations (scipy.optimize.brentq's as the reference calls it)
ROOT_XTOL = ROOT_RTOL = 1e-14
ROOT_ITER = 500
#: the bracket's lower end stops doubling here (no root)
LOWEST_BRACKET = -1e8

OK, HALF, FAILED = 0, 1, 2


@numba.njit(cache=True, error_model="numpy")
def _logaddexp(a, b):
    """numpy.logaddexp's formula (same operations, same results)."""
    if a == b:
        return a + math.log(2.0)
    d = a - b
    if d > 0:
        return a + math.log1p(math.exp(-d))
    if d <= 0:
        return b + math.log1p(math.exp(d))
    return d


@numba.njit(cache=True, error_model="numpy")
def _expit(x):
    return 1.0 / (1.0 + math.exp(-x))


@numba.njit(cache=True, error_model="numpy")
def _k0(xs, log_m, log_1m, n, lin, var0, s):
    total = 0.0
    for i in range(n):
        total += _logaddexp(log_1m[i], log_m[i] + s * xs[i])
    return total - s * lin + 0.5 * s * s * var0


@numba.njit(cache=True, error_model="numpy")
def _k1(xs, logit_m, n, lin, var0, s):
    total = 0.0
    for i in range(n):
        total += xs[i] * _expit(logit_m[i] + s * xs[i])
    return total - lin + s * var0


@numba.njit(cache=True, error_model="numpy")
def _k2(xs, logit_m, n, var0, s):
    total = 0.0
    for i in range(n):
        p = _expit(logit_m[i] + s * xs[i])
        total += xs[i] * xs[i] * (p * (1.0 - p))
    return total + var0


@numba.njit(cache=True, error_model="numpy")
def _brent(xs, logit_m, n, lin, var0, q, a, b):
    """Root of K'(s) - q on [a, b] (signs differ or an end is a root) by Brent's method: inverse
    quadratic or secant steps kept inside the bracket when they shrink it fast enough, bisection
    otherwise. Returns (root, converged)."""
    x_prev, x_cur = a, b
    f_prev = _k1(xs, logit_m, n, lin, var0, x_prev) - q
    f_cur = _k1(xs, logit_m, n, lin, var0, x_cur) - q
    if f_prev * f_cur > 0:
        return np.nan, False
    if f_prev == 0:
        return x_prev, True
    if f_cur == 0:
        return x_cur, True
    x_blk, f_blk, s_prev, s_cur = 0.0, 0.0, 0.0, 0.0
    for _ in range(ROOT_ITER):
        if f_prev != 0 and f_cur != 0 and ((f_prev < 0) != (f_cur < 0)):
            x_blk, f_blk = x_prev, f_prev           # the bracket's other end
            s_prev = s_cur = x_cur - x_prev
        if abs(f_blk) < abs(f_cur):                 # keep the best estimate in x_cur
            x_prev, x_cur, x_blk = x_cur, x_blk, x_cur
            f_prev, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = (ROOT_XTOL + ROOT_RTOL * abs(x_cur)) / 2
        s_bis = (x_blk - x_cur) / 2
        if f_cur == 0 or abs(s_bis) < delta:
            return x_cur, True
        if abs(s_prev) > delta and abs(f_cur) < abs(f_prev):
            if x_prev == x_blk:                     # secant
                s_try = -f_cur * (x_cur - x_prev) / (f_cur - f_prev)
            else:                                   # inverse quadratic
                d_prev = (f_prev - f_cur) / (x_prev - x_cur)
                d_blk = (f_blk - f_cur) / (x_blk - x_cur)
                s_try = -f_cur * (f_blk * d_blk - f_prev * d_prev) / (d_blk * d_prev * (f_blk - f_prev))
            if 2 * abs(s_try) < min(abs(s_prev), 3 * abs(s_bis) - delta):
                s_prev, s_cur = s_cur, s_try
            else:
                s_prev, s_cur = s_bis, s_bis
        else:
            s_prev, s_cur = s_bis, s_bis
        x_prev, f_prev = x_cur, f_cur
        if abs(s_cur) > delta:
            x_cur += s_cur
        else:
            x_cur += delta if s_bis > 0 else -delta
        f_cur = _k1(xs, logit_m, n, lin, var0, x_cur) - q
    return x_cur, False


@numba.njit(cache=True, error_model="numpy")
def _tail(xs, log_m, log_1m, logit_m, n, lin, var0, q):
    """(status, z) of one tail (module docstring)."""
    if var0 == 0:
        low_limit = -lin
        for i in range(n):
            if xs[i] < 0:
                low_limit += xs[i]
        if not q > low_limit:
            return FAILED, np.nan
    lo = -1.0
    while _k1(xs, logit_m, n, lin, var0, lo) > q:
        lo *= 2
        if lo < LOWEST_BRACKET:
            return FAILED, np.nan
    root, converged = _brent(xs, logit_m, n, lin, var0, q, lo, 0.0)
    if not converged:
        return FAILED, np.nan
    if root == 0:
        return HALF, np.nan
    kv = _k0(xs, log_m, log_1m, n, lin, var0, root)
    k2v = _k2(xs, logit_m, n, var0, root)
    wv = (1.0 if root > 0 else -1.0) * math.sqrt(max(2 * (root * q - kv), 0.0))
    vv = root * math.sqrt(k2v)
    if wv == 0 or vv / wv <= 0:
        return FAILED, np.nan
    return OK, wv + math.log(vv / wv) / wv


@numba.njit(cache=True, nogil=True, error_model="numpy")
def spa_block(g_t, nonzero, y, mu, w, status, z):
    """SPA tails of the variants (rows) of ``g_t`` (variants, samples; covariate-adjusted
    genotypes), ``nonzero`` (variants, samples) bool their mean-imputed genotype is not 0; ``y``,
    ``mu``, ``w`` (samples,) the trait and its null fit. Fills ``status`` (variants, 2) int8 (OK,
    HALF: the tail is 1/2, FAILED: no saddle point; tail 0 for x = g~, tail 1 for x = -g~) and
    ``z`` (variants, 2) Lugannani–Rice's arguments."""
    n_var, n = g_t.shape
    log_m = np.log(mu)
    log_1m = np.log1p(-mu)
    logit_all = log_m - log_1m
    xs = np.empty(n)
    lm = np.empty(n)
    l1m = np.empty(n)
    lgt = np.empty(n)
    for v in range(n_var):
        gv = g_t[v]
        u = 0.0
        count = 0
        for i in range(n):
            u += gv[i] * (y[i] - mu[i])
            if nonzero[v, i]:
                count += 1
        q = -abs(u)
        fast = count <= FAST_FRACTION * n
        status[v, 0] = status[v, 1] = FAILED
        z[v, 0] = z[v, 1] = np.nan
        for tail in range(2):
            sign = 1.0 if tail == 0 else -1.0
            m = 0
            lin = 0.0
            var0 = 0.0
            for i in range(n):
                x = sign * gv[i]
                if fast and not nonzero[v, i]:
                    var0 += w[i] * (x * x)
                    continue
                xs[m] = x
                lm[m] = log_m[i]
                l1m[m] = log_1m[i]
                lgt[m] = logit_all[i]
                lin += x * mu[i]
                m += 1
            st, zv = _tail(xs, lm, l1m, lgt, m, lin, var0, q)
            status[v, tail] = st
            z[v, tail] = zv
            if st == FAILED:
                break


def spa_chi2(status: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chi², -log10 p) per variant from :func:`spa_block`'s tails: p = Phi(z₀) + Phi(z₁) (1/2 for
    a HALF tail), chi² its 1-df quantile; NaN where a tail failed or p exceeds 1."""
    from scipy import special

    from gwas.assoc.results import LN10

    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.where(status == HALF, np.log(0.5), special.log_ndtr(np.where(status == OK, z, 0.0)))
        log_p = np.logaddexp(logs[:, 0], logs[:, 1])
        bad = (status == FAILED).any(axis=1) | (log_p > 0)
        log_p = np.where(bad, np.nan, log_p)
        p = np.exp(log_p)
        chi2 = np.where(p > 0, special.chdtri(1, np.where(p > 0, p, 0.5)), 2 * special.erfcinv(p) ** 2)
    chi2 = np.where(bad, np.nan, chi2)
    return chi2, np.where(bad, np.nan, -log_p / LN10)
