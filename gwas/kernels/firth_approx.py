"""REGENIE's approximate Firth correction (``--firth --approx``) for a block of variants (a Numba
kernel over variants), as :func:`gwas.wgr.step2.approximate_firth` defines it one variant at a time.

Per variant: the one-parameter Firth logistic regression of y on g~ (covariate-adjusted genotype)
with offset o (the null Firth fit's C c_F + LOCO prediction), penalized log-likelihood

    l*(b) = sum [y log p + (1 - y) log(1 - p)] + 1/2 log I(b),   p = expit(o + b g~),
    I(b)  = sum g~² p (1 - p),

from b = 0: the step is the penalized score sum g~ (y - p + h (1/2 - p)) (h = p (1 - p) g~² / I)
over I, clipped to ±5 (REGENIE's ``--maxstep``) and halved (at most 60 times) until l* does not
decrease beyond 1e-12 relative; converged when |step| < 1e-10 (at most 100 steps). Output: beta,
SE = 1 / sqrt(I(beta)) and chi² = 2 (l*(beta) - l*(0)) (set to 0 between -1e-9 and 0; below,
no result), NaN when it does not converge. Every variant is computed in a fixed order by one
thread: results do not depend on the thread count.
"""

import math

import numba
import numpy as np

MAX_ITER = 100
MAX_STEP = 5.0
HALVINGS = 60
STEP_TOL = 1e-10


@numba.njit(cache=True, error_model="numpy")
def _log1pexp(x):
    """numpy.logaddexp(0, x) by numpy's formula."""
    if x == 0:
        return math.log(2.0)
    d = -x
    if d > 0:
        return math.log1p(math.exp(-d))
    if d <= 0:
        return x + math.log1p(math.exp(d))
    return d


@numba.njit(cache=True, error_model="numpy")
def _penalized(g, x2, y, offset, b, pr):
    """(l*(b), I(b)), filling ``pr`` with p."""
    ll = 0.0
    info = 0.0
    for i in range(len(g)):
        eta = offset[i] + b * g[i]
        ll -= _log1pexp(-eta) * y[i] + _log1pexp(eta) * (1.0 - y[i])
        p = 1.0 / (1.0 + math.exp(-eta))
        pr[i] = p
        info += x2[i] * (p * (1.0 - p))
    return ll + (0.5 * math.log(info) if info > 0 else -np.inf), info


@numba.njit(cache=True, error_model="numpy")
def approximate_firth_one(g, y, offset, x2, pr, pr_new):
    """(beta, SE, chi²) of one variant ``g`` (module docstring); ``x2``, ``pr``, ``pr_new`` work
    arrays of the samples' length."""
    n = len(g)
    for i in range(n):
        x2[i] = g[i] * g[i]
    b = 0.0
    l0, info = _penalized(g, x2, y, offset, b, pr)
    if not info > 0:                 # no information (g~ = 0): the reference's steps are NaN
        return np.nan, np.nan, np.nan
    current = l0
    for _ in range(MAX_ITER):
        score = 0.0
        for i in range(n):
            p = pr[i]
            h = p * (1.0 - p) * x2[i] / info
            score += g[i] * (y[i] - p + h * (0.5 - p))
        step = min(max(score / info, -MAX_STEP), MAX_STEP)
        if abs(step) < STEP_TOL:
            chi2 = 2 * (current - l0)
            if chi2 > -1e-9:
                return b, 1.0 / math.sqrt(info), max(chi2, 0.0)
            return np.nan, np.nan, np.nan
        accepted = False
        nl, ninfo = current, info
        for _ in range(HALVINGS):
            nl, ninfo = _penalized(g, x2, y, offset, b + step, pr_new)
            if nl >= current - 1e-12 * abs(current):
                accepted = True
                break
            step /= 2
        if not accepted:
            return np.nan, np.nan, np.nan
        b, current, info = b + step, nl, ninfo
        pr, pr_new = pr_new, pr
    return np.nan, np.nan, np.nan


@numba.njit(cache=True, nogil=True, error_model="numpy")
def approximate_firth_block(g_t, y, offset, beta, se, chi2):
    """:func:`approximate_firth_one` for every row of ``g_t`` (variants, samples) into ``beta``,
    ``se``, ``chi2`` (variants,)."""
    n = g_t.shape[1]
    x2 = np.empty(n)
    pr = np.empty(n)
    pr_new = np.empty(n)
    for v in range(g_t.shape[0]):
        beta[v], se[v], chi2[v] = approximate_firth_one(g_t[v], y, offset, x2, pr, pr_new)
