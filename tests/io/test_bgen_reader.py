"""BGEN decoding against the truth files in shared/data/bgen (gavinband/bgen and glow test data).

Tolerance: the BGEN spec stores each probability as an integer out of 2^B - 1 rounded so a sample's
values sum exactly, so each decoded value is within 1/(2^B - 1) of the (normalised) source;
layout 1 (v1.1) stores p x 32768 rounded: within 0.5/32768. Truth text files carry 6 significant
digits: +1e-6.
"""

import shutil

import numpy as np
import pytest

from gwas.io.bgen import decode
from gwas.io.bgen.reader import BgenFile, alt_dosages, genotype_allele_counts, ref_last
from hubscan.errors import InputError

TEXT = 1e-6


def gen_truth(path, normalise=True):
    """(variants, samples, 3) probabilities, NaN for all-zero (missing) rows; layout 2 writers
    normalise each sample's row to sum 1 before rounding, layout 1 stores each value as given."""
    rows = [np.array(line.split()[6:], dtype=float).reshape(-1, 3) for line in open(path)]
    t = np.array(rows)
    s = t.sum(2, keepdims=True)
    return np.where(s > 0, t / np.where(s > 0, s, 1) if normalise else t, np.nan)


def vcf_truth(path, field="GP"):
    """list of (id, alleles, [per-sample float arrays or None when missing], ploidy/phase text)."""
    out = []
    for line in open(path):
        if line.startswith("#"):
            continue
        c = line.rstrip("\n").split("\t")
        fmt = c[8].split(":")
        calls = []
        for s in c[9:]:
            sub = dict(zip(fmt, s.split(":")))
            key = field if field in sub else ("HP" if "HP" in sub else "GP")
            v = sub[key].split(",")
            calls.append(None if "." in v else np.array(v, dtype=float))
        out.append((c[2], [c[3]] + c[4].split(","), calls))
    return out


@pytest.mark.parametrize("name,bits", [("example.1bits.bgen", 1), ("example.2bits.bgen", 2), ("example.3bits.bgen", 3),
                                       ("example.8bits.bgen", 8), ("example.16bits.bgen", 16),
                                       ("example.16bits.zstd.bgen", 16), ("example.32bits.bgen", 32),
                                       ("example.v11.bgen", None)])
def test_example_files_match_gen_truth(shared_data, name, bits):
    truth = gen_truth(shared_data / "bgen" / "example.gen", normalise=bits is not None)
    tol = (0.5 / 32768 if bits is None else 1 / (2 ** bits - 1)) + TEXT
    with BgenFile(shared_data / "bgen" / name) as b:
        assert (b.n_variants, b.n_samples) == truth.shape[:2]
        got = np.array([v.probs for v in b.iter_range(0, b.n_variants)])
        assert all(v.bits == (bits or 16) for v in b.iter_range(0, 3))
    assert np.array_equal(np.isnan(got), np.isnan(truth))
    assert np.nanmax(np.abs(got - truth)) <= tol


@pytest.mark.parametrize("name,truth,bits,sample", [
    ("glow-example.8bits.uncompressed.bgen", "glow-example.8bits.vcf", 8, None),
    ("glow-example.8bits.zstd.bgen", "glow-example.8bits.vcf", 8, None),
    ("glow-example.16bits.oxford.bgen", "glow-example.16bits.vcf", 16, "glow-example.16bits.oxford.sample"),
    ("glow-example.16bits.nosampleids.bgen", "glow-example.16bits.vcf", 16, None),
    ("glow-phased.8bits.bgen", "glow-phased.8bits.vcf", 8, None),
    ("glow-phased.16bits.bgen", "glow-phased.16bits.vcf", 16, None),
    ("complex.bgen", "complex.vcf", 32, None),
    ("complex.8bits.bgen", "complex.vcf", 8, None),
    ("complex.16bits.bgen", "complex.vcf", 16, None),
])
def test_files_match_vcf_truth(shared_data, name, truth, bits, sample):
    d = shared_data / "bgen"
    records = vcf_truth(d / truth)
    with BgenFile(d / name, d / sample if sample else None) as b:
        if sample:
            assert b.sample_ids[:2] == ["sample_001", "sample_002"]
        variants = list(b.iter_range(0, b.n_variants))
    assert len(variants) == len(records)
    for v, (vid, alleles, calls) in zip(variants, records):
        assert v.alleles == alleles
        assert v.rsid in vid.split(",") or v.variant_id in vid.split(",")
        width = max(len(t) for t in calls if t is not None)
        expected = np.full((len(calls), max(width, v.probs.shape[1])), np.nan)
        for s, t in enumerate(calls):
            if t is not None:
                expected[s, :len(t)] = t
        missing = np.array([t is None for t in calls])
        np.testing.assert_array_equal(v.missing, missing)
        got = v.probs[~missing]
        want = expected[~missing, :got.shape[1]]
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert np.nanmax(np.abs(got - want)) <= 1 / (2 ** v.bits - 1) + TEXT


