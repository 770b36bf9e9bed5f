"""Newton–Raphson fits of logistic and Poisson regression, fused into single passes over the samples
(Firth's penalized fit, built on the same pass: :mod:`gwas.kernels.firth`).

Iteration convention (as Hail's): at iteration i = 1, 2, ... the step delta solves
Fisher · delta = score at the current coefficients b. The fit has *converged* at iteration i when
max |delta| < tol, has *exploded* when the step cannot be solved (the information is not
numerically positive definite) or is not finite, and stops unconverged when i reaches max_iter;
otherwise b += delta. At convergence the maximum-likelihood fit takes that last step too (its error
is then of order delta², where Hail keeps b and an error of order delta) and reports the information
and log-likelihood there; the Firth fit keeps b as Hail does, so its iteration counts and values
match Hail's.

Computation per iteration, with X' (p coefficients x samples) and one pass over the samples in
cache-sized chunks (:func:`sample_pass`): eta = X b, mu, w (exponentials by
:func:`gwas.kernels.vector_exp.exp_into`), the information I = X' W X (p (p + 1) / 2 sums in tiles),
the score X' (y - mu); then the Cholesky factor L of I (I = L L') and the step by a forward and a
back substitution. Variant fits (:func:`wald_lrt_mask`) gather and impute each variant in the
fitting thread and fit it for every trait of a sample mask while it is in cache. A variant's first
pass reuses the covariates-only fit (:func:`null_start_pass`), a pass after a small Newton step
reuses its information (REUSE_BELOW, QUASI_ERROR), and the iterations of every fit sum the
information in float32 (INFO32_NOTE; the pass after convergence in float64).
The log-likelihood is computed in the pass after convergence only. The variance of the last
coefficient (the variant's) is [I⁻¹]_pp = 1 / L_pp². Cost O(n p²) per iteration, no allocation
inside the iterations; floating-point reassociation lets the sums over samples use SIMD lanes
(deterministic for a given machine, no other fast-math assumption).
"""

import math

import numba
import numpy as np

from gwas.kernels.impute import covariate_residual_ss, genotype_check, impute_row
from gwas.kernels.sums import FAST, add_row_products
from gwas.kernels.vector_exp import exp_into

LOGISTIC, POISSON = 0, 1
#: Samples per chunk of a pass: the chunk's rows of X' and its work rows stay in the core's cache.
SAMPLES = 512


@numba.njit(cache=True)
def pass_buffers(p, n):
    """Work arrays of :func:`sample_pass` and the solves: mu, w (samples); work (3, chunk): scratch,
    eta and y - mu of a chunk; info, low (p x p); score, step (p)."""
    return (np.empty(n), np.empty(n), np.empty((3, SAMPLES)), np.empty((p, p)), np.zeros((p, p)), np.empty(p),
            np.empty(p))


