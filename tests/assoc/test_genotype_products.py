"""The fused genotype-products kernel against its NumPy reference (compiled and as plain Python),
and the linear model on packed .bed records and on store codes against the same model on the
decoded float64 dosages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwas.assoc.linear import linear_model, linear_regression
from gwas.io.plink.bed import decode_dosage_kernel
from gwas.kernels.genotype_products import DOSAGE, PACKED, SCALED, genotype_products, genotype_products_reference
from gwas.store.variables import decode_dosage, encode_dosage
from hubscan.errors import InputError


def _codes(rng, kind, n_var, n_samples, missing):
    """Random .bed records (with missing codes and padding bits set), store codes or float64
    dosages (imputed-like dosages and hard calls), the first row all missing."""
    if kind == PACKED:
        codes = rng.integers(0, 4, (n_var, 4 * ((n_samples + 3) // 4)))
        codes[rng.random(codes.shape) < missing] = 1
        codes[0] = 1
        packed_bytes = codes[:, 0::4] | codes[:, 1::4] << 2 | codes[:, 2::4] << 4 | codes[:, 3::4] << 6
        return packed_bytes.astype(np.uint8)
    dosage = np.where(rng.random((n_var, n_samples)) < 0.5, rng.integers(0, 3, (n_var, n_samples)),
                      rng.uniform(0, 2, (n_var, n_samples)))
    dosage[rng.random(dosage.shape) < missing] = np.nan
    dosage[0] = np.nan
    return encode_dosage(dosage) if kind == SCALED else dosage


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([PACKED, SCALED, DOSAGE]), st.integers(1, 37), st.integers(0, 150), st.integers(0, 5), st.integers(0, 3),
       st.sampled_from([4, 8, 64, 512]), st.floats(0.0, 0.3), st.integers(0, 2**31 - 1))
def test_genotype_products_match_numpy(kind, n_var, n_samples, n_cols, n_square, tile, missing, seed):
    rng = np.random.default_rng(seed)
    codes = _codes(rng, kind, n_var, n_samples, missing)
    right_t = rng.standard_normal((n_cols, n_samples))
    square_t = (rng.random((n_square, n_samples)) < 0.7).astype(float)
    want = genotype_products_reference(codes, kind, n_samples, right_t, square_t)
    for impl in (genotype_products, genotype_products.py_func):
        got = (np.full((n_var, n_cols), np.nan), np.full((n_var, n_cols), np.nan), np.full((n_var, n_square), np.nan),
               np.full(n_var, np.nan), np.full(n_var, np.nan), np.full(n_var, -1, np.int64))
        impl(codes, kind, n_samples, right_t, square_t, tile, *got)
        for name, g, w in zip(("g_prod", "m_prod", "s_prod", "row_sum", "row_sq", "n_missing"), got, want):
            assert np.allclose(g, w, rtol=1e-12, atol=1e-9), name


#: .bed records, store codes and float dosages go through different compiled loops, which the
#: compiler vectorises differently on each CPU (AVX2 and AVX-512 sum 4 or 8 lanes): their sums of
#: ~400 terms may differ in order, by at most n eps sum|terms| ~ 1e-13 relative. The statistics
#: divide by centred sums (genotype variance after the covariates) whose cancellation is small for
#: these random genotypes (sum g^2 / sum (g - mean)^2 < 10), and |t| < 5 here, so 1e-10 relative
#: bounds beta, SE, t and p with room to spare.
PATHS_RTOL = 1e-10


@pytest.mark.parametrize("n_samples", [401, 402, 403, 404])
def test_linear_model_on_bed_records_and_store_codes_equals_decoded_dosages(n_samples):
    """The same statistics, counts and error codes (all missing, monomorphic, own masks per trait)
    from .bed records and store codes as from the dosages decoded from them. Counts and error codes
    are exact; so are .bed allele counts and frequencies (integer sums, exact in any order); the
    statistics and the store's allele counts (sums of code / 16383) agree to PATHS_RTOL."""
    rng = np.random.default_rng(n_samples)
    n_var = 45
    records = _codes(rng, PACKED, n_var, n_samples, 0.05)
    records[1] = 0  # homozygous A1 everywhere: monomorphic
    dosage = np.empty((n_var, n_samples))
    decode_dosage_kernel(records, n_samples, dosage)
    traits = rng.standard_normal((n_samples, 3))
    traits[rng.random(n_samples) < 0.2, 1] = np.nan
    cov = rng.standard_normal((n_samples, 3))
    model = linear_model(traits, cov)
    scaled = encode_dosage(np.where(rng.random(dosage.shape) < 0.5, rng.uniform(0, 2, dosage.shape), dosage))
    statistics = ("beta", "standard_error", "statistic", "p_value")
    counts = ("allele_count", "allele_frequency")
    for got, ref, exact_counts in ((model.test_bed(records), model.test(dosage), True),
                                   (model.test_scaled(scaled), model.test(decode_dosage(scaled, np.float64)), False)):
        for name in ("error_code", "n") + (counts if exact_counts else ()):
            assert np.array_equal(getattr(got, name), getattr(ref, name), equal_nan=True), name
        for name in statistics + (() if exact_counts else counts):
            np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=PATHS_RTOL, atol=0,
                                       equal_nan=True, err_msg=name)
    reference = linear_regression(dosage, traits, cov)
    assert (reference.error_code[0] != 0).all() and (reference.error_code[1] != 0).all()
    with pytest.raises(InputError, match="uint8"):
        model.test_bed(records[:, :-1])
    with pytest.raises(InputError, match="uint16"):
        model.test_scaled(scaled.astype(np.int32))


