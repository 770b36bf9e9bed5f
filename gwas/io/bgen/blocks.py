"""Numba kernels over many BGEN variant blocks held in one byte buffer: the header walk (where
each block's identifiers, alleles and genotype data lie) and the fused biallelic conversion
(decompress - zlib through libdeflate, :mod:`gwas.io.inflate` - decode, per-variant statistics and
the store's uint16 dosage code, no Python per variant; an 8-bit unphased all-diploid block, the
usual imputed form, in a single pass over its samples with store codes from a table). Plain
functions under ``numba.njit``: ``.py_func`` runs them as Python. Costs on 8-bit BGEN at 10,000
samples (one core, CPU ns per genotype): inflation about 2.3, the rest about 2.

A kernel that meets anything unexpected stops and reports the record's index; the caller then
re-reads that record with :class:`gwas.io.bgen.reader.BgenFile`'s checked path, which either
names the fault (file, variant, byte) or decodes a valid record the kernels do not cover.
"""

import numba
import numpy as np

from gwas.io import inflate
from gwas.io.bgen.decode import biallelic_block, biallelic_header, diploid_moments, probability_table
from gwas.store.dosage_kernel import encode_one
from gwas.store.stats import INFO_IMPUTE, row_stats, stats_from_sums

#: columns of the header table filled by :func:`walk_headers`; offsets index the buffer; string
#: fields hold (start, length); A1 is (-1, 0) for a one-allele variant; DATA = where the genotype
#: data field starts (its 4-byte length, or the raw values of an uncompressed layout-1 block)
H_START, H_ID, H_ID_LEN, H_RSID, H_RSID_LEN, H_CHROM, H_CHROM_LEN, H_POS, H_K = range(9)
H_A0, H_A0_LEN, H_A1, H_A1_LEN, H_DATA, H_END = range(9, 15)
N_FIELDS = 15


@numba.njit(cache=True, nogil=True)
def _u32(buf, p):
    return (np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16)
            | (np.int64(buf[p + 3]) << 24))


@numba.njit(cache=True, nogil=True)
def _u16(buf, p):
    return np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8)


@numba.njit(cache=True, nogil=True)
def walk_headers(buf, start, n_max, layout, compression, n_samples, out):
    """Parse up to ``n_max`` consecutive variant blocks from ``buf[start]`` (BGEN spec, variant data
    block; ``compression`` 0 none, 1 zlib, 2 zstd) into rows of ``out`` (int64 (n_max, N_FIELDS)).
    Returns how many blocks were parsed whole: fewer than ``n_max`` when the buffer ends or a block
    is malformed (layout 1 with another sample count, no alleles, a field past the buffer's end)."""
    n = len(buf)
    p = start
    for i in range(n_max):
        out[i, H_START] = p
        if layout == 1:
            if p + 4 > n or _u32(buf, p) != n_samples:
                return i
            p += 4
        for j in range(3):  # variant id, rsid, chromosome
            if p + 2 > n:
                return i
            ln = _u16(buf, p)
            out[i, H_ID + 2 * j] = p + 2
            out[i, H_ID_LEN + 2 * j] = ln
            p += 2 + ln
        if p + 4 > n:
            return i
        out[i, H_POS] = _u32(buf, p)
        p += 4
        k = 2
        if layout != 1:
            if p + 2 > n:
                return i
            k = _u16(buf, p)
            p += 2
            if k < 1:
                return i
        out[i, H_K] = k
        out[i, H_A1] = -1
        out[i, H_A1_LEN] = 0
        for a in range(k):
            if p + 4 > n:
                return i
            ln = _u32(buf, p)
            if a < 2:
                out[i, H_A0 + 2 * a] = p + 4
                out[i, H_A0_LEN + 2 * a] = ln
            p += 4 + ln
        if layout == 1 and compression == 0:
            end = p + 6 * n_samples
        else:
            if p + 4 > n:
                return i
            end = p + 4 + _u32(buf, p)
        if end > n:
            return i
        out[i, H_DATA] = p
        out[i, H_END] = end
        p = end
    return n_max


@numba.njit(cache=True, nogil=True)
def _diploid8_codes(lut, ref_last=False):
    """uint16 (65536,): the store code of an 8-bit unphased diploid sample stored as values (v0, v1),
    at ``v0 * 256 + v1`` (``lut``: :func:`gwas.io.bgen.decode.probability_table` (8); ``ref_last``
    as :func:`gwas.io.bgen.decode.diploid_moments`)."""
    table = np.empty(65536, dtype=np.uint16)
    for v0 in range(256):
        for v1 in range(256):
            table[v0 * 256 + v1] = encode_one(diploid_moments(lut[v0], lut[v1], ref_last)[0])
    return table


