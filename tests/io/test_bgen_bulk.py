"""The many-variant BGEN kernels (:mod:`gwas.io.bgen.blocks`) against the checked per-variant
reader, on the reference files, compiled and as plain Python: the header walk against
``BgenFile``'s own header parsing, the fused conversion against per-variant decode, moments, the
NumPy statistics and the NumPy dosage encoding, bit for bit; a block they refuse is reported by
index; a corrupt block or a file changed after planning is named by the checked path."""

import numpy as np
import pytest

from gwas.io import inflate
from gwas.io.bgen import blocks, decode
from gwas.io.bgen.reader import BgenFile, ref_last
from gwas.store import stats
from gwas.store.variables import encode_dosage
from hubscan.errors import InputError

FILES = ["example.1bits.bgen", "example.3bits.bgen", "example.8bits.bgen", "example.16bits.zstd.bgen",
         "example.32bits.bgen", "complex.bgen", "glow-example.8bits.uncompressed.bgen", "glow-phased.8bits.bgen"]


def _walk(b: BgenFile, fn=blocks.walk_headers):
    buf = b.read_bytes(0, b.file_size)
    heads = np.empty((b.n_variants, blocks.N_FIELDS), dtype=np.int64)
    assert fn(buf, b.first_variant_offset, b.n_variants, b.layout, b.compression, b.n_samples, heads) == b.n_variants
    return buf, heads


@pytest.mark.parametrize("name", FILES + ["example.v11.bgen"])
def test_walk_headers_equals_checked_header_reads(shared_data, name):
    with BgenFile(shared_data / "bgen" / name) as b:
        offsets = b.variant_offsets()
        for fn in (blocks.walk_headers, blocks.walk_headers.py_func):
            buf, heads = _walk(b, fn)
            np.testing.assert_array_equal(heads[:, blocks.H_START], offsets)
            for i, h in enumerate(heads):
                (vid, rsid, chrom, pos, alleles), data_at = b._variant_header(i, int(offsets[i]))

                def text(col):
                    return buf[h[col]:h[col] + h[col + 1]].tobytes().decode()

                assert (text(blocks.H_ID), text(blocks.H_RSID), text(blocks.H_CHROM)) == (vid, rsid, chrom)
                assert (h[blocks.H_POS], h[blocks.H_K], text(blocks.H_A0)) == (pos, len(alleles), alleles[0])
                assert text(blocks.H_A1) == (alleles[1] if len(alleles) > 1 else "")
                assert (h[blocks.H_DATA], h[blocks.H_END]) == (data_at, b._data_end(i, data_at))
        k = min(3, b.n_variants - 1)
        cut = buf[:int(offsets[k]) + 20]  # variant k's header cut: k blocks parsed
        assert blocks.walk_headers(cut, b.first_variant_offset, b.n_variants, b.layout, b.compression, b.n_samples,
                                   heads) == k


@pytest.mark.parametrize("last", [False, True], ids=["ref-first", "ref-last"])
@pytest.mark.parametrize("name", FILES)
def test_biallelic_dosages_equal_per_variant_decode(shared_data, name, last):
    """ref-last: the kernels' mirrored reading against the checked read reordered by ref_last."""
    with BgenFile(shared_data / "bgen" / name) as b:
        buf, heads = _walk(b)
        want, at = [], []
        for i, off in enumerate(b.variant_offsets()):
            v = b.read(i, int(off))
            if len(v.alleles) != 2:
                continue
            v = ref_last(v) if last else v
            e, f = np.empty(b.n_samples), np.empty(b.n_samples)
            decode.biallelic_moments(v.probs, v.ploidy.astype(np.int64), v.phased, e, f)
            ref = stats.variant_stats_reference(e[None], v.ploidy[None].astype(float), f[None], stats.INFO_IMPUTE)
            want.append((encode_dosage(e), ref.allele_frequency[0], ref.call_rate[0], ref.info[0], v.ploidy))
            at.append(heads[i, blocks.H_DATA])
    assert want
    m, at = len(want), np.array(at, dtype=np.int64)
    rows = np.arange(m)[::-1].copy()  # rows in any order
    for fn in (blocks.biallelic_dosages, blocks.biallelic_dosages.py_func):
        out = np.zeros((m, b.n_samples), np.uint16)
        af, cr, info = np.full(m, -1.0), np.full(m, -1.0), np.full(m, -1.0)
        ploidy = np.full((m, b.n_samples), -1, np.int8)
        assert fn(buf, at, b.compression, inflate.functions(), b.n_samples, rows, out, af, cr, info, ploidy, last) == 0
        for i, (codes, p, c, inf, z) in enumerate(want):
            np.testing.assert_array_equal(out[rows[i]], codes)
            np.testing.assert_array_equal(ploidy[rows[i]], z)
            assert cr[rows[i]] == c
            np.testing.assert_allclose(af[rows[i]], p, rtol=1e-12)  # NumPy sums pairwise: not bit for bit
            np.testing.assert_allclose(info[rows[i]], inf, rtol=0, atol=1e-9)  # INFO: a difference of sums
    k = min(2, m - 1)
    bad = buf.copy()
    bad[at[k] + 8: at[k] + 24] = 0xFF  # the start of variant k's (compressed) probability block
    assert blocks.biallelic_dosages(bad, at, b.compression, inflate.functions(), b.n_samples, rows, out, af, cr,
                                    info, ploidy) == k + 1


