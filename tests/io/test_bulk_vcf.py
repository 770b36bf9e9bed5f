"""Bulk VCF reading: BGZF spans against gzip, the many-record kernels against their per-record
references (and their plain-Python ``py_func``), and a bgzipped VCF ingested like its plain text."""

import contextlib
import gzip

import numpy as np
import pytest

from gwas.ingest.run import ingest
from gwas.io import bgzf
from gwas.io.vcf import records as vrec
from gwas.io.vcf.parse import parse_samples
from gwas.io.vcf.writer import BgzfWriter
from gwas.store.reader import GenotypeStore
from hubscan.errors import InputError


def _bgzip(path, text: bytes, level=1):
    with BgzfWriter(path, level) as w:
        w.write(text)
    return path


def test_bgzf_batches_and_spans_equal_gzip(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    text = b"".join(b"line %d %s\n" % (i, b"x" * int(rng.integers(0, 3000))) for i in range(3000))
    path = _bgzip(tmp_path / "t.gz", text)
    assert bgzf.is_bgzf(path)
    plain = tmp_path / "p.gz"
    plain.write_bytes(gzip.compress(text))
    assert not bgzf.is_bgzf(plain)
    monkeypatch.setattr(bgzf, "BATCH_BYTES", 5000)  # many batches, block headers cut by batch ends
    for threads in (1, 2):
        got, offsets, starts = [], [], []
        for buf, offs, st in bgzf.iter_batches(path, threads):
            assert st[0] == sum(len(g) for g in got)
            got.append(buf.tobytes())
            offsets.append(offs)
            starts.append(st)
        assert b"".join(got) == text
    offsets, starts = np.concatenate(offsets), np.concatenate(starts)
    for u0, u1 in [(0, 1), (0, len(text)), (65279, 65281), (70000, 200000), (len(text) - 5, len(text)), (9, 9)]:
        assert bgzf.read_span(path, offsets, starts, u0, u1).tobytes() == text[u0:u1]


def test_bgzf_truncated_and_corrupt(tmp_path):
    path = _bgzip(tmp_path / "t.gz", b"abc\n" * 50_000)
    raw = path.read_bytes()
    (tmp_path / "cut.gz").write_bytes(raw[:len(raw) // 2])
    with pytest.raises(InputError, match=r"cut\.gz: BGZF block at byte \d+ runs past the end of the file"):
        list(bgzf.iter_batches(tmp_path / "cut.gz"))
    bad = bytearray(raw)
    bad[40:60] = b"\xff" * 20
    (tmp_path / "bad.gz").write_bytes(bytes(bad))
    with pytest.raises(InputError, match=r"bad\.gz: BGZF block at byte 0: (cannot inflate|inflated)"):
        list(bgzf.iter_batches(tmp_path / "bad.gz"))
    second = bgzf._block_size(raw, 0)
    tables = [(o.copy(), u.copy()) for _, o, u in bgzf.iter_batches(path)]  # block offsets and starts
    bad = bytearray(raw)
    bad[second + bgzf._block_size(raw, second) - 8] ^= 1  # the second block's CRC32: its deflate data intact
    (tmp_path / "crc.gz").write_bytes(bytes(bad))
    with pytest.raises(InputError, match=rf"crc\.gz: BGZF block at byte {second}: CRC mismatch"):
        list(bgzf.iter_batches(tmp_path / "crc.gz"))
    with pytest.raises(InputError, match=rf"crc\.gz: BGZF block at byte {second}: CRC mismatch"):
        bgzf.read_span(tmp_path / "crc.gz", *[np.concatenate(t) for t in zip(*tables)], 0, 70000)
    (tmp_path / "junk.gz").write_bytes(raw[:100] + b"\x00" * 5000)
    with pytest.raises(InputError, match=r"junk\.gz: byte \d+ does not start a BGZF block"):
        list(bgzf.iter_batches(tmp_path / "junk.gz"))


@pytest.mark.parametrize("kernel", ["jit", "py"])
def test_next_newline_and_scan_heads(kernel):
    with contextlib.ExitStack() as stack:
        _check_newline_and_heads(kernel, stack)


def _check_newline_and_heads(kernel, stack):
    rng = np.random.default_rng(5)
    lines = []
    for i in range(300):
        kind = rng.integers(0, 6)
        if kind == 0:
            lines.append(b"")  # blank
        elif kind == 1:
            lines.append(b"  \t")
        elif kind == 2:
            lines.append(b"1\t+5\t.\tA\tC\t.")  # POS the fast scan leaves to Python
        else:
            alt = [b".", b"C", b"C,G,T"][kind - 3]
            chrom = [b"1", b"2", b"chrX"][int(rng.integers(0, 3))]
            lines.append(b"%s\t%d\trs%d\tA\t%s\t.\t.\t.\tGT\t0|1%s" % (chrom, rng.integers(1, 10**9), i, alt,
                                                                       b"\t1/1" * int(rng.integers(0, 40))))
    text = b"\n".join(lines) + b"\n"
    if kernel == "py":  # the word test wraps uint64 on purpose
        stack.enter_context(np.errstate(over="ignore"))
    buf = np.frombuffer(text, dtype=np.uint8)
    words = vrec.words_of(buf)
    nl = vrec.next_newline if kernel == "jit" else vrec.next_newline.py_func
    for i in rng.integers(0, len(text), 200):
        stop = int(rng.integers(i, len(text) + 1))
        want = text.find(b"\n", i, stop)
        assert nl(buf, words, int(i), stop) == (want if want >= 0 else stop)
    scan = vrec.scan_heads if kernel == "jit" else vrec.scan_heads.py_func
    cap = len(lines)
    out = [np.empty(cap, np.int64) for _ in range(4)]
    flag, new = np.empty(cap, np.int8), np.empty(cap, np.int8)
    n, nxt = scan(buf, words, 0, len(text), out[0], flag, out[1], out[2], out[3], new)
    assert (n, nxt) == (len(lines), len(text))
    prev = None
    for i, line in enumerate(lines):
        cols = line.split(b"\t", 5)
        if not line.strip():
            assert flag[i] == vrec.HEAD_BLANK
        elif not cols[1].isdigit():
            assert flag[i] == vrec.HEAD_OTHER
        else:
            assert flag[i] == vrec.HEAD_RECORD
            assert (out[2][i], out[3][i]) == (int(cols[1]), 1 if cols[4] == b"." else cols[4].count(b",") + 1)
            assert text[out[0][i]:out[1][i]] == cols[0]
            assert new[i] == (prev != cols[0])
            prev = cols[0]
    half, nxt = scan(buf, words, 0, len(text), out[0][:7], flag, out[1], out[2], out[3], new)
    assert half == 7 and nxt == sum(len(x) + 1 for x in lines[:7])


def test_split_row_matches_reference():
    rng = np.random.default_rng(7)
    for n_alt in (1, 2, 3):
        gt = rng.integers(-2, n_alt + 1, (400, 2)).astype(np.int16)
        gt[:, 0] = np.where(gt[:, 0] == -2, -1, gt[:, 0])  # the fill only in the second slot
        phased = rng.random(400) < 0.5
        ds = np.where(rng.random((400, n_alt)) < 0.2, np.nan, rng.uniform(0, 2, (400, n_alt)))
        for has_ds in (False, True):
            for j in range(n_alt):
                want = vrec.split_reference(gt, phased, ds if has_ds else None, j, n_alt)
                for fn in (vrec.split_row, vrec.split_row.py_func):
                    got = (np.empty((400, 2), np.int8), np.empty(400, bool), np.empty(400), np.empty(400, np.int8))
                    fn(gt, phased, ds, has_ds, j, n_alt, *got)
                    for a, b in zip(got, want):
                        np.testing.assert_array_equal(a, b)


def _records(rng, n):
    """Random sample columns: GT (phased or not, missing, haploid) with DS on some records."""
    recs = []
    for _ in range(12):
        n_alt = int(rng.integers(1, 4))
        with_ds = bool(rng.random() < 0.5)
        cols = []
        for _ in range(n):
            a, b = (int(x) for x in rng.integers(0, n_alt + 1, 2))
            gt = rng.choice([f"{a}|{b}", f"{a}/{b}", "./.", f"{a}", "."])
            cols.append(gt + (":" + ",".join(f"{x:.3f}" for x in rng.uniform(0, 2, n_alt)) if with_ds else ""))
        recs.append((n_alt, with_ds, "\t".join(cols)))
    return recs


def test_parse_records_matches_per_record_parse():
    rng = np.random.default_rng(11)
    n = 30
    recs = _records(rng, n)
    prefix = "X\t5\t.\tA\tC\t.\t.\t.\tGT:DS\t"
    text = "".join(prefix + body + "\n" for _, _, body in recs).encode()
    buf = np.frombuffer(text, dtype=np.uint8)
    starts = np.array([0] + [len(prefix + body) + 1 for _, _, body in recs[:-1]]).cumsum()
    n_alt = np.array([k for k, _, _ in recs])
    row0 = np.concatenate([[0], np.cumsum(n_alt)[:-1]]) - 2  # the range starts inside record 0's ALTs
    m = int(n_alt.sum()) - 3
    ends = np.array([s + len(prefix + body) for s, (_, _, body) in zip(starts, recs)])
    gt_index = np.zeros(len(recs), np.int64)
    ds_index = np.array([1 if d else -1 for _, d, _ in recs])
    want = [np.full((m, n, 2), 9, np.int8), np.zeros((m, n), bool), np.full((m, n), -7.0), np.zeros((m, n), np.int8)]
    for r, (k, with_ds, body) in enumerate(recs):
        line = np.frombuffer((prefix + body).encode(), dtype=np.uint8)
        gt, ph, ds, bad = np.empty((n, 2), np.int16), np.empty(n, bool), np.empty((n, k)), np.zeros(1, np.int64)
        assert parse_samples(line, len(prefix), n, 0, ds_index[r], k, gt, ph, ds, bad) == 0 and bad[0] == 0
        for j in range(k):
            v = row0[r] + j
            if 0 <= v < m:
                got = vrec.split_reference(gt, ph, ds if with_ds else None, j, k)
                for arr, g in zip(want, got):
                    arr[v] = g
    for fn in (vrec.parse_records, vrec.parse_records.py_func):
        out = [np.full((m, n, 2), 9, np.int8), np.zeros((m, n), bool), np.full((m, n), -7.0), np.zeros((m, n), np.int8)]
        err = np.zeros(3, np.int64)
        assert fn(buf, starts + len(prefix), ends, gt_index, ds_index, n_alt, np.ones(len(recs), bool), row0, n,
                  *out, err) == 0
        for a, b in zip(out, want):
            np.testing.assert_array_equal(a, b)
        # haploid calls refused off X/Y/MT; the first bad record and sample reported
        err[:] = 0
        if fn(buf, starts + len(prefix), ends, gt_index, ds_index, n_alt, np.zeros(len(recs), bool), row0, n,
              *out, err):
            assert err[1] == vrec.ERR_HAPLOID and err[2] >= 1


HEAD = ("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
        "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"d\">\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n")


def test_bgzipped_vcf_equals_plain_text(tmp_path, monkeypatch):
    """Blank lines, CRLF ends, multi-allelic and haploid records, tiny BGZF batches and sub-blocks:
    the bgzipped (unindexed: read back through the plan's block table) file gives the plain file's store."""
    from gwas.ingest import sources

    rng = np.random.default_rng(2)
    body = []
    for i in range(400):
        alt = "C,G" if i % 7 == 0 else "T"
        calls = "\t".join(rng.choice(["0|1:0.9,0.1", "1/1:.,1", "./.:1.5,0", "0|0:0,0"]) if i % 7 == 0 else
                          rng.choice(["0|1:0.9", "1/1:.", "./.:1.5", "0|0:0"]) for _ in range(3))
        body.append(f"{'X' if i > 300 else '1'}\t{100 + i // 2}\trs{i}\tA\t{alt}\t.\t.\t.\tGT:DS\t{calls}"
                    + ("\r\n" if i % 5 == 0 else "\n") + ("\n" if i % 11 == 0 else ""))
    text = HEAD + "".join(body)
    (tmp_path / "p.vcf").write_text(text)
    _bgzip(tmp_path / "b.vcf.gz", text.encode())
    ingest([tmp_path / "p.vcf"], tmp_path / "sp", variants_chunk=64)
    monkeypatch.setattr(bgzf, "BATCH_BYTES", 700)
    monkeypatch.setattr(sources, "SUB_BLOCK_GENOTYPES", 3 * 17)
    ingest([tmp_path / "b.vcf.gz"], tmp_path / "sb", variants_chunk=64, threads=2)
    a, b = GenotypeStore(tmp_path / "sp"), GenotypeStore(tmp_path / "sb")
    np.testing.assert_array_equal(a.dosage(), b.dosage())
    np.testing.assert_array_equal(a.genotypes(), b.genotypes())
    va, vb = a.variants(), b.variants()
    for col in ("alt", "position", "alt_frequency", "call_rate", "info"):
        np.testing.assert_array_equal(np.asarray(va[col]), np.asarray(vb[col]))


@pytest.mark.parametrize("body,pattern", [
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n1\t3\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n",
     r"b\.vcf\.gz:6: position 3 after 5 on 1: the file is not sorted"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n2\t3\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n"
     "1\t9\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n", r"b\.vcf\.gz:7: contig 1 appears again"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n1\tfive\t.\tA\tC\t.\t.\n",
     r"b\.vcf\.gz:6: POS 'five' is not an integer"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n1\t6\t.\tA\n", r"b\.vcf\.gz:6: record has 4 tab-separated columns"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n1\t6\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/x\t1/1\n",
     r"b\.vcf\.gz:6: cannot parse the call of sample column 2"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n1\t6\t.\tA\tC\t.\t.\t.\tGQ\t1\t1\t1\n",
     r"b\.vcf\.gz:6: FORMAT 'GQ' has neither GT nor DS"),
])
def test_bad_bgzipped_vcf_names_file_and_line(tmp_path, body, pattern):
    _bgzip(tmp_path / "b.vcf.gz", (HEAD + body).encode())
    with pytest.raises(InputError, match=pattern):
        ingest([tmp_path / "b.vcf.gz"], tmp_path / "s")
    assert not (tmp_path / "s" / "_SUCCESS").exists()


@pytest.mark.parametrize("with_ds", [False, True])
def test_fast_biallelic_path_equals_general_path(with_ds):
    """Records the one-pass path takes, and odd ones it hands back, give what parse_samples and
    the NumPy split give."""
    rng = np.random.default_rng(13)
    shapes = ["0|1", "1/1", "./.", ".|1", "0|0:", "0|1:0.25", "1/0:.", "1|1:1.5e0:0.1,0.2,0.7", "0/1::x",
              "0/1/1", "0", "10|1", "0|1:0.2,0.3", "0|2", "0|1:abc", "0|1\t"]
    n = 5
    for _ in range(60):
        cols = list(rng.choice(shapes[:8] if rng.random() < 0.5 else shapes, n))
        body = "\t".join(cols)
        line = np.frombuffer(body.encode(), dtype=np.uint8)
        gt, ph, ds, bad = np.empty((n, 2), np.int16), np.empty(n, bool), np.empty((n, 1)), np.zeros(1, np.int64)
        code = parse_samples(line, 0, n, 0, 1 if with_ds else -1, 1, gt, ph, ds, bad)
        out = [np.zeros((1, n, 2), np.int8), np.zeros((1, n), bool), np.zeros((1, n)), np.zeros((1, n), np.int8)]
        err = np.zeros(3, np.int64)
        rc = vrec.parse_records(line, np.array([0]), np.array([len(line)]), np.array([0]),
                                np.array([1 if with_ds else -1]), np.array([1]), np.array([True]), np.array([0]), n,
                                *out, err)
        if code < 0 or bad[0]:
            assert rc == 1 and err[0] == 0
            continue
        assert rc == 0, body
        for a, b in zip(out, vrec.split_reference(gt, ph, ds if with_ds else None, 0, 1)):
            np.testing.assert_array_equal(a[0], b, err_msg=body)
        fast = [np.zeros((n, 2), np.int8), np.zeros(n, bool), np.zeros(n), np.zeros(n, np.int8)]
        if vrec.fast_biallelic.py_func(line, 0, n, with_ds, *fast):
            for a, b in zip(fast, out):
                np.testing.assert_array_equal(a, b[0], err_msg=body)


def test_ds_table_equals_parse_float_on_every_text_it_serves():
    """The fast DS path's table holds, bit for bit, what _parse_float (compiled and plain Python)
    gives for every text 'D', 'D.d', 'D.dd' and 'D.ddd' (and the same keys with fewer decimals)."""
    from gwas.io.vcf.parse import _parse_float

    texts = [(str(d), d * 1000) for d in range(10)]
    for k, f in ((1, 100), (2, 10), (3, 1)):
        texts += [(f"{d}.{x:0{k}d}", d * 1000 + x * f) for d in range(10) for x in range(10 ** k)]
    for text, key in texts:
        line = np.frombuffer(text.encode(), dtype=np.uint8)
        for fn in (_parse_float, _parse_float.py_func):
            v, ok = fn(line, 0, len(line))
            assert ok and np.float64(v).tobytes() == vrec.DS_TABLE[key].tobytes(), (text, v, vrec.DS_TABLE[key])


@pytest.mark.parametrize("gp", ["", ":0.1,0.2,0.7", ":.", ":"])
def test_fast_ds_forms_equal_general_path(gp):
    """DS texts the table serves and ones it must leave to _parse_float (signs, exponents, long
    decimals, 'D.', '.', empty, lists): the one-pass path (compiled and plain Python) writes the bytes
    the general path writes, or hands the record back."""
    forms = ["0", "2", "1", "1.0", "0.5", "0.50", "0.500", "0.123", "9.999", "2.000", "1e-3", "1E+0", ".", "-0",
             "-0.5", "+0.5", "+1", "0.", "1.", "00.5", "0.1234", "0.12345678", "1234567.891", "1.5e0", "", "0.5,0.1"]
    n = len(forms)
    rng = np.random.default_rng(5)
    for trial in range(8):
        order = forms if trial == 0 else list(rng.permutation(forms))
        gts = ["0|1", "1/1", "./.", ".|0"]
        cols = [f"{gts[s % 4]}:{ds}{gp}" for s, ds in enumerate(order)]
        if trial % 2:
            cols = [c for c in cols if not c.split(":")[1].count(",")]  # no DS list: every column one value
        body = "\t".join(cols)
        m = len(cols)
        line = np.frombuffer(body.encode(), dtype=np.uint8)
        gt, ph, ds, bad = np.empty((m, 2), np.int16), np.empty(m, bool), np.empty((m, 1)), np.zeros(1, np.int64)
        code = parse_samples(line, 0, m, 0, 1, 1, gt, ph, ds, bad)
        want = vrec.split_reference(gt, ph, ds, 0, 1) if code == 0 and not bad[0] else None
        for fn in (vrec.parse_records, vrec.parse_records.py_func):
            out = [np.zeros((1, m, 2), np.int8), np.zeros((1, m), bool), np.zeros((1, m)), np.zeros((1, m), np.int8)]
            err = np.zeros(3, np.int64)
            rc = fn(line, np.array([0]), np.array([len(line)]), np.array([0]), np.array([1]), np.array([1]),
                    np.array([True]), np.array([0]), m, *out, err)
            if want is None:
                assert rc == 1 and err[0] == 0 and err[1] == vrec.ERR_CALL
                continue
            assert rc == 0, body
            for a, b in zip(out, want):
                assert a[0].tobytes() == np.ascontiguousarray(b).astype(a.dtype).tobytes(), body
        for fast_fn in (vrec.fast_biallelic, vrec.fast_biallelic.py_func):
            fast = [np.zeros((m, 2), np.int8), np.zeros(m, bool), np.zeros(m), np.zeros(m, np.int8)]
            if fast_fn(line, 0, m, True, *fast):
                assert want is not None, body
                for a, b in zip(fast, want):
                    assert a.tobytes() == np.ascontiguousarray(b).astype(a.dtype).tobytes(), body