@numba.njit(cache=True, nogil=True)
def _diploid8_row(data, n_samples, lut, table, codes, ref_last=False):
    """A checked (:func:`gwas.io.bgen.decode.biallelic_header`) 8-bit unphased block whose samples
    are all diploid, in one pass: store codes into ``codes`` (from ``table``, :func:`_diploid8_codes`)
    and (allele frequency, call rate, IMPUTE info) with the arithmetic of
    :func:`gwas.io.bgen.decode.biallelic_block` then :func:`gwas.store.stats.row_stats` (the same
    sums in the same order)."""
    values = data[10 + n_samples:]
    n = 0
    se = 0.0
    se2 = 0.0
    sf = 0.0
    for s in range(n_samples):
        v0, v1 = values[2 * s], values[2 * s + 1]
        e, f = diploid_moments(lut[v0], lut[v1], ref_last)
        if data[8 + s] & 0x80:  # missing
            codes[s] = encode_one(np.nan)
            continue
        codes[s] = table[(np.int64(v0) << 8) | np.int64(v1)]
        n += 1
        se += e
        se2 += e * e
        sf += f
    return stats_from_sums(n, n_samples, se, se2, sf, 2 * n, 2.0 * se, 4 * n, INFO_IMPUTE)


@numba.njit(cache=True, nogil=True)
def biallelic_dosages(buf, data_at, compression, fns, n_samples, rows, dosage_out, af, call_rate, info, ploidy_out,
                      ref_last=False):
    """Biallelic layout-2 variants whose genotype data fields start at ``buf[data_at[i]]``: each is
    decompressed (``fns``: :func:`gwas.io.inflate.functions`), decoded by
    :func:`gwas.io.bgen.decode.biallelic_block`, summarised by :func:`gwas.store.stats.row_stats`
    (IMPUTE info) and encoded (:func:`gwas.store.dosage_kernel.encode_one`) into row ``rows[i]`` of
    ``dosage_out`` (uint16 (m, n_samples)), ``af``, ``call_rate``, ``info`` and ``ploidy_out`` (int8
    (m, n_samples), each sample's ploidy) - an 8-bit unphased
    all-diploid block (imputed data's usual form) in one pass by :func:`_diploid8_row`, with the same
    result. The fields must lie inside ``buf`` (as :func:`walk_headers` checks). Returns 0, or i + 1
    for the first variant that cannot be decoded this way (corrupt, or not a biallelic layout-2 block).
    ``ref_last``: the second allele is REF, the first ALT (probabilities read mirrored, see
    :func:`gwas.io.bgen.decode.biallelic_block`)."""
    n_rec = len(rows)
    size = 0
    for i in range(n_rec):
        p = data_at[i]
        c = _u32(buf, p)
        if compression != 0 and c >= 4:
            size = max(size, _u32(buf, p + 4))
    block = np.empty(max(size, 1), dtype=np.uint8)
    e = np.empty(n_samples, dtype=np.float64)
    f = np.empty(n_samples, dtype=np.float64)
    z = np.empty(n_samples, dtype=np.int8)
    lut = probability_table(8)
    table = _diploid8_codes(lut, ref_last)
    base = buf.ctypes.data
    for i in range(n_rec):
        p = data_at[i]
        c = _u32(buf, p)
        if compression == 0:
            data = buf[p + 4:p + 4 + c]
        else:
            if c < 4:
                return i + 1
            size = _u32(buf, p + 4)
            if not inflate.decompress(fns, compression, base + p + 8, c - 4, block.ctypes.data, size):
                return i + 1
            data = block[:size]
        row = rows[i]
        phased, bits, pmin, pmax = biallelic_header(data, n_samples)
        if bits == 8 and phased == 0 and pmin == 2 and pmax == 2:
            af[row], call_rate[row], info[row] = _diploid8_row(data, n_samples, lut, table, dosage_out[row], ref_last)
            ploidy_out[row] = 2
            continue
        if not biallelic_block(data, n_samples, e, f, z, ref_last):
            return i + 1
        af[row], call_rate[row], info[row] = row_stats(e, f, z, INFO_IMPUTE)
        for s in range(n_samples):
            dosage_out[row, s] = encode_one(e[s])
            ploidy_out[row, s] = z[s]
    return 0