@numba.njit(cache=True, fastmath=FAST)
def sample_pass(Xt, y, b, family, mu, w, info, score, work, want_info, want_score, want_ll, Xt32=None, w32=None,
                offset=None):
    """One pass over the samples of X' (p, samples), in chunks: mu = E[y] and w = Var(y) at X b
    (into ``mu``, ``w``), when ``want_info`` info = X' W X (else ``info`` is left as it is) and, when
    ``want_score``, score = X' (y - mu). Returns (the log-likelihood when ``want_ll``, else NaN;
    whether every w > 0, checked with the information). Bernoulli: mu = expit(eta),
    w = mu (1 - mu); Poisson: mu = w = exp(eta), log-likelihood with the log(y!) term.
    With ``Xt32`` (X' in float32) and ``w32`` (float32 scratch, one chunk) the information is summed
    in float32 (chunk sums added in float64; about 1e-8 relative): twice the SIMD lanes, for the
    iterations of a fit (:data:`INFO32_NOTE`). Everything else is float64. ``offset`` (samples,
    or None): a fixed term of the linear predictor, eta = X b + offset (a LOCO prediction); None
    compiles without it.
    (Loops index 1-D views from 0 so that they vectorise.)"""
    p, n = Xt.shape
    scratch, eta, resid = work[0], work[1], work[2]
    for j in range(p):
        score[j] = 0.0
        if want_info:
            for m in range(p):
                info[j, m] = 0.0
    ll = 0.0
    positive = True
    for s in range(0, n, SAMPLES):
        e = min(n, s + SAMPLES)
        size = e - s
        mu_c, w_c, y_c = mu[s:e], w[s:e], y[s:e]
        _linear_predictor(Xt, b, s, size, eta)
        if offset is not None:
            off_c = offset[s:e]
            for i in range(size):
                eta[i] += off_c[i]
        if family == LOGISTIC:
            for i in range(size):
                resid[i] = -eta[i]
            exp_into(resid[:size], mu_c, scratch)  # exp(-eta); not in place, which does not vectorise
            for i in range(size):
                m = 1.0 / (1.0 + mu_c[i])
                mu_c[i] = m
                w_c[i] = m * (1.0 - m)
        else:
            exp_into(eta[:size], mu_c, scratch)
            for i in range(size):
                w_c[i] = mu_c[i]
        if want_info:
            for i in range(size):
                positive &= w_c[i] > 0.0
        if want_ll:
            if family == LOGISTIC:
                for i in range(size):
                    ll += math.log(y_c[i] * mu_c[i] + (1.0 - y_c[i]) * (1.0 - mu_c[i]))
            else:
                for i in range(size):
                    ll += y_c[i] * eta[i] - mu_c[i] - math.lgamma(y_c[i] + 1.0)
        if want_info:
            if Xt32 is None:
                _add_information(Xt, w_c, s, size, info)
            else:
                w32_c = w32[:size]
                for i in range(size):
                    w32_c[i] = w_c[i]
                _add_information(Xt32, w32_c, s, size, info)
        if want_score:
            for i in range(size):
                resid[i] = y_c[i] - mu_c[i]
            add_row_products(Xt, s, size, resid, score, p)
    if want_info:
        for j in range(p):
            for m in range(j):
                info[j, m] = info[m, j]
    return (ll if want_ll else np.nan), positive


@numba.njit(cache=True, fastmath=FAST)
def _linear_predictor(Xt, b, s, size, eta):
    """eta[i] = sum_j X'[j, s + i] b[j] for a chunk of ``size`` samples from column s, four rows of
    X' per sweep of eta (one load and store of eta per four products, not per one)."""
    p = Xt.shape[0]
    for i in range(size):
        eta[i] = 0.0
    j = 0
    while j + 4 <= p:
        b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
        x0, x1, x2, x3 = Xt[j, s:s + size], Xt[j + 1, s:s + size], Xt[j + 2, s:s + size], Xt[j + 3, s:s + size]
        for i in range(size):
            eta[i] += x0[i] * b0 + x1[i] * b1 + x2[i] * b2 + x3[i] * b3
        j += 4
    for m in range(j, p):
        bm = b[m]
        xm = Xt[m, s:s + size]
        for i in range(size):
            eta[i] += xm[i] * bm


@numba.njit(cache=True, fastmath=FAST)
def null_start_pass(Xt, y, null_mu, null_w, null_info, null_score, info, score, work):
    """The first pass of a variant's fit from [b_null, 0], where mu and w are the covariates-only
    fit's (``null_mu``, ``null_w``): the covariate block of the information is that fit's C' W C
    (``null_info``, k x k) and the covariates' score its C' (y - mu) (``null_score``, k; about 0),
    so only the variant's row (w g)' X of the information and its score g' (y - mu) need the
    samples (p + 1 dot products, no exponentials). X' = [C | g]' (p = k + 1, samples)."""
    p, n = Xt.shape
    k = p - 1
    for j in range(p):
        info[k, j] = 0.0
        for m in range(k):
            info[j, m] = null_info[j, m] if j < k else 0.0
    wg = work[0]
    score_g = 0.0
    for s in range(0, n, SAMPLES):
        e = min(n, s + SAMPLES)
        size = e - s
        g, mu_c, w_c, y_c = Xt[k, s:e], null_mu[s:e], null_w[s:e], y[s:e]
        for i in range(size):
            wg[i] = w_c[i] * g[i]
            score_g += g[i] * (y_c[i] - mu_c[i])
        add_row_products(Xt, s, size, wg, info[k], p)
    for m in range(k):
        info[m, k] = info[k, m]
        score[m] = null_score[m]
    score[k] = score_g


