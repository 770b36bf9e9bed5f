"""constant_within_traits (which covariates a trait's samples leave constant, e.g. sex within a
sex-restricted phecode) against a per-trait np.ptp reference."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gwas.scan.inputs import constant_within_traits


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 40), st.integers(0, 5), st.integers(1, 70), st.integers(0, 2**31 - 1))
def test_constant_within_traits_matches_ptp(n, traits, k, chunk, seed):
    rng = np.random.default_rng(seed)
    cov = rng.standard_normal((n, k)) * 10.0 ** rng.uniform(-6, 6, k) + rng.uniform(-1e3, 1e3, k)
    if k:
        cov[:, 0] = rng.integers(0, 2, n)            # sex-like
    if k > 1:
        cov[:, 1] = 50.0 + rng.integers(0, 2, n) * 1e-9  # nearly constant, never constant
    masks = rng.random((n, traits)) < rng.uniform(0, 1, traits)
    if k:
        masks[:, : traits // 2] &= (cov[:, 0] == 1)[:, None]
    want = np.array([[not masks[:, t].any() or np.ptp(cov[masks[:, t], j]) == 0 for j in range(k)]
                     for t in range(traits)], dtype=bool).reshape(traits, k)
    assert np.array_equal(constant_within_traits(cov, masks, chunk), want)
