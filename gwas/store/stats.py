"""Per-variant summaries computed at ingest: ALT allele frequency, call rate, imputation INFO.

Definitions (also in :mod:`gwas.store.variables`): over samples with a call,
``p = sum(e_i) / sum(z_i)`` (e = expected ALT count, z = ploidy); call rate = called / all;
INFO with probabilities (``mode=INFO_IMPUTE``) = 1 - sum(f_i - e_i^2) / (sum(z_i) p (1 - p)) with
f = E[g^2] (the IMPUTE info measure, Marchini & Howie 2010, Nat Rev Genet 11:499); with dosages
only (``INFO_MACH``) = sum (e_i - z_i p)^2 / (sum(z_i) p (1 - p)) (MaCH Rsq: var(e) / (z p (1 - p)),
population variance, when every call has the same ploidy z; the sum form keeps haploid and diploid
calls on X each against its own expected count, so perfect calls give about 1); hard calls
(``INFO_HARD``) = 1. p in {0, 1} or no calls -> INFO 1 (no information lost), frequency NaN when
nothing is called. Kernel :func:`variant_stats_kernel` (per variant :func:`row_stats`, whose sums
:func:`stats_from_sums` turns into the three values), NumPy reference :func:`variant_stats_reference`.
"""

from dataclasses import dataclass

import numba
import numpy as np

INFO_HARD, INFO_MACH, INFO_IMPUTE = 0, 1, 2


@dataclass
class VariantStats:
    allele_frequency: np.ndarray
    call_rate: np.ndarray
    info: np.ndarray


@numba.njit(cache=True, nogil=True)
def row_stats(dosage, square, ploidy, mode):
    """(allele frequency, call rate, INFO) of one variant from its samples' dosages and E[g^2]
    (float64, NaN = missing; ``square`` read with ``mode == INFO_IMPUTE`` only) and ploidies."""
    n_s = len(dosage)
    n = 0
    se = 0.0
    se2 = 0.0
    sf = 0.0
    sz = 0  # integer sums: exact, as the float sums of small integers they replace
    sez = 0.0
    sz2 = 0
    for s in range(n_s):
        e = dosage[s]
        if np.isnan(e):
            continue
        z = int(ploidy[s])
        n += 1
        se += e
        se2 += e * e
        sz += z
        sez += e * z
        sz2 += z * z
        if mode == 2:
            sf += square[s]
    return stats_from_sums(n, n_s, se, se2, sf, sz, sez, sz2, mode)


@numba.njit(cache=True, nogil=True)
def stats_from_sums(n, n_s, se, se2, sf, sz, sez, sz2, mode):
    """(allele frequency, call rate, INFO) from sums over the ``n`` called samples of ``n_s``, in
    sample order: e, e^2, f (E[g^2], INFO_IMPUTE), z, e z, z^2 (the definitions above)."""
    call_rate = n / n_s if n_s > 0 else np.nan
    if n == 0 or sz == 0:
        return np.nan, call_rate, 1.0
    z = float(sz)
    p = se / z
    if mode == 0 or p <= 0.0 or p >= 1.0:
        return p, call_rate, 1.0
    if mode == 2:
        return p, call_rate, 1.0 - (sf - se2) / (z * p * (1.0 - p))
    return p, call_rate, (se2 - 2.0 * p * sez + p * p * float(sz2)) / (z * p * (1.0 - p))


@numba.njit(cache=True, nogil=True)
def variant_stats_kernel(dosage, square, ploidy, modes, af, call_rate, info):
    """dosage, square (E[g^2]) float64 (v, s) NaN = missing; ploidy (v, s) any integer type (a
    broadcast view is fine); modes (v,) the INFO mode of each variant; fills af, call_rate, info."""
    for v in range(dosage.shape[0]):
        af[v], call_rate[v], info[v] = row_stats(dosage[v], square[v], ploidy[v], modes[v])


def variant_stats(dosage: np.ndarray, ploidy: np.ndarray, square: np.ndarray | None = None,
                  mode: int | np.ndarray = INFO_HARD) -> VariantStats:
    """Summaries of a block of variants (rows) x samples (columns); ``mode`` one INFO mode for all
    rows or one per row. Integer ploidy arrays are read as they are (no int64 copy)."""
    dosage = np.ascontiguousarray(dosage, dtype=np.float64)
    square = dosage if square is None else np.ascontiguousarray(square, dtype=np.float64)
    ploidy = np.asarray(ploidy)
    if ploidy.dtype.kind not in "iu":
        ploidy = ploidy.astype(np.int64)
    ploidy = np.broadcast_to(ploidy, dosage.shape)
    n = dosage.shape[0]
    modes = np.ascontiguousarray(np.broadcast_to(np.asarray(mode, dtype=np.int8), (n,)))
    out = VariantStats(np.empty(n), np.empty(n), np.empty(n))
    variant_stats_kernel(dosage, square, ploidy, modes, out.allele_frequency, out.call_rate, out.info)
    return out


def variant_stats_reference(dosage, ploidy, square=None, mode=INFO_HARD) -> VariantStats:
    """Plain NumPy version of :func:`variant_stats` (for tests)."""
    called = ~np.isnan(dosage)
    z = np.where(called, np.broadcast_to(ploidy, dosage.shape), 0).astype(float)
    e = np.where(called, dosage, 0.0)
    n = called.sum(1)
    sz = z.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = e.sum(1) / sz
        if mode == INFO_IMPUTE:
            f = np.where(called, square, 0.0)
            info = 1 - (f.sum(1) - (e ** 2).sum(1)) / (sz * p * (1 - p))
        elif mode == INFO_MACH:
            info = np.where(called, (e - z * p[:, None]) ** 2, 0.0).sum(1) / (sz * p * (1 - p))
        else:
            info = np.ones(len(p))
    info = np.where((n == 0) | (p <= 0) | (p >= 1), 1.0, info)
    p = np.where(sz > 0, p, np.nan)
    return VariantStats(p, n / dosage.shape[1], info)
