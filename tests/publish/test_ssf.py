"""GWAS-SSF v1.0: column order, formats, #NA, p-values below 1e-308, metadata and md5, and the
GWAS Catalog's own validator (gwas-sumstats-tools, in its own virtual environment)."""

import gzip
import hashlib
import math
from decimal import Decimal
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gwas.publish.rows import p_value_text
from gwas.publish.run import PublishOptions, publish
from gwas.results.store import open_results
from tests.publish.test_disclosure import reference_count

MANDATORY_BETA = ["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
                  "effect_allele_frequency", "p_value"]
ENCOURAGED = ["variant_id", "rsid", "n", "info", "ci_lower", "ci_upper"]
# gwas-sumstats-tools 1.0.25 pins pandas 1.5 (built for numpy 1.x) and typer 0.7 (breaks on click >= 8.2)
VALIDATOR_REQUIREMENTS = ["gwas-sumstats-tools==1.0.25", "numpy<2", "click<8.2", "six"]
VENV = Path(os.environ.get("HUBSCAN_CACHE", Path.home() / ".cache" / "hubscan")) / "gwas-ssf-venv"


def _read(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_columns_order_and_values(published, cohort):
    out, _ = published
    ldl = _read(out / "gwas-ssf" / "ldl.tsv.gz")
    assert list(ldl.columns) == MANDATORY_BETA + ENCOURAGED
    t2d = _read(out / "gwas-ssf" / "250.2.tsv.gz")
    assert list(t2d.columns[:8]) == MANDATORY_BETA[:4] + ["odds_ratio"] + MANDATORY_BETA[5:]
    # sorted by chromosome code (X = 23) then position; only nucleotide alleles and coded contigs
    key = list(zip(ldl["chromosome"].astype(int), ldl["base_pair_location"].astype(int)))
    assert key == sorted(key) and set(ldl["chromosome"].astype(int)) == set(range(1, 24))
    assert ldl["effect_allele"].str.fullmatch("[ACGT]+").all() and ldl["other_allele"].str.fullmatch("[ACGT]+").all()
    # missing values are #NA (rsid of variants without one), never empty or NA
    assert (ldl == "").sum().sum() == 0 and (ldl == "NA").sum().sum() == 0
    assert (ldl["rsid"] == "#NA").sum() > 0 and ldl.loc[ldl["rsid"] != "#NA", "rsid"].str.fullmatch(r"rs\d+").all()
    assert (ldl["variant_id"] == ldl["chromosome"] + "_" + ldl["base_pair_location"] + "_" + ldl["other_allele"]
            + "_" + ldl["effect_allele"]).all()
    # values against the store: effect allele = ALT, beta / odds ratio, CI, frequency
    store = open_results(cohort.root).read(traits=["250.2"]).set_index("position")
    row = t2d.iloc[5]
    s = store.loc[int(row["base_pair_location"])]
    assert row["effect_allele"] == s["alt"] and row["other_allele"] == s["ref"]
    assert float(row["odds_ratio"]) == pytest.approx(math.exp(s["beta"]), rel=1e-5)   # 6 significant digits
    assert float(row["standard_error"]) == pytest.approx(s["standard_error"], rel=1e-5)
    assert float(row["ci_lower"]) == pytest.approx(math.exp(s["beta"] - 1.959964 * s["standard_error"]), rel=1e-5)
    # frequency from the rounded counts (6 significant digits): rounded AC / (2 x rounded called n)
    called = round(s["allele_count"] / (2 * s["allele_frequency"]))
    want = reference_count(s["allele_count"]) / (2 * reference_count(called))
    assert float(row["effect_allele_frequency"]) == pytest.approx(want, rel=1e-5)
    assert float(row["effect_allele_frequency"]) != pytest.approx(s["allele_frequency"], rel=1e-5)
    assert float(row["p_value"]) == pytest.approx(10 ** -s["neg_log10_p"], rel=1e-5)


def test_p_values_below_float64(published, cohort):
    out, _ = published
    ldl = _read(out / "gwas-ssf" / "ldl.tsv.gz")
    store = open_results(cohort.root).read(traits=["ldl"]).set_index("position")
    tiny = store[store["neg_log10_p"] > 308]
    assert len(tiny) >= 1 and (tiny["p_value"] == 0).all()  # float64 underflowed in the store
    for pos, s in tiny.iterrows():
        text = ldl.loc[ldl["base_pair_location"] == str(pos), "p_value"].item()
        mantissa, exponent = text.split("e")
        # -log10 of the written p from its mantissa and exponent, without floats underflowing
        assert -(math.log10(float(mantissa)) + int(exponent)) == pytest.approx(s["neg_log10_p"], rel=1e-9, abs=1e-5)
    # against decimal arithmetic (no float underflow): 10^-442.9057 = 1.24251...e-443
    exact = Decimal(10) ** Decimal("-442.9057")
    mantissa, exponent = p_value_text(442.9057).split("e")
    assert int(exponent) == exact.adjusted() and float(mantissa) == pytest.approx(float(exact.scaleb(-exact.adjusted())), rel=1e-6)
    assert p_value_text(400.0) == "1e-400" and p_value_text(399.99999999) == "1e-400"
    assert p_value_text(1.0) == "0.1"


def test_neg_log10_column(cohort, tmp_path):
    publish(cohort.root, tmp_path / "out", PublishOptions(formats=("gwas-ssf",), p_format="neg-log10", effect="beta",
                                                          plots=False, date="2026-01-02"))
    t2d = _read(tmp_path / "out" / "gwas-ssf" / "250.2.tsv.gz")
    assert list(t2d.columns[:8]) == MANDATORY_BETA[:7] + ["neg_log_10_p_value"]
    store = open_results(cohort.root).read(traits=["ldl"])
    ldl = _read(tmp_path / "out" / "gwas-ssf" / "ldl.tsv.gz")
    top = float(ldl["neg_log_10_p_value"].astype(float).max())
    assert top == pytest.approx(store["neg_log10_p"].max(), rel=1e-5) and top > 308


def test_metadata_and_md5(published):
    out, _ = published
    for data in sorted((out / "gwas-ssf").glob("*.tsv.gz")):
        digest = hashlib.md5(data.read_bytes()).hexdigest()
        assert (out / "gwas-ssf" / f"{data.name}.md5").read_text() == f"{digest}  {data.name}\n"
        meta = yaml.safe_load((out / "gwas-ssf" / f"{data.name}-meta.yaml").read_text())
        assert meta["data_file_md5sum"] == digest and meta["data_file_name"] == data.name
        assert meta["file_type"] == "GWAS-SSF v1.0" and meta["genome_assembly"] == "GRCh38"
        assert meta["coordinate_system"] == "1-based" and str(meta["date_metadata_last_modified"]) == "2026-01-02"
        assert meta["adjusted_covariates"] == ["age", "sex", "PC1", "PC2"]
        assert gzip.decompress(data.read_bytes())  # a complete gzip stream
    assert yaml.safe_load((out / "gwas-ssf" / "250.2.tsv.gz-meta.yaml").read_text())["trait_description"] == \
        ["Type 2 diabetes"]


def _validator() -> Path:
    """gwas-ssf from a cached virtual environment (created on first use)."""
    exe = VENV / "bin" / "gwas-ssf"
    if not exe.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=300)
            subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *VALIDATOR_REQUIREMENTS], check=True,
                           capture_output=True, timeout=900)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            stderr = getattr(exc, "stderr", b"") or b""
            pytest.skip(f"cannot install gwas-sumstats-tools (offline?): {stderr.decode()[-300:]}")
    return exe