@numba.njit(cache=True, fastmath=FAST)
def _add_information(Xt, w, s, size, info):
    """info[j, m] += sum_i w_i x_j,i x_m,i over a chunk of samples (x = rows of X' from column s,
    w the chunk's weights), for m >= j: tiles of 2 x 4 entries, each loading 7 sample vectors for 8
    products (a plain dot product per entry loads 2 for 1 and is bound by memory loads). The chunk's
    sums are in the precision of Xt and w (float64, or float32), added to ``info`` (float64)."""
    p = Xt.shape[0]
    last = p - 1
    zero = w.dtype.type(0)
    for j in range(0, p, 2):
        j2 = min(j + 1, last)
        xa, xb = Xt[j, s:s + size], Xt[j2, s:s + size]
        for m in range(j, p, 4):
            m1, m2, m3 = min(m + 1, last), min(m + 2, last), min(m + 3, last)
            x0, x1, x2, x3 = Xt[m, s:s + size], Xt[m1, s:s + size], Xt[m2, s:s + size], Xt[m3, s:s + size]
            a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = zero
            for i in range(size):
                va, vb = w[i] * xa[i], w[i] * xb[i]
                a0 += va * x0[i]
                a1 += va * x1[i]
                a2 += va * x2[i]
                a3 += va * x3[i]
                c0 += vb * x0[i]
                c1 += vb * x1[i]
                c2 += vb * x2[i]
                c3 += vb * x3[i]
            # Clamped rows repeat the last one: keep each (j, m >= j) entry once.
            for t, (row_a, row_b) in enumerate(((a0, c0), (a1, c1), (a2, c2), (a3, c3))):
                m_t = m + t
                if m_t < p:
                    info[j, m_t] += row_a
                    if j + 1 < p and m_t > j:
                        info[j + 1, m_t] += row_b


@numba.njit(cache=True, fastmath=FAST)
def cholesky(a, low):
    """Lower Cholesky factor of a into low; False when a is not (numerically) positive definite."""
    p = a.shape[0]
    for j in range(p):
        s = a[j, j]
        for m in range(j):
            s -= low[j, m] * low[j, m]
        if not s > 0.0 or not math.isfinite(s):
            return False
        d = math.sqrt(s)
        low[j, j] = d
        for i in range(j + 1, p):
            t = a[i, j]
            for m in range(j):
                t -= low[i, m] * low[j, m]
            low[i, j] = t / d
        for i in range(j):
            low[i, j] = 0.0
    return True


@numba.njit(cache=True, fastmath=FAST)
def cholesky_solve(low, rhs, out, n_free):
    """Solve L_ff L_ff' out = rhs for the first ``n_free`` entries (L_ff the leading block of the
    Cholesky factor ``low``). Returns max |out|, or NaN when a value is not finite."""
    for j in range(n_free):
        s = rhs[j]
        for m in range(j):
            s -= low[j, m] * out[m]
        out[j] = s / low[j, j]
    largest = 0.0
    for j in range(n_free - 1, -1, -1):
        s = out[j]
        for m in range(j + 1, n_free):
            s -= low[m, j] * out[m]
        out[j] = s / low[j, j]
        if not math.isfinite(out[j]):
            return np.nan
        largest = max(largest, abs(out[j]))
    return largest


#: In a variant's fit, a Newton step below this size lets the next pass reuse its information: that
#: pass skips the p (p + 1) / 2 sums of the information, and its step differs from Newton's by a
#: relative O(|last Newton step|) ...
REUSE_BELOW = 1e-3
#: ... and such a step ends the fit only when its error, estimated as |step|² / |previous step|, is
#: below tol x QUASI_ERROR (else the fit goes on with Newton steps); the fit then takes one more
#: Newton step from the last pass (which computes the information for the SE, and the score), so
#: b is as exact as after Newton steps; the information, SE and log-likelihood are those of the
#: point before it (a relative difference of the order of that error, below 1e-9)
QUASI_ERROR = 1e-3


#: The iterations of a fit (ml_iterate with ``Xt32``: the covariates-only fits and the variants')
#: sum the information in float32: it only sets the step, not where the score is 0, and its
#: relative error of about 1e-8 slows the steps' convergence by as little; the pass after
#: convergence (the information returned, the SE, the log-likelihood) is float64. A float32
#: information is summed again in float64 when it is not positive definite or ill-conditioned: a
#: pivot of its Cholesky factor, L_jj² (the part of I_jj not explained by the columns before j),
#: below INFO32_MIN_PIVOT x I_jj, where float32's error would spoil the step.
INFO32_NOTE = "float32 information in the iterations of a fit, float64 after convergence"
INFO32_MIN_PIVOT = 1e-4