def test_haplotypes_match_haps(shared_data):
    d = shared_data / "bgen"
    with BgenFile(d / "haplotypes.bgen") as b:
        variants = list(b.iter_range(0, b.n_variants))
    lines = [ln.split() for ln in open(d / "haplotypes.haps")]
    assert len(lines) == len(variants)
    for v, ln in zip(variants, lines):
        haps = np.array(ln[6:], dtype=int)  # one allele per haplotype
        assert v.phased and v.rsid == ln[2] and v.position == int(ln[3])
        np.testing.assert_array_equal(v.probs[:, 1::2].ravel(), haps)  # P(ALT) per haplotype
        np.testing.assert_array_equal(alt_dosages(v)[:, 0], haps.reshape(-1, 2).sum(1))


def test_bgi_offsets_equal_walked_offsets(shared_data, tmp_path):
    src = shared_data / "bgen" / "example.8bits.bgen"
    with BgenFile(src) as b:
        indexed = b.scan()
    shutil.copy(src, tmp_path / "x.bgen")
    with BgenFile(tmp_path / "x.bgen") as b:
        walked = b.scan()
    np.testing.assert_array_equal(indexed[0], walked[0])
    np.testing.assert_array_equal(indexed[1], walked[1])


@pytest.mark.parametrize("long_name", [False, True])
def test_walked_chromosomes_equal_checked_reads(tmp_path, long_name):
    """The header walk's chromosome per variant (runs compared with NumPy; names over 32 bytes one
    by one) against the checked per-variant read: names of equal length, a name met again later."""
    from gwas.io.bgen import writer

    chroms = ["1", "1", "2", "2", "10", "11", "1", "chrX", "chrX", "chrY", "Y" * (40 if long_name else 3), "1"]
    data = writer.probability_data(np.array([[1.0, 0.0, 0.0]] * 3), np.full(3, 2), None, 8)
    raw = writer.header(len(chroms), ["a", "b", "c"]) + b"".join(
        writer.variant_block(f"v{i}", f"rs{i}", c, 100 + i, "A", "G", data) for i, c in enumerate(chroms))
    (tmp_path / "c.bgen").write_bytes(raw)
    with BgenFile(tmp_path / "c.bgen") as b:
        offsets, _, walked = b.scan()
        assert walked == [b.read(i, int(off)).chrom for i, off in enumerate(offsets)] == chroms


def test_numba_kernel_equals_python(shared_data):
    with BgenFile(shared_data / "bgen" / "complex.bgen") as b:
        v = b.read(3, int(b.variant_offsets()[3]))
    probs_py = np.empty_like(v.probs)
    import struct

    with BgenFile(shared_data / "bgen" / "complex.bgen") as b:
        (_, pos) = b._variant_header(3, v.offset)
        data, _ = b._decompress(3, pos, v.offset)
    buf = np.frombuffer(data, dtype=np.uint8)
    n, k = struct.unpack_from("<IH", data, 0)
    from gwas.io.bgen.reader import count_tables
    _, _, ncomb = count_tables(int(buf[7]), k)
    decode.decode_layout2.py_func(buf[10 + n:], n, k, v.ploidy.astype(np.int64), v.missing, v.phased, v.bits, ncomb, probs_py)
    np.testing.assert_array_equal(np.isnan(probs_py), np.isnan(v.probs))
    np.testing.assert_allclose(np.nan_to_num(probs_py), np.nan_to_num(v.probs), rtol=0, atol=0)