def test_biallelic_dosages_equal_fused_statistics_kernel(shared_data):
    """Statistics bit for bit against the NumPy-free stats kernel on the same float arrays."""
    with BgenFile(shared_data / "bgen" / "example.8bits.bgen") as b:
        buf, heads = _walk(b)
        e, f = np.empty((b.n_variants, b.n_samples)), np.empty((b.n_variants, b.n_samples))
        z = np.empty((b.n_variants, b.n_samples), np.int8)
        for i in range(b.n_variants):
            _, raw, _ = b.read_raw(i, int(heads[i, blocks.H_START]))
            assert decode.biallelic_block(np.frombuffer(raw, np.uint8), b.n_samples, e[i], f[i], z[i])
        want = stats.variant_stats(e, z, f, stats.INFO_IMPUTE)
        out = np.empty((b.n_variants, b.n_samples), np.uint16)
        af, cr, info = np.empty(b.n_variants), np.empty(b.n_variants), np.empty(b.n_variants)
        rows = np.arange(b.n_variants)
        ploidy = np.empty((b.n_variants, b.n_samples), np.int8)
        assert blocks.biallelic_dosages(buf, heads[:, blocks.H_DATA].copy(), b.compression, inflate.functions(),
                                        b.n_samples, rows, out, af, cr, info, ploidy) == 0
        np.testing.assert_array_equal(ploidy, z)
    for got, ref in ((af, want.allele_frequency), (cr, want.call_rate), (info, want.info)):
        np.testing.assert_array_equal(got.view(np.uint64), ref.view(np.uint64))


def test_corrupt_block_met_by_the_kernel_names_the_variant(shared_data, tmp_path):
    """A block the fused kernel refuses is re-read the checked way, which names file, variant and byte."""
    from gwas.ingest.run import ingest

    src = shared_data / "bgen" / "example.16bits.zstd.bgen"
    with BgenFile(src) as b:
        off, nxt = (int(x) for x in b.variant_offsets()[7:9])
    raw = bytearray(src.read_bytes())
    raw[nxt - 30: nxt - 10] = b"\xff" * 20  # inside variant 7's zstd frame
    (tmp_path / "c.bgen").write_bytes(bytes(raw))
    with pytest.raises(InputError, match=rf"c\.bgen: variant 7 at byte {off}: .*corrupt block"):
        ingest([tmp_path / "c.bgen"], tmp_path / "s", variants_chunk=50)
    assert not (tmp_path / "s" / "_SUCCESS").exists()


def test_file_changed_after_planning_is_reported(shared_data, tmp_path):
    from gwas.ingest.sources import convert_range, plan_inputs

    path = tmp_path / "x.bgen"
    raw = (shared_data / "bgen" / "example.8bits.bgen").read_bytes()
    path.write_bytes(raw)
    plan = plan_inputs([path])
    path.write_bytes(raw[:len(raw) - 500])  # truncated after planning
    with pytest.raises(InputError, match=r"x\.bgen: (truncated file|variant \d+)"):
        convert_range(plan, 0, plan.n_variants)


@pytest.mark.parametrize("last", [False, True], ids=["ref-first", "ref-last"])
def test_diploid_8bit_one_pass_equals_general_decode(last):
    """The one-pass 8-bit all-diploid path against the general block decode, the stats kernel and
    the dosage encoding, bit for bit, over every pair of stored values (those summing past 255 are
    invalid probabilities: negative P(2), clipped codes) with missing samples among them."""
    v = np.arange(65536)
    values = np.stack([v >> 8, v & 255], axis=1).astype(np.uint8)
    n = len(values)
    ploidy = np.full(n, 2, np.uint8)
    ploidy[::97] |= 0x80  # missing
    raw = np.concatenate([np.frombuffer(np.uint32(n).tobytes() + np.uint16(2).tobytes() + bytes([2, 2]), np.uint8),
                          ploidy, np.array([0, 8], np.uint8), values.ravel()])
    assert decode.biallelic_header(raw, n) == (0, 8, 2, 2)  # the one-pass path's case
    buf = np.concatenate([np.frombuffer(np.uint32(len(raw)).tobytes(), np.uint8), raw])  # uncompressed field
    e, f, z = np.empty(n), np.empty(n), np.empty(n, np.int8)
    assert decode.biallelic_block(raw, n, e, f, z, last)
    want = stats.row_stats(e, f, z, stats.INFO_IMPUTE)
    for fn in (blocks.biallelic_dosages, blocks.biallelic_dosages.py_func):
        out = np.zeros((1, n), np.uint16)
        af, cr, info, ploidy = np.empty(1), np.empty(1), np.empty(1), np.empty((1, n), np.int8)
        assert fn(buf, np.array([0]), 0, inflate.functions(), n, np.array([0]), out, af, cr, info, ploidy, last) == 0
        np.testing.assert_array_equal(ploidy[0], z)
        np.testing.assert_array_equal(out[0], encode_dosage(e))
        assert (af[0], cr[0], info[0]) == want
