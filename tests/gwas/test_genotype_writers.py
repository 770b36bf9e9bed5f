"""VCF and BGEN writers: kernels against plain NumPy/Python references, files read back by
independent readers (cbgen for BGEN, htslib through pysam for VCF/tabix)."""

import gzip

import numpy as np
import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gwas.io.bgen import encode as bgen_kernels
from gwas.io.bgen import writer as bgen
from gwas.io.vcf import encode as vcf_kernels
from gwas.io.vcf import writer as vcf
from hubscan.errors import ConfigError, OutputError


# -- references ---------------------------------------------------------------------------------
def reference_round(probs: np.ndarray, total: int) -> np.ndarray:
    """BGEN spec rounding in plain NumPy: floors, then +1 for the largest fractional parts (stable)."""
    out = np.zeros(probs.shape, dtype=np.int64)
    for r, row in enumerate(probs):
        s = row.sum()
        if s <= 0:
            continue
        x = row / s * total
        f = np.floor(x)
        deficit = int(round(total - f.sum()))
        order = np.argsort(-(x - f), kind="stable")
        f[order[:deficit]] += 1
        out[r] = f
    return out


def reference_pack(values: np.ndarray, counts: np.ndarray, bits: int) -> bytes:
    bitstream = []
    for row, c in zip(values, counts):
        for v in row[:c]:
            bitstream += [(int(v) >> b) & 1 for b in range(bits)]
    bitstream += [0] * (-len(bitstream) % 8)
    return np.packbits(np.array(bitstream, dtype=np.uint8), bitorder="little").tobytes()


def reference_field(alleles, missing, ploidy, gp_milli) -> str:
    """One VCF sample field in Python string formatting."""
    def milli(v):
        return f"{v / 1000:.3f}".rstrip("0").rstrip(".")

    if missing:
        gt = "./." if ploidy == 2 else "."
        return gt if gp_milli is None else gt + ":.:."
    gt = f"{alleles[0]}|{alleles[1]}" if ploidy == 2 else f"{alleles[0]}"
    if gp_milli is None:
        return gt
    vals = gp_milli[:3] if ploidy == 2 else gp_milli[:2]
    ds = gp_milli[1] + 2 * gp_milli[2] if ploidy == 2 else gp_milli[1]
    return f"{gt}:{milli(ds)}:{','.join(milli(v) for v in vals)}"


def random_block(rng, n_var, n, haploid_share=0.3, missing_rate=0.1):
    alleles = rng.integers(0, 2, size=(n_var, n, 2)).astype(np.uint8)
    ploidy = np.where(rng.random(n) < haploid_share, 1, 2).astype(np.uint8)
    missing = rng.random((n_var, n)) < missing_rate
    gp = rng.dirichlet([0.5, 0.5, 0.5], size=(n_var, n))
    return alleles, ploidy, missing, gp


# -- rounding and packing -----------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(probs=hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 4)),
                        elements=st.floats(0, 1, allow_nan=False, allow_subnormal=False)),
       bits=st.integers(1, 32))
def test_round_rows_matches_numpy_reference(probs, bits):
    total = (1 << bits) - 1
    expected = reference_round(probs, total)
    got = bgen.round_to_total(probs, total)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(bgen_kernels.round_rows.py_func(probs, total, np.empty_like(got)), expected)
    positive = probs.sum(axis=1) > 0
    assert np.all(got[positive].sum(axis=1) == total)
    # Each value is within 1 of the exact scaled probability.
    exact = probs[positive] / probs[positive].sum(axis=1, keepdims=True) * total
    assert np.all(np.abs(got[positive] - exact) < 1 + 1e-9)


def test_round_probabilities_spec_example():
    # 0.2/0.3/0.5 at 8 bits: floors 51/76/127 (sum 254); the one missing unit goes to the
    # largest fractional part, a tie (0.5, 0.5) won by the earlier entry.
    np.testing.assert_array_equal(bgen.round_probabilities(np.array([[0.2, 0.3, 0.5]]), 8), [[51, 77, 127]])
    np.testing.assert_array_equal(bgen.round_probabilities(np.array([[0.0, 0.0, 0.0]]), 8), [[0, 0, 0]])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), bits=st.integers(1, 32))
def test_pack_bits_matches_reference(data, bits):
    n = data.draw(st.integers(0, 12))
    values = data.draw(hnp.arrays(np.uint32, (n, 2), elements=st.integers(0, (1 << bits) - 1)))
    counts = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(1, 2)))
    out = np.zeros(n * 2 * 4 + 1, dtype=np.uint8)
    used = bgen_kernels.pack_bits(values, counts, bits, out)
    assert out[:used].tobytes() == reference_pack(values, counts, bits)
    out2 = np.zeros_like(out)
    assert bgen_kernels.pack_bits.py_func(values, counts, bits, out2) == used
    np.testing.assert_array_equal(out, out2)


