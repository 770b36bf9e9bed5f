"""The many-variant BGEN kernel against the per-variant decode (layout-2 probabilities, then
moments), bit for bit, on the reference files; a block it refuses is reported by index."""

import numpy as np
import pytest

from gwas.io.bgen import decode
from gwas.io.bgen.reader import BgenFile


@pytest.mark.parametrize("name", ["example.1bits.bgen", "example.3bits.bgen", "example.8bits.bgen",
                                  "example.16bits.zstd.bgen", "example.32bits.bgen", "complex.bgen"])
def test_biallelic_records_equal_per_variant_decode(shared_data, name):
    with BgenFile(shared_data / "bgen" / name) as b:
        offsets = b.variant_offsets()
        raws, want = [], []
        for i, off in enumerate(offsets):
            (_, _, _, _, alleles), raw, _ = b.read_raw(i, int(off))
            if len(alleles) != 2:
                continue
            v = b.read(i, int(off))
            e, f = np.empty(b.n_samples), np.empty(b.n_samples)
            decode.biallelic_moments(v.probs, v.ploidy.astype(np.int64), v.phased, e, f)
            raws.append(raw)
            want.append((e, f, v.ploidy.astype(np.int8)))
    assert raws
    data = np.frombuffer(b"".join(raws), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum([len(r) for r in raws])]).astype(np.int64)
    rows = np.arange(len(raws))[::-1].copy()  # rows in any order
    for fn in (decode.biallelic_records, decode.biallelic_records.py_func):
        e, f = np.full((len(raws), b.n_samples), -1.0), np.full((len(raws), b.n_samples), -1.0)
        z = np.full((len(raws), b.n_samples), -1, np.int8)
        assert fn(data, starts, b.n_samples, rows, e, f, z) == 0
        for i, (we, wf, wz) in enumerate(want):
            np.testing.assert_array_equal(e[rows[i]].view(np.uint64), we.view(np.uint64))
            np.testing.assert_array_equal(f[rows[i]].view(np.uint64), wf.view(np.uint64))
            np.testing.assert_array_equal(z[rows[i]], wz)
    bad = data.copy()
    bad[starts[2] + 4] = 3  # the third block claims 3 alleles
    out = [np.empty((len(raws), b.n_samples)) for _ in range(2)] + [np.empty((len(raws), b.n_samples), np.int8)]
    assert decode.biallelic_records(bad, starts, b.n_samples, rows, *out) == 3
    cut = data[:starts[1] - 5]  # the first block 5 bytes short
    assert decode.biallelic_records(cut, np.array([0, len(cut)]), b.n_samples, rows[:1], *out) == 1


@pytest.mark.parametrize("name", ["example.8bits.bgen", "example.16bits.zstd.bgen", "example.v11.bgen",
                                  "complex.bgen"])
def test_read_raw_from_prefetched_window_equals_checked_reads(shared_data, name, tmp_path):
    path = shared_data / "bgen" / name
    with BgenFile(path) as b:
        offsets = b.variant_offsets()
        want = [b.read_raw(i, int(o)) for i, o in enumerate(offsets)]
        b.prefetch(int(offsets[0]), b.file_size)
        assert [b.read_raw(i, int(o)) for i, o in enumerate(offsets)] == want
    # a corrupt block inside the window is reported by the checked path, naming the variant
    raw = bytearray(path.read_bytes())
    raw[int(offsets[2]) - 12: int(offsets[2])] = b"\xff" * 12  # the end of variant 1's compressed data
    (tmp_path / "c.bgen").write_bytes(bytes(raw))
    from hubscan.errors import InputError

    with BgenFile(tmp_path / "c.bgen") as b:
        b.prefetch(int(offsets[0]), b.file_size)
        with pytest.raises(InputError, match=r"c\.bgen: .*variant 1"):
            for i, o in enumerate(offsets[:3]):
                b.read(i, int(o))
