"""Case/control/missing status of every phecode for a block of samples: the pure array core.

The rule (PheWAS R package and PheTK conventions, with PheTK's "count" read as distinct days):

1. **case**: the phecode (after roll-up) on at least ``k`` distinct days (default 2);
2. **excluded** (missing): the phecode on 1..k-1 days, or, for a non-case, any phecode inside the
   phecode's exclusion ranges (phecode 1.2);
3. **excluded by sex** (missing): the phecode is restricted to one sex and the sample is of the
   other or of unknown sex (this overrides case status: a code of the wrong sex is not a case);
4. **missing**: the sample is not in the records population (unlinked, or linked to a patient the
   records do not know);
5. **control**: everyone else.

Values: 1.0 case, 0.0 control, NaN otherwise (float32), the mask convention of the association
kernels (NaN = not in this trait's analysis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEX_UNKNOWN, SEX_MALE, SEX_FEMALE = 0, 1, 2
#: status categories counted per trait, in the order above
CATEGORIES = ("cases", "controls", "excluded", "excluded_sex", "missing")


@dataclass
class StatusBlock:
    """Status of ``values.shape[0]`` samples x ``values.shape[1]`` traits, with per-trait counts."""

    values: np.ndarray            # float32 (samples, traits): 1 case, 0 control, NaN missing
    counts: dict[str, np.ndarray]  # category -> int64 (traits,)


def phecode_status(days, in_records: np.ndarray, sex: np.ndarray, restriction: np.ndarray, exclusion,
                   k: int = 2) -> StatusBlock:
    """Apply the rule to one block.

    days: scipy.sparse CSR (samples, phecodes), distinct days with the phecode (0 = never).
    in_records: bool (samples,), the sample is linked to a patient of the records.
    sex: int8 (samples,) 0 unknown, 1 male, 2 female.
    restriction: int8 (phecodes,) 0 both sexes, 1 male only, 2 female only.
    exclusion: scipy.sparse (phecodes, phecodes), ``E[q, p]`` true when q is in p's exclusion ranges.
    """
    from scipy import sparse

    if k < 1:
        raise ValueError("k (distinct days for a case) must be at least 1")
    days = sparse.csr_matrix(days)
    n, p = days.shape
    values = np.zeros((n, p), dtype=np.float32)
    has = days.copy()
    has.data = (has.data > 0).astype(np.int32)
    has.eliminate_zeros()
    case = days.copy()
    case.data = (case.data >= k).astype(np.int8)
    case.eliminate_zeros()
    few = has - case.astype(np.int32)
    few.eliminate_zeros()
    hits = (has @ sparse.csr_matrix(exclusion, dtype=np.int32)).tocsr() if exclusion.nnz else None

    def coords(m):
        m = m.tocoo()
        return m.row, m.col

    r, c = coords(few)
    values[r, c] = np.nan
    if hits is not None:
        hits.data = (hits.data > 0).astype(np.int32)
        hits.eliminate_zeros()
        r, c = coords(hits)
        values[r, c] = np.nan
    r, c = coords(case)
    values[r, c] = 1.0
    excluded_or_case = np.isnan(values) | (values == 1.0)
    # sex restriction, then records membership, override everything before
    sex_masked = np.zeros((n, p), dtype=bool)
    for code in (SEX_MALE, SEX_FEMALE):
        cols = np.flatnonzero(restriction == code)
        if len(cols):
            rows = np.flatnonzero(sex != code)
            sex_masked[np.ix_(rows, cols)] = True
    sex_masked[~in_records] = False
    values[sex_masked] = np.nan
    values[~in_records] = np.nan
    outside = np.zeros((n, p), dtype=bool)
    outside[~in_records] = True
    is_case = values == 1.0
    counts = {
        "cases": is_case.sum(axis=0, dtype=np.int64),
        "controls": (values == 0.0).sum(axis=0, dtype=np.int64),
        "excluded": (excluded_or_case & ~is_case & ~sex_masked & ~outside).sum(axis=0, dtype=np.int64),
        "excluded_sex": sex_masked.sum(axis=0, dtype=np.int64),
        "missing": outside.sum(axis=0, dtype=np.int64),
    }
    return StatusBlock(values, counts)