def _validate(exe, path, *extra):
    return subprocess.run([str(exe), "validate", str(path), "--min-rows", "100", *extra], capture_output=True,
                          text=True, timeout=300)


def test_gwas_catalog_validator_accepts_every_file(published, cohort, tmp_path):
    exe = _validator()
    out, _ = published
    for data in sorted((out / "gwas-ssf").glob("*.tsv.gz")):
        result = _validate(exe, data, "--infer-from-metadata")
        assert result.returncode == 0 and "Validation status: True" in result.stdout, (data, result.stdout[-2000:])
    publish(cohort.root, tmp_path / "neglog", PublishOptions(formats=("gwas-ssf",), p_format="neg-log10",
                                                             plots=False, date="2026-01-02"))
    result = _validate(exe, tmp_path / "neglog" / "gwas-ssf" / "ldl.tsv.gz")
    assert result.returncode == 0, result.stdout[-2000:]
    # the validator does reject a broken file: a frequency above 1
    text = gzip.decompress((out / "gwas-ssf" / "ldl.tsv.gz").read_bytes()).decode().splitlines()
    fields = text[3].split("\t")
    fields[6] = "1.5"
    text[3] = "\t".join(fields)
    bad = tmp_path / "bad.tsv.gz"
    bad.write_bytes(gzip.compress(("\n".join(text) + "\n").encode()))
    result = _validate(exe, bad)
    assert result.returncode != 0 and "effect_allele_frequency" in result.stdout


def test_chromosome_codes_and_file_names():
    from gwas.publish.rows import chromosome_code
    from gwas.publish.run import file_stem

    names = ["1", "chr1", "01", "22", "chr22", "X", "chrX", "Y", "MT", "chrM", "23", "25", "GL000220.1", "chrUn_x"]
    assert [chromosome_code(c) for c in names] == [1, 1, 1, 22, 22, 23, 23, 24, 25, 25, 0, 0, 0, 0]
    taken = set()
    assert [file_stem(n, taken) for n in ["a/b c", "a_b_c", "A_B_C", ".hidden", "250.2"]] == [
        "a_b_c", "a_b_c-2", "A_B_C-3", "hidden", "250.2"]


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 5000, allow_nan=False))
def test_p_value_text_round_trips_in_log_space(nlp):
    text = p_value_text(nlp)
    if "e" in text:
        mantissa, exponent = text.split("e")
        back = -(math.log10(float(mantissa)) + int(exponent))
        assert 1 <= float(mantissa) < 10 or nlp < 300
    else:
        back = -math.log10(float(text))
    # 6 significant digits: |error of log10 p| <= 5e-6 / ln 10 (plus float noise)
    assert abs(back - nlp) <= 2.2e-6 + 1e-12 * nlp