def test_check_bits_refuses_bad_values():
    for bad in (0, 33, 2.5, True):
        with pytest.raises(ConfigError, match="bits"):
            bgen.check_bits(bad)


# -- VCF ----------------------------------------------------------------------------------------
def test_encode_records_matches_python_formatting():
    rng = np.random.default_rng(3)
    alleles, ploidy, missing, gp = random_block(rng, 6, 9)
    has_gp = np.array([False, True, True, False, True, False])
    gp_milli = vcf.gp_thousandths(gp[has_gp], ploidy)
    assert np.all(gp_milli.sum(axis=2) == 1000)
    text = vcf.format_block("7", [1, 2, 3, 4, 5, 6], list("abcdef"), list("AAAAAA"), list("CCCCCC"),
                            ["AF=0.5"] * 6, alleles, missing, ploidy, gp[has_gp], has_gp).decode()
    rows = text.splitlines()
    k = 0
    for v, line in enumerate(rows):
        fields = line.split("\t")
        assert fields[:9] == ["7", str(v + 1), "abcdef"[v], "A", "C", ".", "PASS", "AF=0.5",
                              "GT:DS:GP" if has_gp[v] else "GT"]
        expected = [reference_field(alleles[v, i], missing[v, i], ploidy[i], gp_milli[k, i] if has_gp[v] else None)
                    for i in range(9)]
        assert fields[9:] == expected
        k += has_gp[v]
    # The jitted kernel and its plain-Python form write the same bytes.
    prefix = np.frombuffer(b"x\ty", dtype=np.uint8)
    args = (prefix, np.array([1, 3]), alleles[:2], missing[:2], ploidy, gp_milli[:1], np.array([-1, 0]), True)
    out_a, out_b = np.zeros(1000, np.uint8), np.zeros(1000, np.uint8)
    n_a = vcf_kernels.encode_records(*args, out_a)
    n_b = vcf_kernels.encode_records.py_func(*args, out_b)
    assert n_a == n_b and out_a[:n_a].tobytes() == out_b[:n_b].tobytes()


def test_vcf_parts_concatenate_index_and_read_back(tmp_path):
    rng = np.random.default_rng(5)
    n = 7
    ids = [f"S{i}" for i in range(n)]
    alleles, ploidy, missing, gp = random_block(rng, 8, n)
    has_gp = np.arange(8) % 3 == 0
    header = tmp_path / "h.vcf.gz"
    with vcf.BgzfWriter(header) as fh:
        fh.write(vcf.vcf_header([("1", 1000), ("2", 2000)], ids,
                                info=['ID=AF,Number=A,Type=Float,Description="x"'],
                                formats=['ID=GT,Number=1,Type=String,Description="g"',
                                         'ID=DS,Number=A,Type=Float,Description="d"',
                                         'ID=GP,Number=G,Type=Float,Description="p"']))
    parts = []
    for chrom, rows in (("1", slice(0, 4)), ("2", slice(4, 8))):
        path = tmp_path / f"{chrom}.vcf.gz"
        sel = has_gp[rows]
        with vcf.BgzfWriter(path) as fh:
            fh.write(vcf.format_block(chrom, [10, 20, 30, 40], ["a", "b", "c", "d"], list("GGGG"), list("TTTT"),
                                      ["AF=0.1"] * 4, alleles[rows], missing[rows], ploidy,
                                      gp[rows][sel], sel))
        parts.append(path)
    final = tmp_path / "all.vcf.gz"
    size = vcf.concatenate_bgzf([header, *parts], final)
    assert size == final.stat().st_size
    assert final.read_bytes().endswith(vcf.BGZF_EOF) and final.read_bytes().count(vcf.BGZF_EOF) == 1
    vcf.index_vcf(final)
    gp_milli = vcf.gp_thousandths(gp[has_gp], ploidy)
    with pysam.VariantFile(str(final)) as reader:
        assert list(reader.header.samples) == ids
        records = list(reader.fetch("2", 15, 35))
        assert [r.pos for r in records] == [20, 30]
        records = list(reader.fetch())
    assert len(records) == 8
    k = 0
    for v, rec in enumerate(records):
        for i, sample in enumerate(ids):
            call = rec.samples[sample]
            expected = (None,) * ploidy[i] if missing[v, i] else tuple(int(a) for a in alleles[v, i, :ploidy[i]])
            assert call["GT"] == expected
            if ploidy[i] == 2 and not missing[v, i]:
                assert call.phased
            if has_gp[v] and not missing[v, i]:
                g = gp_milli[k, i] / 1000
                want_ds = g[1] + 2 * g[2] if ploidy[i] == 2 else g[1]
                assert call["DS"][0] == pytest.approx(want_ds, abs=1e-6)
                assert call["GP"] == pytest.approx(tuple(g[:ploidy[i] + 1]), abs=1e-6)
        k += has_gp[v]


