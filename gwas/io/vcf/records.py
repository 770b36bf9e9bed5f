"""Numba kernels over many VCF text records at once (one call per batch, not per record).

* :func:`scan_heads` - the planning pass: per line its start, CHROM end, POS and ALT count.
* :func:`record_tabs` - where the first nine columns of each record end.
* :func:`parse_records` - the sample columns of many records (:func:`gwas.io.vcf.parse.parse_samples`
  per record) split into biallelic rows: genotype codes, phase, dosage and ploidy per row.

Each kernel runs as plain Python through ``.py_func``; the NumPy reference of the row split is
:func:`split_reference` (the per-record conversion it replaced). Positions are byte offsets in the
text buffer; allele codes: -1 missing, -2 fill (haploid call); dosage NaN = missing.
"""

import numba
import numpy as np

from gwas.io.vcf.parse import _parse_float, parse_samples

TAB, NEWLINE, CR, COMMA, DOT = 9, 10, 13, 44, 46
#: scan_heads flags: a record, a blank line, a line the fast scan leaves to Python (odd POS, few columns)
HEAD_RECORD, HEAD_BLANK, HEAD_OTHER = 0, 1, 2
#: parse_records error kinds (err[1]); err[0] = record, err[2] = sample column (1-based)
ERR_COLUMNS, ERR_CALL, ERR_PLOIDY, ERR_HAPLOID = 1, 2, 3, 4


@numba.njit(cache=True, nogil=True)
def _is_space(c):
    return c == 32 or c == TAB or c == CR or c == NEWLINE or c == 11 or c == 12


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)