@numba.njit(cache=True)
def _pivots_above(info, low, fraction):
    """Whether every squared pivot L_jj² of the Cholesky factor ``low`` of ``info`` is at least
    ``fraction`` x I_jj."""
    for j in range(info.shape[0]):
        if not low[j, j] * low[j, j] >= fraction * info[j, j]:
            return False
    return True


@numba.njit(cache=True, fastmath=FAST)
def ml_iterate(Xt, y, b, family, max_iter, tol, mu, w, work, info, low, score, step, null_start, null_mu, null_w,
               null_info, null_score, want_ll, Xt32=None, w32=None, offset=None):
    """Maximum-likelihood Newton fit of b (in place) for X' (p, samples). Returns (log-likelihood
    at b when converged and ``want_ll``, else NaN; iterations; converged; exploded); on convergence
    ``mu``, ``w`` and ``info`` hold their values at b (at b before the final Newton step, for a fit
    ended by a step with reused information) and ``low`` the Cholesky factor of ``info``.
    With ``null_start`` (a variant's fit from [b_null, 0]) the first pass is
    :func:`null_start_pass` from the covariates-only fit's ``null_mu``, ``null_w``,
    ``null_info`` = C' W C and ``null_score`` = C' (y - mu) (ignored otherwise), and a pass after
    a Newton step below REUSE_BELOW reuses that step's information (see QUASI_ERROR). With ``Xt32``
    = X' in float32 and ``w32`` a float32 chunk, the iterations' information is summed in float32
    (:data:`INFO32_NOTE`). ``offset``: see :func:`sample_pass`."""
    p = Xt.shape[0]
    exact = True  # whether this iteration's pass computes the information
    previous = np.inf
    for it in range(1, max_iter + 1):
        factored = False  # whether ``low`` already holds this pass's Cholesky factor
        if it == 1 and null_start:
            null_start_pass(Xt, y, null_mu, null_w, null_info, null_score, info, score, work)
        elif exact and Xt32 is not None:
            sample_pass(Xt, y, b, family, mu, w, info, score, work, True, True, False, Xt32, w32, offset)
            factored = cholesky(info, low) and _pivots_above(info, low, INFO32_MIN_PIVOT)
            if not factored:
                sample_pass(Xt, y, b, family, mu, w, info, score, work, True, True, False, None, None,
                            offset)  # float64
        else:
            sample_pass(Xt, y, b, family, mu, w, info, score, work, exact, True, False, None, None, offset)
        if exact and not factored and not cholesky(info, low):
            return np.nan, it, False, True
        largest = cholesky_solve(low, score, step, p)
        if not largest >= 0.0:  # NaN: a score or step entry not finite
            return np.nan, it, False, True
        if largest < tol and (exact or largest * largest < tol * QUASI_ERROR * previous):
            for j in range(p):
                b[j] += step[j]
            ll, _ = sample_pass(Xt, y, b, family, mu, w, info, score, work, True, not exact, want_ll, None, None,
                                offset)
            if not cholesky(info, low):
                return ll, it, False, True
            if not exact:  # that step used reused information: one Newton step from this pass's
                if not cholesky_solve(low, score, step, p) >= 0.0:  # (its error: that one's, squared)
                    return ll, it, False, True
                for j in range(p):
                    b[j] += step[j]
            return ll, it, True, False
        if it == max_iter:
            return np.nan, it, False, False
        for j in range(p):
            b[j] += step[j]
        exact = not (null_start and exact and largest < REUSE_BELOW)
        previous = largest
    return np.nan, 0, False, False


@numba.njit(cache=True, nogil=True)
def newton_fit(X, y, b0, family, max_iter, tol, offset=None):
    """Maximum-likelihood fit from b0, X (samples, p), linear predictor X b + ``offset`` (samples,
    or None). Returns (b, inverse Fisher information at
    b, log-likelihood at b, iterations, converged, exploded, mu, w, Fisher information at b); the
    information, its inverse and the log-likelihood are NaN unless converged. The iterations'
    information is float32 (:data:`INFO32_NOTE`), the information returned float64."""
    p = X.shape[1]
    Xt = np.ascontiguousarray(X.T)
    b = b0.astype(np.float64)
    mu, w, work, info, low, score, step = pass_buffers(p, X.shape[0])
    ll, it, conv, expl = ml_iterate(Xt, y, b, family, max_iter, tol, mu, w, work, info, low, score, step, False, mu,
                                    w, info, score, True, Xt.astype(np.float32), np.empty(SAMPLES, dtype=np.float32),
                                    offset)
    if not conv:
        info[:] = np.nan
    cov = np.linalg.inv(info) if conv else info.copy()
    return b, cov, ll, it, conv, expl, mu, w, info


