"""Newton–Raphson fits of logistic and Poisson regression, and Firth's penalized logistic fit.

Iteration convention (as Hail's): at iteration i = 1, 2, ... the step delta solves
Fisher · delta = score at the current coefficients b. The fit has *converged* at iteration i when
max |delta| < tol, has *exploded* when the step cannot be solved or is not finite, and stops
unconverged when i reaches max_iter; otherwise b += delta. At convergence the maximum-likelihood
fit takes that last step too (its error is then of order delta², where Hail keeps b and an error of
order delta); the Firth fit keeps b as Hail does, so its iteration counts and values match Hail's.

Firth (1993): the score gains the term X' diag(h (1/2 - mu)) with h the diagonal of the hat matrix
of W^(1/2) X, and the penalized log-likelihood is l(b) + 1/2 log det(X' W X). A *constrained* fit
keeps the last ``n_fixed`` coefficients at their start values (0 for the tested variant) but uses
the whole design in the penalty: that is the null model of the penalized likelihood-ratio test
(Heinze & Schemper 2002; logistf, Hail).
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


@numba.njit(cache=True)
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
def firth_fit(X, y, b0, n_free, max_iter, tol):
    """Firth-penalized logistic fit of the first ``n_free`` coefficients (the rest stay at b0).
    Returns (b, penalized log-likelihood, iterations, converged, exploded)."""
    b = b0.copy()
    n, p = X.shape
    for it in range(1, max_iter + 1):
        mu, w = _mean_and_weight(X @ b, LOGISTIC)
        sqrt_w = np.sqrt(w)
        q, r = np.linalg.qr(X * sqrt_w.reshape(-1, 1))
        h = np.zeros(n)
        for i in range(n):
            for j in range(p):
                h[i] += q[i, j] * q[i, j]
        ll = log_likelihood(y, mu, LOGISTIC)
        for j in range(p):
            ll += math.log(abs(r[j, j]))  # 1/2 log det(X'WX) = sum log |diag R|
        target = (y - mu + h * (0.5 - mu)) / sqrt_w
        rhs = q[:, :n_free].T @ target
        coef = r[:n_free, :n_free]
        exploded = False
        delta = np.zeros(n_free)
        for j in range(n_free - 1, -1, -1):  # back substitution
            if coef[j, j] == 0.0 or not np.isfinite(coef[j, j]):
                exploded = True
                break
            s = rhs[j]
            for k in range(j + 1, n_free):
                s -= coef[j, k] * delta[k]
            delta[j] = s / coef[j, j]
        if exploded or not np.isfinite(delta[0]):
            return b, ll, it, False, True
        if np.max(np.abs(delta)) < tol:
            return b, ll, it, True, False
        if it == max_iter:
            return b, ll, it, False, False
        b[:n_free] = b[:n_free] + delta
    return b, np.nan, 0, False, False


@numba.njit(cache=True)
def _block_outputs(C, G, b_null):
    """The design [C | g] (g filled per variant), the start [b_null, 0], and per-variant outputs:
    beta, se, a statistic (NaN), iterations, converged, exploded."""
    n_var, n = G.shape
    k = C.shape[1]
    X = np.empty((n, k + 1))
    X[:, :k] = C
    b0 = np.zeros(k + 1)
    b0[:k] = b_null
    return (X, b0, np.full(n_var, np.nan), np.full(n_var, np.nan), np.full(n_var, np.nan),
            np.zeros(n_var, dtype=np.int32), np.zeros(n_var, dtype=np.bool_), np.zeros(n_var, dtype=np.bool_))


@numba.njit(cache=True)
def wald_lrt_block(C, G, y, b_null, family, max_iter, tol):
    """Fit y ~ C + g for every row g of G (variants, samples). Returns per variant: beta, se,
    log-likelihood, iterations, converged, exploded."""
    k = C.shape[1]
    X, b0, beta, se, ll, iters, conv, expl = _block_outputs(C, G, b_null)
    for v in range(G.shape[0]):
        X[:, k] = G[v]
        b, cov, lik, it, c, e = newton_fit(X, y, b0, family, max_iter, tol)
        iters[v], conv[v], expl[v] = it, c, e
        if c:
            beta[v] = b[k]
            se[v] = math.sqrt(cov[k, k]) if cov[k, k] > 0 else np.nan
            ll[v] = lik
    return beta, se, ll, iters, conv, expl


@numba.njit(cache=True)
def firth_block(C, G, y, b_null, max_iter, tol):
    """Firth fits for every row g of G: the constrained null (g's coefficient 0, full-design
    penalty) and the full model. Returns per variant: beta, se (from the penalized information),
    chi² = 2 (l*_full - l*_null), iterations, converged, exploded."""
    k = C.shape[1]
    X, b0, beta, se, chi2, iters, conv, expl = _block_outputs(C, G, b_null)
    for v in range(G.shape[0]):
        X[:, k] = G[v]
        bn, lln, itn, cn, en = firth_fit(X, y, b0, k, max_iter, tol)
        if not cn:
            iters[v], expl[v] = itn, en
            continue
        start = bn.copy()
        start[k] = 0.0
        b, llf, it, c, e = firth_fit(X, y, start, k + 1, max_iter, tol)
        iters[v], conv[v], expl[v] = it, c, e
        if c:
            beta[v] = b[k]
            chi2[v] = 2.0 * (llf - lln)
            mu, w = _mean_and_weight(X @ b, LOGISTIC)
            info = X.T @ (X * w.reshape(-1, 1))
            try:
                cov = np.linalg.inv(info)
                se[v] = math.sqrt(cov[k, k]) if cov[k, k] > 0 else np.nan
            except Exception:
                se[v] = np.nan
    return beta, se, chi2, iters, conv, expl
