"""sgkit on hubscan's stores: ``sgkit.load_dataset`` (default arguments), then ``variant_stats``,
``sample_stats``, ``count_call_alleles``, ``hardy_weinberg_test`` and ``gwas_linear_regression`` on
stores ingested from VCF, BGEN and PLINK .bed, against hubscan's own numbers.

sgkit 0.10 pins numpy < 2.2 and zarr < 3 (hubscan needs numpy 2.4 and zarr 3), so it runs in its own
virtual environment, ``.venv-sgkit`` in the project root, made by ``tests/sgkit/make-venv.sh`` (CI:
``.ci/run``); without it these tests skip with that reason. The stores are written here by hubscan
(a simulated cohort: 150 samples, 240 variants on 21, 22 and X, 30 % imputed, 3 % missing calls);
``sgkit_results.py`` runs in the sgkit environment, prints sgkit's results as JSON, and the tests
compare them with

* hubscan's store statistics kernel (:func:`gwas.store.stats.variant_stats`) on hubscan's calls
  (the store's ``variant_alt_frequency`` / ``variant_call_rate`` themselves for the .bed store, where
  every dosage is a hard call), and for BGEN on hubscan's own hard-call rule of the dosage
  (:func:`gwas.qc.from_store.alt_counts_from_dosage`, an independent code path from the store's
  hard-call kernel);
* plink2 ``--hardy`` (exact test) on the store exported by hubscan (:func:`gwas.qc.from_store.store_to_plink`):
  hubscan's QC runs HWE in Hail, and plink2 is the independent, fast peer of the same exact test;
* hubscan's linear regression (:func:`gwas.assoc.linear.linear_regression`) on the store's dosages.

Tolerances: counts exact; frequencies and call rates 1e-12 absolute (sums of small integers,
divided once); HWE p 5e-6 relative (two implementations of the Wigginton et al. 2005 exact test;
plink2 prints 6 significant digits); regression beta and t 1e-7 relative, p 1e-6 relative plus
1e-300 absolute (the same float32 dosages; different orders of float64 sums in two least-squares
algorithms, amplified on near-monomorphic variants, whose betas reach 70 here: measured 2e-9).
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import PROJECT_ROOT

SGKIT_PYTHON = PROJECT_ROOT / ".venv-sgkit" / "bin" / "python"
SCRIPT = Path(__file__).with_name("sgkit_results.py")
KINDS = ("vcf", "bgen", "bed", "pgen")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Stores from the same simulated genotypes as VCF, BGEN, .bed and .pgen (plink2's import of the VCF
    with its DS dosages), and sgkit's results on them."""
    if not SGKIT_PYTHON.is_file():
        pytest.skip(f"sgkit's environment not found at {SGKIT_PYTHON.parent.parent} (make it with "
                    "tests/sgkit/make-venv.sh; .ci/run does)")
    from gwas.ingest.run import ingest
    from gwas.qc.from_store import store_to_plink
    from hubscan.simulate.cohort import CohortSpec, simulate_samples
    from hubscan.simulate.genotypes import write_genotype_files

    root = tmp_path_factory.mktemp("sgkit")
    spec = CohortSpec(n_samples=150, n_variants=240, chromosomes=("21", "22", "X"), imputed_fraction=0.3,
                      missing_rate=0.03, seed=21)
    files = write_genotype_files(spec, simulate_samples(spec), root / "cohort")
    stores = {"vcf": root / "vcf.zarr", "bgen": root / "bgen.zarr", "bed": root / "bed.zarr"}
    ingest([str(files.vcf)], stores["vcf"], variants_chunk=64, samples_chunk=100)
    ingest([str(files.bgen)], stores["bgen"], sample_file=str(files.bgen_sample), variants_chunk=64,
           samples_chunk=100, allele_order="ref-first")  # the simulator writes REF first
    bed = store_to_plink(stores["vcf"], root / "plink" / "g")
    ingest([str(bed)], stores["bed"], variants_chunk=64, samples_chunk=100)
    plink2 = shutil.which("plink2")
    if plink2:  # plink2 keeps the DS dosages and makes hard calls of them (threshold 0.1, as hubscan's BGEN rule)
        stores["pgen"] = root / "pgen.zarr"
        subprocess.run([plink2, "--vcf", str(files.vcf), "dosage=DS", "--make-pgen", "--threads", "1",
                        "--out", str(root / "plink" / "p")], check=True, capture_output=True)
        ingest([str(root / "plink" / "p.pgen")], stores["pgen"], variants_chunk=64, samples_chunk=100)

    from gwas.store.reader import GenotypeStore

    rng = np.random.default_rng(3)
    n = spec.n_samples
    covariates = rng.normal(size=(n, 2))
    dosage = GenotypeStore(stores["vcf"]).dosage(dtype=np.float64)
    # the causal variant: a genotyped one (hard calls) with every call present and a common ALT
    causal = int(np.flatnonzero(~np.isnan(dosage).any(axis=1) & (dosage == np.rint(dosage)).all(axis=1)
                                & (np.abs(dosage.mean(axis=1) - 1) < 0.5))[0])
    trait = 0.5 * dosage[causal] + covariates @ [0.3, -0.2] + rng.normal(size=n)
    np.savez(root / "traits.npz", trait=trait, covariates=covariates)
    run = subprocess.run([str(SGKIT_PYTHON), str(SCRIPT), str(root / "traits.npz"), *map(str, stores.values())],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    return {"stores": stores, "sgkit": {k: out[str(p)] for k, p in stores.items()}, "trait": trait, "causal": causal,
            "covariates": covariates, "root": root}


def _store_of(cohort, kind):
    """The store of ``kind`` (a .pgen store needs plink2 to make it)."""
    if kind not in cohort["stores"]:
        pytest.skip(f"no {kind} store: plink2 not found")
    return cohort["stores"][kind]


def _array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _hubscan_calls(kind: str, store) -> tuple[np.ndarray, np.ndarray]:
    """hubscan's ALT counts (float, NaN missing) and ploidies of every call: the store's calls, for
    BGEN hubscan's QC hard-call rule applied to the store's dosages."""
    from gwas.qc.from_store import alt_counts_from_dosage

    gt = store.genotypes()
    ploidy = (gt != -2).sum(axis=2)
    if kind == "bgen":
        counts = alt_counts_from_dosage(store.dosage(dtype=np.float64)).astype(np.float64)
        return np.where(counts == 3, np.nan, counts), ploidy
    counts = (gt == 1).sum(axis=2).astype(np.float64)
    return np.where((gt == -1).any(axis=2), np.nan, counts), ploidy


@pytest.mark.parametrize("kind", KINDS)
def test_fields_load_with_their_types(cohort, kind):
    _store_of(cohort, kind)
    fields = cohort["sgkit"][kind]["fields"]
    want = {"call_genotype": ("int8", ["variants", "samples", "ploidy"]),
            "call_genotype_mask": ("bool", ["variants", "samples", "ploidy"]),
            "call_genotype_phased": ("bool", ["variants", "samples"]),
            "variant_position": ("int32", ["variants"]), "variant_contig": ("int16", ["variants"]),
            "variant_allele": ("object", ["variants", "alleles"]), "variant_id": ("object", ["variants"]),
            "variant_id_mask": ("bool", ["variants"]), "sample_id": ("object", ["samples"]),
            "contig_id": ("object", ["contigs"]), "filter_id": ("object", ["filters"]),
            "variant_filter": ("bool", ["variants", "filters"]), "variant_quality": ("float32", ["variants"]),
            "call_dosage_scaled": ("uint16", ["variants", "samples"])}
    if kind != "bed":
        want["call_DS"] = ("float32", ["variants", "samples"])
    assert {k: (fields[k]["dtype"], fields[k]["dims"]) for k in want if k in fields} == want
    assert ("call_DS" in fields) == (kind != "bed")  # a .bed holds hard calls only


@pytest.mark.parametrize("kind", KINDS)
def test_variant_stats_equal_hubscan(cohort, kind):
    from gwas.store import stats
    from gwas.store.reader import GenotypeStore

    store = GenotypeStore(_store_of(cohort, kind))
    got = cohort["sgkit"][kind]["variant_stats"]
    counts, ploidy = _hubscan_calls(kind, store)
    ours = stats.variant_stats(counts, ploidy)
    # allele frequency: sgkit counts the allele of a haploid call once, as hubscan does
    np.testing.assert_allclose(_array(got["alt_frequency"]), ours.allele_frequency, rtol=0, atol=1e-12)
    diploid = np.asarray(cohort["sgkit"][kind]["diploid_variants"])
    assert len(diploid) > 50
    # call rate on diploid variants only: sgkit counts a haploid call ([a, -2]) as not called
    np.testing.assert_allclose(_array(got["variant_call_rate"])[diploid], ours.call_rate[diploid], rtol=0, atol=1e-12)
    d = counts[diploid]
    for name, k in (("variant_n_hom_ref", 0), ("variant_n_het", 1), ("variant_n_hom_alt", 2)):
        np.testing.assert_array_equal(_array(got[name])[diploid], (d == k).sum(axis=1), err_msg=name)
    if kind == "bed":  # every dosage a hard call: the store's own statistics are sgkit's
        np.testing.assert_allclose(_array(got["alt_frequency"]), store.variant_field("variant_alt_frequency"),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(_array(got["variant_call_rate"]), store.variant_field("variant_call_rate"),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_count_call_alleles_equal_hubscan_counts(cohort, kind):
    from gwas.store.reader import GenotypeStore

    store = GenotypeStore(_store_of(cohort, kind))
    got = np.array(cohort["sgkit"][kind]["alt_allele_count"])
    counts, _ = _hubscan_calls(kind, store)
    np.testing.assert_array_equal(got, np.nan_to_num(counts, nan=0.0))  # sgkit: a missing call counts 0
    if kind != "vcf":  # VCF: imputed variants' dosages are DS, not the GT count
        dosage = store.dosage(dtype=np.float64)
        hard = ~np.isnan(counts)
        assert np.abs(dosage[hard] - counts[hard]).max() <= (0.1 if kind in ("bgen", "pgen") else 0)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_stats_equal_hubscan_counts(cohort, kind):
    from gwas.store.reader import GenotypeStore

    store = GenotypeStore(_store_of(cohort, kind))
    got = cohort["sgkit"][kind]["sample_stats"]
    diploid = np.asarray(cohort["sgkit"][kind]["diploid_variants"])
    counts = _hubscan_calls(kind, store)[0][diploid]
    called = ~np.isnan(counts)
    np.testing.assert_array_equal(_array(got["sample_n_called"]), called.sum(axis=0))
    np.testing.assert_allclose(_array(got["sample_call_rate"]), called.mean(axis=0), rtol=0, atol=1e-12)
    for name, k in (("sample_n_hom_ref", 0), ("sample_n_het", 1), ("sample_n_hom_alt", 2)):
        np.testing.assert_array_equal(_array(got[name]), (counts == k).sum(axis=0), err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_hardy_weinberg_equals_plink2(cohort, kind, plink2):
    from gwas.qc.from_store import store_to_plink
    from gwas.store.reader import GenotypeStore

    root = cohort["root"] / f"hwe-{kind}"
    bed = store_to_plink(_store_of(cohort, kind), root / "g")
    run = subprocess.run([plink2, "--bfile", str(bed)[:-4], "--hardy", "--threads", "1", "--out", str(root / "h")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    rows = [ln.split() for ln in open(root / "h.hardy")]
    p_col = rows[0].index("P")
    plink_p = {r[1]: float(r[p_col]) for r in rows[1:]}
    store = GenotypeStore(_store_of(cohort, kind))
    ids = store.variant_field("variant_id")
    diploid = cohort["sgkit"][kind]["diploid_variants"]
    got = dict(zip([str(ids[i]) for i in diploid], _array(cohort["sgkit"][kind]["hwe_p"])))
    common = [i for i in plink_p if i in got]  # plink2's .hardy: autosomes
    assert len(common) > 50
    # plink2 prints 6 significant digits: half a unit of the 6th is at most 5e-6 relative
    np.testing.assert_allclose([got[i] for i in common], [plink_p[i] for i in common], rtol=5e-6, atol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_linear_regression_equals_hubscan(cohort, kind):
    from gwas.assoc.linear import linear_regression
    from gwas.store.reader import GenotypeStore

    out = cohort["sgkit"][kind]
    assert out["dosage_source"] == ("count_call_alleles" if kind == "bed" else "call_DS")
    rows = np.asarray(out["regression_variants"])
    assert len(rows) > 50
    store = GenotypeStore(_store_of(cohort, kind))
    ours = linear_regression(store.dosage(rows), cohort["trait"], cohort["covariates"])
    reg = out["regression"]
    np.testing.assert_allclose(_array(reg["beta"]), ours.beta[:, 0], rtol=1e-7, atol=0)
    np.testing.assert_allclose(_array(reg["t_value"]), ours.statistic[:, 0], rtol=1e-7, atol=0)
    np.testing.assert_allclose(_array(reg["p_value"]), ours.p_value[:, 0], rtol=1e-6, atol=1e-300)
    k = list(rows).index(cohort["causal"])  # the variant the trait depends on is found
    assert ours.p_value[k, 0] < 1e-3 and np.argmin(ours.p_value[:, 0]) == k