def newton_fit_reference(X, y, b0, family, max_iter, tol, variant_fit=False, offset=None):
    """NumPy version of :func:`newton_fit` (np.linalg.solve for the step, the same convention); with
    ``variant_fit`` the iteration of a variant's fit in :func:`ml_iterate` (``null_start``: the
    information of a Newton step below REUSE_BELOW reused by the next pass). The information is
    float64 throughout: the kernel's float32 iterations (INFO32_NOTE) take the same steps to about
    1e-8 relative, so the same iterations, to the same maximum."""
    b = np.array(b0, dtype=np.float64)
    off = 0.0 if offset is None else np.asarray(offset, dtype=np.float64)
    p = X.shape[1]
    nan = np.full((p, p), np.nan)
    exact, previous = True, np.inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for it in range(1, max_iter + 1):
            mu, w = _mean_and_weight_reference(X @ b + off, family)
            if exact:
                fisher = X.T @ (X * w[:, None])
            try:
                delta = np.linalg.solve(fisher, X.T @ (y - mu))
            except np.linalg.LinAlgError:
                return b, nan, np.nan, it, False, True
            if not np.isfinite(delta).all():
                return b, nan, np.nan, it, False, True
            largest = np.abs(delta).max()
            if largest < tol and (exact or largest * largest < tol * QUASI_ERROR * previous):
                b = b + delta
                eta = X @ b + off
                mu, w = _mean_and_weight_reference(eta, family)
                if family == LOGISTIC:
                    ll = np.log(np.where(y == 1, mu, 1 - mu)).sum()
                else:
                    from scipy.special import gammaln

                    ll = (y * eta - mu - gammaln(y + 1)).sum()
                fisher = X.T @ (X * w[:, None])
                if not exact:
                    b = b + np.linalg.solve(fisher, X.T @ (y - mu))
                return b, np.linalg.inv(fisher), ll, it, True, False
            if it == max_iter:
                return b, nan, np.nan, it, False, False
            b = b + delta
            exact = not (variant_fit and exact and largest < REUSE_BELOW)
            previous = largest
    return b, nan, np.nan, 0, False, False


def _mean_and_weight_reference(eta, family):
    if family == LOGISTIC:
        mu = 1 / (1 + np.exp(-eta))
        return mu, mu * (1 - mu)
    mu = np.exp(eta)
    return mu, mu


@numba.njit(cache=True)
def block_outputs(n_var):
    """Per-variant outputs of a block of fits, before any fit: beta, se, a statistic (all NaN),
    iterations (0), converged and exploded (False)."""
    return (np.full(n_var, np.nan), np.full(n_var, np.nan), np.full(n_var, np.nan), np.zeros(n_var, dtype=np.int32),
            np.zeros(n_var, dtype=np.bool_), np.zeros(n_var, dtype=np.bool_))


@numba.njit(cache=True)
def design_transposed(C):
    """[C | g]' as (k + 1, samples) with the covariates C (samples, k) filled in; row k is the
    variant's, filled per variant."""
    n, k = C.shape
    Xt = np.empty((k + 1, n))
    for j in range(k):
        for i in range(n):
            Xt[j, i] = C[i, j]
    return Xt


@numba.njit(cache=True)
def start_variant(Xt, g, b, b_null):
    """Put the variant's dosages g in the last row of X' and start b at [b_null, 0]."""
    k = b_null.shape[0]
    for i in range(g.shape[0]):
        Xt[k, i] = g[i]
    b[:k] = b_null
    b[k] = 0.0


