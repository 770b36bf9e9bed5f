"""What every association test returns, the error codes, and p-values that stay exact when tiny.

Shapes: every array of :class:`AssociationResult` is (variants, traits). The effect allele is the
one whose dosage was given (ALT in hubscan's stores: ``variant_allele[:, 1]``); ``beta`` is the
change of the trait (linear), of the log-odds (logistic) or of the log-rate (Poisson) per copy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy import special

LN10 = np.log(10.0)


class ErrorCode:
    """Why a test could not be made (in the spirit of plink2's ERRCODE); 0 = tested."""

    OK = 0
    MONOMORPHIC = 1  # the genotype is constant in the tested samples
    COLLINEAR = 2  # the genotype is (almost) a linear combination of the covariates
    TOO_FEW_SAMPLES = 3  # no residual degrees of freedom, or no sample at all
    COVARIATES_SINGULAR = 4  # the covariates are collinear (or constant besides the intercept)
    ONE_CLASS = 5  # a binary trait with no case or no control
    NOT_CONVERGED = 6  # the iterative fit did not converge within max_iter
    EXPLODED = 7  # the iterative fit diverged (e.g. complete separation)
    NAMES = {0: "OK", 1: "MONOMORPHIC", 2: "COLLINEAR", 3: "TOO_FEW_SAMPLES", 4: "COVARIATES_SINGULAR",
             5: "ONE_CLASS", 6: "NOT_CONVERGED", 7: "EXPLODED"}


@dataclass
class AssociationResult:
    """Per (variant, trait) results of one test.

    beta, standard_error (NaN for score tests), statistic (t for linear, z for Wald, chi² for LRT
    and score tests), p_value, neg_log10_p (computed in log space: exact below 1e-300 where
    p_value underflows to 0), n (samples tested), allele_count (sum of called ALT dosages in the
    tested samples), allele_frequency (allele_count / (2 n_called)), n_cases / n_controls (binary
    traits; -1 otherwise), error_code (:class:`ErrorCode`), converged, exploded, iterations
    (iterative fits; linear: converged True, iterations 0), firth_used (logistic: Firth gave this
    row). ``test`` names the test.
    """

    test: str
    beta: np.ndarray
    standard_error: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    neg_log10_p: np.ndarray
    n: np.ndarray
    allele_count: np.ndarray
    allele_frequency: np.ndarray
    n_cases: np.ndarray
    n_controls: np.ndarray
    error_code: np.ndarray
    converged: np.ndarray
    exploded: np.ndarray
    iterations: np.ndarray
    firth_used: np.ndarray

    @classmethod
    def empty(cls, test: str, n_variants: int, n_traits: int) -> AssociationResult:
        shape = (n_variants, n_traits)
        nan = lambda: np.full(shape, np.nan)  # noqa: E731
        return cls(test, nan(), nan(), nan(), nan(), nan(), np.zeros(shape, np.int64), nan(), nan(),
                   np.full(shape, -1, np.int64), np.full(shape, -1, np.int64), np.zeros(shape, np.int8),
                   np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, np.int32), np.zeros(shape, bool))

    def to_frame(self, variant_ids=None, trait_names=None):
        """Long pandas DataFrame: one row per (variant, trait) with every field as a column."""
        import pandas as pd

        n_var, n_tr = self.beta.shape
        variant_ids = np.arange(n_var) if variant_ids is None else np.asarray(variant_ids)
        trait_names = np.arange(n_tr) if trait_names is None else np.asarray(trait_names)
        frame = {"variant": np.repeat(variant_ids, n_tr), "trait": np.tile(trait_names, n_var)}
        for f in fields(self):
            if f.name != "test":
                frame[f.name] = getattr(self, f.name).ravel()
        return pd.DataFrame(frame)


def t_test_p(t: np.ndarray, df) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p and -log10 p of Student t statistics with ``df`` degrees of freedom.

    Far in the tail, where the survival function underflows, log p uses the leading term of the
    incomplete-beta series: p = I_x(df/2, 1/2) with x = df/(df+t²), log I_x(a, b) ≈ a log x -
    log a - log B(a, b) (relative error O(x), below 1e-300 here).
    """
    t = np.abs(np.asarray(t, dtype=np.float64))
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), t.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(special.stdtr(df, -t)) + np.log(2.0)  # scipy.special: light to import
        x = df / (df + t * t)
        a = df / 2.0
        tail = a * np.log(x) - np.log(a) - special.betaln(a, 0.5)
        log_p = np.where(np.isfinite(log_p) | np.isnan(t), log_p, tail)
    return np.exp(log_p), -log_p / LN10


def chi2_1df_p(chi2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p and -log10 p of 1-df chi² statistics: p = 2 Φ(-sqrt(chi²)), in log space (log_ndtr)."""
    chi2 = np.asarray(chi2, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        log_p = special.log_ndtr(-np.sqrt(np.maximum(chi2, 0.0))) + np.log(2.0)
    log_p = np.where(np.isnan(chi2), np.nan, np.minimum(log_p, 0.0))
    return np.exp(log_p), -log_p / LN10
