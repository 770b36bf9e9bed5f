"""Per (variant, trait) linear-regression statistics from the sums the matrix products give."""

import math

import numba
import numpy as np


@numba.njit(cache=True)
def linear_statistics(gy, gg, yy, df, ok):
    """beta, SE and t of each (variant, trait) from <g_r, y_r> ``gy`` (V, T), <g_r, g_r> ``gg``
    (V, T), <y_r, y_r> ``yy`` (T,) and the residual degrees of freedom ``df`` (T,); NaN where
    ``ok`` (V, T) is False. sigma² = (yy - beta gy) / df (floored at 0), SE = sqrt(sigma² / gg)."""
    n_var, n_tr = gy.shape
    beta = np.full((n_var, n_tr), np.nan)
    se = np.full((n_var, n_tr), np.nan)
    t = np.full((n_var, n_tr), np.nan)
    for v in range(n_var):
        for j in range(n_tr):
            if not ok[v, j]:
                continue
            b = gy[v, j] / gg[v, j]
            sigma2 = max(yy[j] - b * gy[v, j], 0.0) / df[j]
            s = math.sqrt(sigma2 / gg[v, j])
            beta[v, j] = b
            se[v, j] = s
            t[v, j] = b / s if s > 0 else np.nan
    return beta, se, t


def linear_statistics_reference(gy, gg, yy, df, ok):
    """NumPy version of :func:`linear_statistics`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = gy / gg
        se = np.sqrt(np.maximum(yy[None, :] - beta * gy, 0.0) / df[None, :] / gg)
        t = beta / se
    return tuple(np.where(ok, x, np.nan) for x in (beta, se, t))
