"""Newton–Raphson fits of logistic and Poisson regression (Firth's penalized fit: :mod:`gwas.kernels.firth`).

Iteration convention (as Hail's): at iteration i = 1, 2, ... the step delta solves
Fisher · delta = score at the current coefficients b. The fit has *converged* at iteration i when
max |delta| < tol, has *exploded* when the step cannot be solved or is not finite, and stops
unconverged when i reaches max_iter; otherwise b += delta. At convergence the maximum-likelihood
fit takes that last step too (its error is then of order delta², where Hail keeps b and an error of
order delta); the Firth fit keeps b as Hail does, so its iteration counts and values match Hail's.
"""

import math

import numba
import numpy as np

LOGISTIC, POISSON = 0, 1


@numba.njit(cache=True)
def _mean_and_weight(eta, family):
    n = eta.shape[0]
    mu = np.empty(n)
    w = np.empty(n)
    for i in range(n):
        if family == LOGISTIC:
            mu[i] = 1.0 / (1.0 + math.exp(-eta[i]))
            w[i] = mu[i] * (1.0 - mu[i])
        else:
            mu[i] = math.exp(eta[i])
            w[i] = mu[i]
    return mu, w


@numba.njit(cache=True)
def log_likelihood(y, mu, family):
    """Bernoulli or Poisson log-likelihood (Poisson with the log(y!) term)."""
    total = 0.0
    for i in range(y.shape[0]):
        if family == LOGISTIC:
            total += math.log(y[i] * mu[i] + (1.0 - y[i]) * (1.0 - mu[i]))
        else:
            total += y[i] * math.log(mu[i]) - mu[i] - math.lgamma(y[i] + 1.0)
    return total


@numba.njit(cache=True, nogil=True)
def newton_fit(X, y, b0, family, max_iter, tol):
    """Maximum-likelihood fit from b0. Returns (b, inverse Fisher information at b, log-likelihood
    at b, iterations, converged, exploded)."""
    b = b0.copy()
    p = X.shape[1]
    cov = np.full((p, p), np.nan)
    for it in range(1, max_iter + 1):
        mu, w = _mean_and_weight(X @ b, family)
        score = X.T @ (y - mu)
        fisher = X.T @ (X * w.reshape(-1, 1))
        ll = log_likelihood(y, mu, family)
        delta = np.zeros(p)
        ok = True
        for i in range(p):
            if not np.isfinite(score[i]):
                ok = False
        if ok:
            try:
                delta = np.linalg.solve(fisher, score)
            except Exception:  # singular Fisher information
                ok = False
        if not ok or not np.isfinite(delta[0]):
            return b, cov, ll, it, False, True
        if np.max(np.abs(delta)) < tol:
            # Converged: take the last step too (Newton's error is then ~delta², not ~delta) and
            # report the information and likelihood there.
            b = b + delta
            mu, w = _mean_and_weight(X @ b, family)
            fisher = X.T @ (X * w.reshape(-1, 1))
            ll = log_likelihood(y, mu, family)
            try:
                cov = np.linalg.inv(fisher)
            except Exception:
                return b, cov, ll, it, False, True
            return b, cov, ll, it, True, False
        if it == max_iter:
            return b, cov, ll, it, False, False
        b = b + delta
    return b, cov, np.nan, 0, False, False


@numba.njit(cache=True)
def block_outputs(n_var):
    """Per-variant outputs of a block of fits, before any fit: beta, se, a statistic (all NaN),
    iterations (0), converged and exploded (False)."""
    return (np.full(n_var, np.nan), np.full(n_var, np.nan), np.full(n_var, np.nan), np.zeros(n_var, dtype=np.int32),
            np.zeros(n_var, dtype=np.bool_), np.zeros(n_var, dtype=np.bool_))


#: Variants per parallel chunk of :func:`wald_lrt_block` (each chunk has its own design buffer).
CHUNK = 16


@numba.njit(cache=True, parallel=True, nogil=True)
def wald_lrt_block(C, G, y, b_null, family, max_iter, tol):
    """Fit y ~ C + g for every row g of G (variants, samples), from [b_null, 0], in parallel over
    chunks of variants (each variant on one thread: the same results on any thread count).
    Returns per variant: beta, se, log-likelihood, iterations, converged, exploded."""
    n_var, n = G.shape
    k = C.shape[1]
    beta, se, ll, iters, conv, expl = block_outputs(n_var)
    for chunk in numba.prange((n_var + CHUNK - 1) // CHUNK):
        X = np.empty((n, k + 1))
        X[:, :k] = C
        b0 = np.zeros(k + 1)
        b0[:k] = b_null
        for v in range(chunk * CHUNK, min(n_var, (chunk + 1) * CHUNK)):
            X[:, k] = G[v]
            b, cov, lik, it, c, e = newton_fit(X, y, b0, family, max_iter, tol)
            iters[v], conv[v], expl[v] = it, c, e
            if c:
                beta[v] = b[k]
                se[v] = math.sqrt(cov[k, k]) if cov[k, k] > 0 else np.nan
                ll[v] = lik
    return beta, se, ll, iters, conv, expl


@numba.njit(cache=True, parallel=True, nogil=True, fastmath={"reassoc", "contract"})
def variant_sums(G, w, r):
    """Per row g of G (variants, samples), in one pass: sum g, sum g², sum w g², sum r g, and
    whether g is constant. w: the null model's weights, r: its residuals y - mu (the score)."""
    n_var, n = G.shape
    s1 = np.zeros(n_var)
    s2 = np.zeros(n_var)
    wgg = np.zeros(n_var)
    rg = np.zeros(n_var)
    constant = np.ones(n_var, dtype=np.bool_)
    for v in numba.prange(n_var):
        a = b = c = d = 0.0
        first = G[v, 0] if n else 0.0
        same = True
        for i in range(n):
            x = G[v, i]
            a += x
            b += x * x
            c += w[i] * x * x
            d += r[i] * x
            same &= x == first
        s1[v], s2[v], wgg[v], rg[v], constant[v] = a, b, c, d, same
    return s1, s2, wgg, rg, constant


def variant_sums_reference(G, w, r):
    """NumPy version of :func:`variant_sums`."""
    constant = np.ptp(G, axis=1) == 0 if G.shape[1] else np.ones(G.shape[0], bool)
    return G.sum(axis=1), (G * G).sum(axis=1), (G * G) @ w, G @ r, constant