def test_many_columns_take_matrix_products_with_the_same_results(monkeypatch):
    """Beyond FUSED_MAX_COLUMNS (many traits, each with its own samples) the sums are matrix
    products on decoded dosages: the same results as the fused kernel, from every input kind."""
    import gwas.assoc.linear as linear

    rng = np.random.default_rng(5)
    n_samples, n_var = 301, 30
    records = _codes(rng, PACKED, n_var, n_samples, 0.05)
    dosage = np.empty((n_var, n_samples))
    decode_dosage_kernel(records, n_samples, dosage)
    traits = rng.standard_normal((n_samples, 12))
    for t in range(1, 12):
        traits[rng.random(n_samples) < 0.05, t] = np.nan
    model = linear_model(traits, rng.standard_normal((n_samples, 10)))
    assert len(model.right_t) > linear.FUSED_MAX_COLUMNS and len(model.partial_t)
    scaled = encode_dosage(dosage)
    products = [model.test(dosage), model.test_bed(records), model.test_scaled(scaled)]
    monkeypatch.setattr(linear, "FUSED_MAX_COLUMNS", 10**6)
    fused = [model.test(dosage), model.test_bed(records), model.test_scaled(scaled)]
    for got, ref in zip(products, fused):
        for name in ("beta", "standard_error", "p_value", "allele_count", "allele_frequency"):
            assert np.allclose(getattr(got, name), getattr(ref, name), rtol=1e-9, atol=0, equal_nan=True), name
        for name in ("error_code", "n"):
            assert np.array_equal(getattr(got, name), getattr(ref, name)), name


@pytest.mark.parametrize("kind", [PACKED, SCALED, DOSAGE])
def test_threaded_products_equal_one_call(kind, monkeypatch):
    """The block cut into pieces on threads (whole chunks each; many pieces forced too): byte for
    byte the sums of one single-threaded call, on any thread count."""
    import numba

    import gwas.kernels.genotype_products as products

    rng = np.random.default_rng(kind + 3)
    n_samples = 203
    right_t = rng.standard_normal((5, n_samples))
    square_t = (rng.random((2, n_samples)) < 0.7).astype(float)
    threads = numba.get_num_threads()
    for n_var in (1, 15, 16, 17, 100, 333):
        codes = _codes(rng, kind, n_var, n_samples, 0.05)
        shapes = ((n_var, 5), (n_var, 5), (n_var, 2), (n_var,), (n_var,))
        whole = tuple(np.empty(s) for s in shapes) + (np.empty(n_var, np.int64),)
        genotype_products(codes, kind, n_samples, right_t, square_t, products.TILE, *whole)
        for count, pieces in ((1, 4), (threads, 4), (threads, 1000)):
            monkeypatch.setattr(products, "PIECES_PER_THREAD", pieces)
            got = tuple(np.full(s, np.nan) for s in shapes) + (np.full(n_var, -1, np.int64),)
            try:
                numba.set_num_threads(count)
                products.genotype_products_threaded(codes, kind, n_samples, right_t, square_t, products.TILE, *got)
            finally:
                numba.set_num_threads(threads)
            for g, w in zip(got, whole):
                assert np.array_equal(g, w)


@pytest.mark.parametrize("intercept", ["added", "spanned"])
def test_linear_bed_records_against_statsmodels_with_and_without_an_intercept_column(intercept):
    """.bed records, a trait with every sample (its mask's sums from the kernel's row sums) and one
    with its own samples, missing calls mean-imputed within them: statsmodels OLS per trait. With
    an intercept column (added) the basis's first column is implicit; a design that spans the
    constant without holding it (spanned: 1 + x and 1 - x) takes the plain QR of the design."""
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    n_samples, n_var = 357, 40
    records = _codes(rng, PACKED, n_var, n_samples, 0.03)
    records[0] = rng.integers(0, 256, records.shape[1])  # not all missing: tested here
    dosage = np.empty((n_var, n_samples))
    decode_dosage_kernel(records, n_samples, dosage)
    x = rng.standard_normal((n_samples, 3))
    traits = rng.standard_normal((n_samples, 2)) + x[:, :1]
    traits[rng.random(n_samples) < 0.15, 1] = np.nan
    if intercept == "added":
        model = linear_model(traits, x)
    else:
        model = linear_model(traits, np.column_stack([1 + x[:, 0], 1 - x[:, 0], x[:, 1:]]), add_intercept=False)
    assert model.intercept == (intercept == "added")
    got = model.test_bed(records)
    assert (got.error_code == 0).all()
    for t in range(2):
        ok = ~np.isnan(traits[:, t])
        for v in range(0, n_var, 3):
            g = dosage[v, ok]
            g = np.where(np.isnan(g), np.nanmean(g), g)
            ref = sm.OLS(traits[ok, t], np.column_stack([np.ones(ok.sum()), x[ok], g])).fit()
            assert np.allclose([got.beta[v, t], got.standard_error[v, t], got.p_value[v, t]],
                               [ref.params[-1], ref.bse[-1], ref.pvalues[-1]], rtol=1e-9)
            assert got.n[v, t] == ok.sum()
            assert got.allele_count[v, t] == np.nansum(dosage[v, ok])