@numba.njit(cache=True, parallel=True, nogil=True)
def wald_lrt_mask(C, cc_inv, codes, kind, rows, Y, B_null, MU, W, CWC, family, max_iter, tol, want_ll, lanes,
                  OFF=None):
    """Fit y_t ~ C + g from [b_null_t, 0] for every variant g and every trait t of one sample mask.

    C (samples, k): the covariates on the mask's samples, and cc_inv = (C'C)⁻¹; codes (variants,
    all samples) of ``kind`` (:mod:`gwas.kernels.impute`), read at the mask's samples ``rows``; per
    trait t (rows of Y, B_null, MU, W, CWC): y, the covariates-only fit (:func:`newton_fit`)
    b_null, its mu and w, and C' W C. Each variant is gathered and mean-imputed straight into the
    fitting thread's X' (:func:`gwas.kernels.impute.impute_row`: no imputed block in memory),
    checked (:func:`~gwas.kernels.impute.genotype_check`), then fitted for every trait while it is
    in cache. Variants run in parallel, dealt round-robin to ``lanes`` lanes (lane j: variants j,
    j + lanes, ...; one per thread: ``numba.get_num_threads()``, passed in so that the compiled
    kernel can be cached), each with its own buffers; each variant is computed the same way in any
    lane, so results do not depend on the number of lanes or threads. The iterations' information
    is float32 (:data:`INFO32_NOTE`). Every variant is fitted, whatever its check says. ``OFF``
    (traits, samples) or None: each trait's offset in the linear predictor (its null fit's too).

    Returns per variant: n_called (int64), alt_count (float64), check code (int8); per (variant,
    trait): beta, se, log-likelihood (NaN unless ``want_ll``), iterations, converged, exploded."""
    n_var = codes.shape[0]
    n, k = C.shape
    n_traits = Y.shape[0]
    n_called = np.zeros(n_var, dtype=np.int64)
    alt_count = np.zeros(n_var)
    check = np.zeros(n_var, dtype=np.int8)
    beta = np.full((n_var, n_traits), np.nan)
    se = np.full((n_var, n_traits), np.nan)
    ll = np.full((n_var, n_traits), np.nan)
    iters = np.zeros((n_var, n_traits), dtype=np.int32)
    conv = np.zeros((n_var, n_traits), dtype=np.bool_)
    expl = np.zeros((n_var, n_traits), dtype=np.bool_)
    null_score = np.zeros((n_traits, k))  # C' (y - mu) at each covariates-only fit: every first pass
    for t in range(n_traits):
        for i in range(n):
            r = Y[t, i] - MU[t, i]
            for j in range(k):
                null_score[t, j] += C[i, j] * r
    lanes = max(1, min(lanes, n_var))
    for lane in numba.prange(lanes):
        Xt = design_transposed(C)
        Xt32 = Xt.astype(np.float32)  # the iterations' information (INFO32_NOTE); row k per variant
        w32 = np.empty(SAMPLES, dtype=np.float32)
        mu, w, work, info, low, score, step = pass_buffers(k + 1, n)
        b = np.empty(k + 1)
        gc = np.empty(k)
        g, g32 = Xt[k], Xt32[k]
        for v in range(lane, n_var, lanes):
            called, alt, total, total_sq, same = impute_row(codes[v], kind, rows, g)
            residual = covariate_residual_ss(Xt[:k], g, cc_inv, total_sq, gc)
            n_called[v], alt_count[v] = called, alt
            check[v] = genotype_check(total, total_sq, same, residual, n)
            for i in range(n):
                g32[i] = g[i]
            for t in range(n_traits):
                b[:k] = B_null[t]
                b[k] = 0.0
                if OFF is None:
                    lik, it, c, e = ml_iterate(Xt, Y[t], b, family, max_iter, tol, mu, w, work, info, low, score,
                                               step, True, MU[t], W[t], CWC[t], null_score[t], want_ll, Xt32, w32)
                else:
                    lik, it, c, e = ml_iterate(Xt, Y[t], b, family, max_iter, tol, mu, w, work, info, low, score,
                                               step, True, MU[t], W[t], CWC[t], null_score[t], want_ll, Xt32, w32,
                                               OFF[t])
                iters[v, t], conv[v, t], expl[v, t] = it, c, e
                if c:
                    beta[v, t] = b[k]
                    se[v, t] = 1.0 / low[k, k]
                    ll[v, t] = lik
    return n_called, alt_count, check, beta, se, ll, iters, conv, expl


@numba.njit(cache=True, parallel=True, nogil=True, fastmath=FAST)
def score_sums(G, w, r):
    """Per row g of G (variants, samples), in one pass: sum w g² and sum r g, with w the null
    model's weights and r its residuals y - mu (the score test's U = sum r g)."""
    n_var, n = G.shape
    wgg = np.zeros(n_var)
    rg = np.zeros(n_var)
    for v in numba.prange(n_var):
        c = d = 0.0
        for i in range(n):
            x = G[v, i]
            c += w[i] * x * x
            d += r[i] * x
        wgg[v], rg[v] = c, d
    return wgg, rg


def score_sums_reference(G, w, r):
    """NumPy version of :func:`score_sums`."""
    return (G * G) @ w, G @ r