def _ds_table() -> np.ndarray:
    """DS values of the texts 'D', 'D.d', 'D.dd' and 'D.ddd' (D, d digits) at ``D * 1000 + ddd`` (fewer
    decimals padded with zeros: adding ``0 * scale`` leaves the sum unchanged), computed with the very
    operations of :func:`gwas.io.vcf.parse._parse_float` in the same order (``0.0 * 10.0 + D``, then
    ``val += d * scale; scale *= 0.1`` per decimal, then ``1.0 * val``); tests/io/test_bulk_vcf.py checks
    every entry against ``_parse_float`` on every such text."""
    key = np.arange(10_000)
    val = 0.0 * 10.0 + (key // 1000).astype(np.float64)
    scale = 0.1
    for d in (key // 100 % 10, key // 10 % 10, key % 10):
        val = val + d.astype(np.float64) * scale
        scale *= 0.1
    return 1.0 * val


#: :func:`_ds_table`, the fast path of :func:`fast_biallelic` for DS with at most three decimals
DS_TABLE = _ds_table()


def words_of(buf: np.ndarray) -> np.ndarray:
    """The whole 8-byte words of a uint8 buffer, as uint64 (no copy), for :func:`next_newline`."""
    return buf[: len(buf) // 8 * 8].view(np.uint64)


@numba.njit(cache=True, nogil=True)
def next_newline(buf, words, i, stop):
    """Offset of the first newline in ``buf[i:stop]`` (``stop`` if none), eight bytes per step
    (``words`` = :func:`words_of` ``(buf)``; little-endian word test for a zero byte after XOR)."""
    while i < stop and i & 7:
        if buf[i] == NEWLINE:
            return i
        i += 1
    while i + 8 <= stop:
        x = words[i >> 3] ^ _NEWLINES
        if (x - _ONES) & ~x & _HIGHS:
            break
        i += 8
    while i < stop:
        if buf[i] == NEWLINE:
            return i
        i += 1
    return stop


@numba.njit(cache=True, nogil=True)
def last_newline(buf, start, stop):
    """Offset of the last newline in ``buf[start:stop]``, or -1."""
    i = stop - 1
    while i >= start:
        if buf[i] == NEWLINE:
            return i
        i -= 1
    return -1


@numba.njit(cache=True, nogil=True)
def scan_heads(buf, words, start, stop, line_start, flag, chrom_end, pos, n_alt, new_chrom):
    """Scan the complete lines of ``buf[start:stop]`` (``stop`` just after a newline, or the buffer end).

    Per line i: ``line_start`` (offset), ``flag`` (HEAD_*), and for records ``chrom_end`` (offset of
    the first tab), ``pos`` (POS, digits only), ``n_alt`` (ALT entries, 1 for '.') and ``new_chrom``
    (1 when CHROM differs from the previous record's in this call). Stops after ``len(line_start)``
    lines; returns (lines scanned, offset where the next line starts).
    """
    i = start
    n = 0
    prev_c0 = -1
    prev_c1 = -1
    while i < stop and n < len(line_start):
        e = next_newline(buf, words, i, stop)
        line_start[n] = i
        blank = True
        for q in range(i, e):
            if not _is_space(buf[q]):
                blank = False
                break
        if blank:
            flag[n] = HEAD_BLANK
        else:
            flag[n] = HEAD_OTHER
            tabs = np.empty(5, np.int64)
            k = 0
            q = i
            while q < e and k < 5:
                if buf[q] == TAB:
                    tabs[k] = q
                    k += 1
                q += 1
            if k == 5 and tabs[1] > tabs[0] + 1:
                v = 0
                ok = True
                for q in range(tabs[0] + 1, tabs[1]):
                    c = np.int64(buf[q])
                    if c < 48 or c > 57 or v > 100_000_000_000:
                        ok = False
                        break
                    v = v * 10 + (c - 48)
                if ok:
                    flag[n] = HEAD_RECORD
                    chrom_end[n] = tabs[0]
                    pos[n] = v
                    a0, a1 = tabs[3] + 1, tabs[4]
                    if a1 - a0 == 1 and buf[a0] == DOT:
                        n_alt[n] = 1
                    else:
                        c = 1
                        for q in range(a0, a1):
                            if buf[q] == COMMA:
                                c += 1
                        n_alt[n] = c
                    same = prev_c0 >= 0 and prev_c1 - prev_c0 == tabs[0] - i
                    if same:
                        for q in range(tabs[0] - i):
                            if buf[prev_c0 + q] != buf[i + q]:
                                same = False
                                break
                    new_chrom[n] = 0 if same else 1
                    prev_c0, prev_c1 = i, tabs[0]
        n += 1
        i = e + 1
    return n, i


@numba.njit(cache=True, nogil=True)
def record_tabs(buf, words, starts, tabs, ends):
    """For the record starting at each ``starts[r]``: offsets of its first nine tabs in ``tabs[r]``
    (-1 where the line has fewer) and of its end (newline or buffer end, before a '\\r') in ``ends[r]``."""
    n = len(buf)
    for r in range(len(starts)):
        k = 0
        q = starts[r]
        while q < n and buf[q] != NEWLINE and k < 9:
            if buf[q] == TAB:
                tabs[r, k] = q
                k += 1
            q += 1
        q = next_newline(buf, words, q, n)
        for j in range(k, 9):
            tabs[r, j] = -1
        ends[r] = q - 1 if q > starts[r] and buf[q - 1] == CR else q


@numba.njit(cache=True, nogil=True)
def split_row(gt, phased, ds, has_ds, j, n_alt, g_out, ph_out, dosage_out, ploidy_out):
    """Row of ALT ``j`` (0-based) of a record with ``n_alt`` ALTs: codes 1 for ALT j, 0 for REF and
    other ALTs, negatives kept; dosage = DS of ALT j where given, else the count of ALT j (NaN when a
    code is missing); ploidy 1 where the second code is the fill (-2)."""
    for s in range(gt.shape[0]):
        miss = False
        count = 0
        for h in range(2):
            c = gt[s, h]
            if n_alt == 1:
                g = c
            elif c == j + 1:
                g = 1
            elif c < 0:
                g = c
            else:
                g = 0
            g_out[s, h] = g
            if c == -1:
                miss = True
            if g == 1:
                count += 1
        ph_out[s] = phased[s]
        ploidy_out[s] = 1 if gt[s, 1] == -2 else 2
        hard = np.nan if miss else float(count)
        if has_ds and not np.isnan(ds[s, j]):
            dosage_out[s] = ds[s, j]
        else:
            dosage_out[s] = hard


@numba.njit(cache=True, nogil=True)
def fast_biallelic(line, start, n_samples, has_ds, g_out, ph_out, dosage_out, ploidy_out):
    """The common biallelic record in one pass: every sample column starts with a diploid GT of
    single-digit codes 0/1 or '.' ('a|b', 'a/b'), then (``has_ds``: FORMAT GT:DS...) ':' and one DS value
    or nothing. Writes the row as :func:`parse_samples` then :func:`split_row` would; returns False
    (outputs partly written) at the first column of another shape, for the general path to redo.
    One inlined copy of the loop per ``has_ds`` (a constant there), so the GT-only loop stays small."""
    if has_ds:
        return _fast_columns(line, start, n_samples, True, g_out, ph_out, dosage_out, ploidy_out)
    return _fast_columns(line, start, n_samples, False, g_out, ph_out, dosage_out, ploidy_out)


@numba.njit(inline="always")
def _fast_columns(line, start, n_samples, has_ds, g_out, ph_out, dosage_out, ploidy_out):
    """The loop of :func:`fast_biallelic`."""
    n = len(line)
    while n > 0 and (line[n - 1] == NEWLINE or line[n - 1] == CR):
        n -= 1
    i = start
    for s in range(n_samples):
        if i + 3 > n:
            return False
        a, sep, b = line[i], line[i + 1], line[i + 2]
        if sep == 124:
            ph = True
        elif sep == 47:
            ph = False
        else:
            return False
        if a == DOT:
            ca = -1
        elif a == 48 or a == 49:
            ca = a - 48
        else:
            return False
        if b == DOT:
            cb = -1
        elif b == 48 or b == 49:
            cb = b - 48
        else:
            return False
        i += 3
        if i < n and line[i] != TAB and line[i] != 58:
            return False
        miss = ca == -1 or cb == -1
        e = np.nan if miss else float((1 if ca == 1 else 0) + (1 if cb == 1 else 0))
        if has_ds and i < n and line[i] == 58:
            # DS 'D', 'D.d', 'D.dd' or 'D.ddd' then a tab, ':' or the end: the value from DS_TABLE
            q = i + 1
            key = -1
            if q < n and 48 <= line[q] <= 57:
                key = (np.int64(line[q]) - 48) * 1000
                q += 1
                if q < n and line[q] == DOT:
                    q += 1
                    f = 100
                    while f and q < n and 48 <= line[q] <= 57:
                        key += (np.int64(line[q]) - 48) * f
                        f //= 10
                        q += 1
                    if f == 100:  # 'D.': left to _parse_float
                        key = -1
                if q < n and line[q] != TAB and line[q] != 58:
                    key = -1
            if key >= 0:
                e = DS_TABLE[key]
            else:
                q = i + 1
                while q < n and line[q] != TAB and line[q] != 58:
                    if line[q] == COMMA:
                        return False
                    q += 1
                v, ok = _parse_float(line, i + 1, q)
                if not ok:
                    return False
                if not np.isnan(v):
                    e = v
            i = q
        while i < n and line[i] != TAB:
            i += 1
        g_out[s, 0] = ca
        g_out[s, 1] = cb
        ph_out[s] = ph
        ploidy_out[s] = 2
        dosage_out[s] = e
        i += 1
    return i > n


@numba.njit(cache=True, nogil=True)
def parse_records(buf, sample_start, ends, gt_index, ds_index, n_alt, haploid_ok, row0, n_samples,
                  gts, phs, dosage, ploidy, err):
    """Parse the sample columns of records r (from ``sample_start[r]`` to ``ends[r]``) and write the
    rows ``row0[r] + j`` (ALT j) that fall inside ``gts`` (rows, samples, 2) int8, ``phs`` bool,
    ``dosage`` float64 and ``ploidy`` int8. On the first bad record stop and fill ``err`` with
    (record, ERR_* kind, sample column 1-based); returns 0, or 1 after an error."""
    m = gts.shape[0]
    max_alt = 1
    for r in range(len(n_alt)):
        max_alt = max(max_alt, n_alt[r])
    gt = np.empty((n_samples, 2), np.int16)
    phased = np.empty(n_samples, np.bool_)
    ds = np.empty((n_samples, max_alt), np.float64)
    bad = np.zeros(1, np.int64)
    for r in range(len(n_alt)):
        k = n_alt[r]
        v = row0[r]
        if (n_samples and k == 1 and gt_index[r] == 0 and ds_index[r] <= 1 and ds_index[r] != 0 and 0 <= v < m
                and fast_biallelic(buf[:ends[r]], sample_start[r], n_samples, ds_index[r] == 1, gts[v], phs[v],
                                   dosage[v], ploidy[v])):
            continue
        if n_samples:
            line = buf[:ends[r]]
            code = parse_samples(line, sample_start[r], n_samples, gt_index[r], ds_index[r], k, gt, phased, ds, bad)
            if code == -(n_samples + 1):
                err[0], err[1], err[2] = r, ERR_COLUMNS, 0
                return 1
            if code < 0:
                err[0], err[1], err[2] = r, ERR_CALL, -code
                return 1
            if bad[0]:
                err[0], err[1], err[2] = r, ERR_PLOIDY, bad[0]
                return 1
            if gt_index[r] < 0:
                for s in range(n_samples):
                    gt[s, 0] = -1
                    gt[s, 1] = -1
                    phased[s] = False
            elif not haploid_ok[r]:
                for s in range(n_samples):
                    if gt[s, 1] == -2:
                        err[0], err[1], err[2] = r, ERR_HAPLOID, s + 1
                        return 1
        for j in range(k):
            v = row0[r] + j
            if 0 <= v < m:
                split_row(gt, phased, ds, ds_index[r] >= 0, j, k, gts[v], phs[v], dosage[v], ploidy[v])
    return 0


def split_reference(gt: np.ndarray, phased: np.ndarray, ds: np.ndarray | None, j: int, n_alt: int):
    """NumPy reference of :func:`split_row`: (codes int8 (n, 2), phased, dosage float64, ploidy int8)."""
    if n_alt == 1:
        g = gt.astype(np.int8)
    else:
        g = np.where(gt == j + 1, 1, np.where(gt < 0, gt, 0)).astype(np.int8)
    any_missing = (gt[:, 0] == -1) | (gt[:, 1] == -1)
    hard = np.where(any_missing, np.nan, (g == 1).sum(1, dtype=np.int64).astype(np.float64))
    e = hard if ds is None else np.where(np.isnan(ds[:, j]), hard, ds[:, j])
    return g, phased.copy(), e, np.where(gt[:, 1] == -2, 1, 2).astype(np.int8)