def test_truncated_file_names_variant(shared_data, tmp_path):
    raw = (shared_data / "bgen" / "example.8bits.bgen").read_bytes()
    bad = tmp_path / "trunc.bgen"
    bad.write_bytes(raw[: len(raw) - 300])
    with BgenFile(bad) as b, pytest.raises(InputError, match=r"trunc\.bgen.*variant 198"):
        b.scan()


def test_corrupt_block_names_variant(shared_data, tmp_path):
    src = shared_data / "bgen" / "example.8bits.bgen"
    with BgenFile(src) as b:
        off = int(b.variant_offsets()[5])
        nxt = int(b.variant_offsets()[6])
    raw = bytearray(src.read_bytes())
    raw[nxt - 40: nxt - 10] = b"\xff" * 30  # inside variant 5's zlib stream
    bad = tmp_path / "corrupt.bgen"
    bad.write_bytes(bytes(raw))
    with BgenFile(bad) as b, pytest.raises(InputError, match=rf"corrupt\.bgen: variant 5 at byte {off}.*corrupt"):
        list(b.iter_range(0, 10))


def test_sample_file_count_mismatch(shared_data):
    d = shared_data / "bgen"
    with pytest.raises(InputError, match=r"corrupted\.sample"):
        BgenFile(d / "glow-example.16bits.oxford.bgen", d / "glow-example.16bits.oxford.corrupted.sample")


def test_empty_file(tmp_path):
    (tmp_path / "e.bgen").write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.bgen: empty file"):
        BgenFile(tmp_path / "e.bgen")


def _ref_count(v, s):
    """Expected copies of allele 0 in sample ``s`` of variant ``v`` (NaN when missing)."""
    k, z = len(v.alleles), int(v.ploidy[s])
    if v.phased:
        return sum(v.probs[s, h * k] for h in range(z))
    counts = genotype_allele_counts(z, k)[:, 0]
    return float(v.probs[s, :len(counts)] @ counts)


@pytest.mark.parametrize("name", ["complex.bgen", "glow-phased.8bits.bgen", "example.16bits.bgen", "example.v11.bgen"])
def test_ref_last_moves_the_last_allele_first(shared_data, name):
    """A ref-last read: alleles (last, first, ..., second to last) and each sample's probabilities
    permuted with them (complex.bgen: multi-allelic, phased and unphased, ploidy 1 to 4, missing).
    Reference: expected allele counts of the unpermuted read - the new first ALT is the old REF
    (expected copies of allele 0, summed over genotypes or haplotypes; layout 1's three stored
    probabilities need not sum to 1), the others are the old ALTs but the last, in order."""
    with BgenFile(shared_data / "bgen" / name) as b:
        seen = set()
        for i, off in enumerate(b.variant_offsets()):
            v = b.read(i, int(off))
            w = ref_last(v)
            k = len(v.alleles)
            seen.add((k, v.phased))
            if k < 2:
                assert w is v
                continue
            assert w.alleles == [v.alleles[-1], *v.alleles[:-1]]
            old, new = alt_dosages(v), alt_dosages(w)
            ref_count = np.array([_ref_count(v, s) for s in range(len(v.ploidy))])
            np.testing.assert_allclose(new[:, 0], ref_count, rtol=0, atol=1e-12)
            np.testing.assert_allclose(new[:, 1:], old[:, :-1], rtol=0, atol=1e-12)
            assert np.array_equal(np.isnan(w.probs), np.isnan(v.probs)) or v.phased
            np.testing.assert_allclose(np.nansum(w.probs, 1), np.nansum(v.probs, 1), rtol=0, atol=1e-12)
            if k == 2:  # a swap: twice is the read itself
                back = ref_last(w)
                assert back.alleles == v.alleles and np.array_equal(back.probs, v.probs, equal_nan=True)
    assert any(k == 2 for k, _ in seen)