def test_concatenate_refuses_truncated_part(tmp_path):
    part = tmp_path / "p.vcf.gz"
    with vcf.BgzfWriter(part) as fh:
        fh.write(b"1\t1\n")
    truncated = tmp_path / "t.vcf.gz"
    truncated.write_bytes(part.read_bytes()[:-5])
    out = tmp_path / "out.vcf.gz"
    with pytest.raises(OutputError, match="t.vcf.gz"):
        vcf.concatenate_bgzf([part, truncated], out)
    with pytest.raises(ConfigError, match="level"):
        vcf.BgzfWriter(tmp_path / "x.gz", level=11)
    with pytest.raises(OutputError, match="white space"):
        vcf.vcf_header([("1", 10)], ["a b"])
    assert gzip.decompress(part.read_bytes()) == b"1\t1\n"


# -- BGEN ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [1, 3, 8, 10, 16])
def test_bgen_read_back_with_cbgen(tmp_path, bits):
    cbgen = pytest.importorskip("cbgen")
    rng = np.random.default_rng(bits)
    n, n_var = 11, 5
    alleles, ploidy, missing, gp = random_block(rng, n_var, n)
    dosage = alleles[:, :, 0] + np.where(ploidy == 2, alleles[:, :, 1], 0)
    ids = [f"id{i}" for i in range(n)]
    path = tmp_path / "t.bgen"
    stored = bgen.hard_call_stored(dosage, ploidy, bits)
    stored[1::2] = bgen.stored_probabilities(gp[1::2], ploidy, bits)
    data = bgen.encode_block(stored, ploidy, missing, bits)
    with open(path, "wb") as fh:
        fh.write(bgen.header(n_var, ids))
        for v in range(n_var):
            fh.write(bgen.variant_block(f"v{v}", f"rs{v}", "3", 100 + v, "A", "G", data[v].tobytes()))
    assert bgen.read_header_counts(path) == (n_var, n)
    # probability_data() of one variant equals the block encoder's row.
    assert bgen.probability_data(stored[2], ploidy, missing[2], bits) == data[2].tobytes()
    reader = cbgen.bgen_file(str(path))
    assert reader.nvariants == n_var and reader.nsamples == n
    assert [s.decode() for s in reader.read_samples()] == ids
    meta = tmp_path / "t.metafile"
    reader.create_metafile(str(meta))
    variants = cbgen.bgen_metafile(str(meta)).read_partition(0).variants
    assert [c.decode() for c in variants.chromosome] == ["3"] * n_var
    assert list(variants.position) == [100 + v for v in range(n_var)]
    assert [a.decode() for a in variants.allele_ids] == ["A,G"] * n_var
    scale = (1 << bits) - 1
    for v in range(n_var):
        g = reader.read_genotype(variants.offset[v])
        np.testing.assert_array_equal(g.missing, missing[v])
        np.testing.assert_array_equal(g.ploidy, ploidy)
        assert not g.phased
        for i in range(n):
            got = g.probability[i]
            if missing[v, i]:
                assert np.all(np.isnan(got))
                continue
            k = ploidy[i] + 1
            if v % 2:  # probabilities: exact stored integers, within one unit of the truth
                want = gp[v, i, :k] / gp[v, i, :k].sum() if ploidy[i] == 1 else gp[v, i]
                np.testing.assert_allclose(got[:k], bgen.round_to_total(want[None], scale)[0] / scale, atol=1e-12)
                assert np.all(np.abs(got[:k] - want) <= 1 / scale + 1e-12)
            else:
                want = np.zeros(k)
                want[dosage[v, i]] = 1
                np.testing.assert_allclose(got[:k], want, atol=1e-12)
    reader.close()


def test_sample_file(tmp_path):
    path = tmp_path / "x.sample"
    bgen.write_sample_file(path, ["a", "b"], [1, 2])
    assert path.read_text() == "ID_1 ID_2 missing sex\n0 0 0 D\na a 0 1\nb b 0 2\n"
    with pytest.raises(OutputError, match="white space"):
        bgen.write_sample_file(path, ["a b"])
    bad = tmp_path / "bad.bgen"
    bad.write_bytes(b"\0" * 40)
    with pytest.raises(OutputError, match="not a BGEN"):
        bgen.read_header_counts(bad)
