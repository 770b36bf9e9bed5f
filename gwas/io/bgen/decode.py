"""Numba kernels that turn a decompressed BGEN probability block into numbers.

Each kernel is a plain function under ``numba.njit`` (call ``.py_func`` for the pure-Python
version; tests compare the two and a NumPy reference).

Conventions (BGEN spec v1.2, layout 2):

* Stored values are unsigned B-bit integers packed least-significant-bit first; a value ``v``
  means probability ``v / (2^B - 1)``.
* Unphased sample with ploidy Z and K alleles: probabilities of the C(Z+K-1, K-1) genotypes in
  colex order of the sorted allele tuples (for Z=2: 11, 12, 22, 13, 23, 33, ...); the last is
  implied (1 - sum of the others).
* Phased sample: for each of its Z haplotypes, K probabilities (the last implied).
* Missing samples (ploidy byte bit 7) still occupy their stored values, written as zeros.
"""

import numba
import numpy as np

#: values held per sample by :func:`biallelic_block` (ploidy at most 63, +1 implied value)
MAX_BITS_VALUES = 64


@numba.njit(cache=True, nogil=True)
def decode_layout2(data, n_samples, n_alleles, ploidy, missing, phased, bits, n_comb_table, probs):
    """Fill ``probs`` (n_samples, width) float64 with per-sample probabilities, NaN past each sample's count.

    ``data`` is the probability block after its 10 + N byte preamble (position 0 = first packed value).
    ``n_comb_table[z]`` = number of unphased genotypes for ploidy z. Missing samples get NaN throughout.
    """
    scale = float((np.uint64(1) << np.uint64(bits)) - np.uint64(1))
    tmp = np.empty(probs.shape[1] + 1, dtype=np.float64)
    bitpos = 0
    width = probs.shape[1]
    for s in range(n_samples):
        z = ploidy[s]
        if phased:
            n_groups = z
            group = n_alleles
        else:
            n_groups = 1
            group = n_comb_table[z]
        for j in range(width):
            probs[s, j] = np.nan
        col = 0
        for g in range(n_groups):
            total = 0.0
            for k in range(group - 1):
                byte = bitpos >> 3
                shift = bitpos & 7
                acc = np.uint64(0)
                need = (shift + bits + 7) >> 3
                for b in range(need):
                    acc |= np.uint64(data[byte + b]) << np.uint64(8 * b)
                v = float((acc >> np.uint64(shift)) & ((np.uint64(1) << np.uint64(bits)) - np.uint64(1))) / scale
                tmp[k] = v
                total += v
                bitpos += bits
            tmp[group - 1] = 1.0 - total
            if not missing[s]:
                for k in range(group):
                    probs[s, col + k] = tmp[k]
            col += group
    return (bitpos + 7) >> 3


@numba.njit(cache=True, nogil=True)
def decode_layout1(values, n_samples, probs):
    """Layout 1: three uint16 probabilities per sample divided by 32768; all-zero means missing (NaN)."""
    for s in range(n_samples):
        a = values[3 * s] / 32768.0
        b = values[3 * s + 1] / 32768.0
        c = values[3 * s + 2] / 32768.0
        if a == 0.0 and b == 0.0 and c == 0.0:
            probs[s, 0] = np.nan
            probs[s, 1] = np.nan
            probs[s, 2] = np.nan
        else:
            probs[s, 0] = a
            probs[s, 1] = b
            probs[s, 2] = c


@numba.njit(cache=True, nogil=True)
def allele_dosages(probs, ploidy, phased, n_alleles, counts_by_ploidy, offsets_by_ploidy, out):
    """Expected count of each non-first allele: ``out`` (n_samples, n_alleles - 1) float64, NaN if missing.

    Unphased: sum over genotypes of P(genotype) x (copies of allele a in it); the genotype-by-allele
    count matrix for ploidy z sits at rows ``offsets_by_ploidy[z]`` .. of ``counts_by_ploidy``.
    Phased: sum over haplotypes of P(haplotype carries allele a).
    """
    for s in range(probs.shape[0]):
        z = ploidy[s]
        if np.isnan(probs[s, 0]):
            for a in range(n_alleles - 1):
                out[s, a] = np.nan
            continue
        for a in range(1, n_alleles):
            d = 0.0
            if phased:
                for h in range(z):
                    d += probs[s, h * n_alleles + a]
            else:
                base = offsets_by_ploidy[z]
                n_g = offsets_by_ploidy[z + 1] - base
                for g in range(n_g):
                    d += probs[s, g] * counts_by_ploidy[base + g, a]
            out[s, a - 1] = d


@numba.njit(cache=True, nogil=True)
def biallelic_moments(probs, ploidy, phased, out_dosage, out_square):
    """Biallelic fast path: E[g] and E[g^2] of the ALT allele count per sample (NaN when missing).

    Unphased diploid: P(0,1,2 ALT copies) = probs[:,0..2]; haploid: P(0,1) = probs[:,0..1].
    Phased: haplotypes independent given the data, so E[g] = sum of P(ALT) per haplotype and
    E[g^2] = E[g]^2 + sum p_h (1 - p_h).
    """
    for s in range(probs.shape[0]):
        if np.isnan(probs[s, 0]):
            out_dosage[s] = np.nan
            out_square[s] = np.nan
            continue
        z = ploidy[s]
        if phased:
            e = 0.0
            v = 0.0
            for h in range(z):
                p = probs[s, 2 * h + 1]
                e += p
                v += p * (1.0 - p)
            out_dosage[s] = e
            out_square[s] = e * e + v
        else:
            e = 0.0
            f = 0.0
            for g in range(z + 1):
                e += g * probs[s, g]
                f += g * g * probs[s, g]
            out_dosage[s] = e
            out_square[s] = f


@numba.njit(cache=True, nogil=True)
def biallelic_header(buf, n_samples):
    """Checks of a decompressed biallelic layout-2 block's preamble and ploidy bytes (BGEN spec:
    N, K = 2, min/max ploidy, ploidy bytes, phased flag, bits, length): ``(phased, bits, pmin,
    pmax)``, or bits = 0 when the block is invalid or not biallelic."""
    n = n_samples
    if len(buf) < 10 + n:
        return 0, 0, 0, 0
    n_block = np.int64(buf[0]) | (np.int64(buf[1]) << 8) | (np.int64(buf[2]) << 16) | (np.int64(buf[3]) << 24)
    k = np.int64(buf[4]) | (np.int64(buf[5]) << 8)
    pmin, pmax = np.int64(buf[6]), np.int64(buf[7])
    phased, bits = np.int64(buf[8 + n]), np.int64(buf[9 + n])
    if n_block != n or k != 2 or phased > 1 or bits < 1 or bits > 32 or pmax > MAX_BITS_VALUES - 1:
        return 0, 0, 0, 0
    total_values = 0
    outside = False
    for s in range(n):  # no early exit: a loop the compiler vectorises
        z = np.int64(buf[8 + s] & 0x3F)
        outside |= (z < pmin) | (z > pmax)
        total_values += z  # biallelic: z values per sample, phased or not
    if outside or 10 + n + (total_values * bits + 7) // 8 > len(buf):
        return 0, 0, 0, 0
    return phased, bits, pmin, pmax


@numba.njit(cache=True, nogil=True)
def probability_table(bits):
    """float64 (256,): an 8-bit value v -> probability v / (2^bits - 1) (used for ``bits == 8``)."""
    scale = float((np.uint64(1) << np.uint64(bits)) - np.uint64(1))
    lut = np.empty(256, dtype=np.float64)
    for v in range(256):
        lut[v] = float(v) / scale
    return lut


@numba.njit(cache=True, nogil=True)
def diploid_moments(p0, p1, ref_last=False):
    """E[g] and E[g^2] of an unphased diploid sample's ALT count from the stored P(0) and P(1) copies
    of the second allele (P(2) implied), with the general arithmetic's exact result: total = (0 + p0)
    + p1, e = ((0 + 0 p0) + 1 p1) + 2 p2 = p1 + 2 p2, f = p1 + 4 p2. ``ref_last``: the second allele
    is REF, so the ALT count is 2 - g and the probabilities are read mirrored (p2, p1, p0): e = p1 +
    2 p0, f = p1 + 4 p0."""
    if ref_last:
        return p1 + 2.0 * p0, p1 + 4.0 * p0
    p2 = 1.0 - (p0 + p1)
    return p1 + 2.0 * p2, p1 + 4.0 * p2


@numba.njit(cache=True, nogil=True)
def biallelic_block(buf, n_samples, dosage, square, ploidy_out, ref_last=False):
    """One biallelic layout-2 variant: its decompressed probability block ``buf`` -> ``dosage`` and
    ``square`` (float64 (n_samples,): E[g] and E[g^2] of the ALT count, NaN when missing) and
    ``ploidy_out`` (int8), with exactly the arithmetic of :func:`decode_layout2` then
    :func:`biallelic_moments`. Returns False, leaving the outputs partly written, when the block is
    invalid or not biallelic (the caller re-reads it the checked way, which names the fault).
    ``ref_last``: the second allele is REF and the first ALT: each sample's probabilities are read
    mirrored (unphased: P(g) <- P(z - g) for its own ploidy z; phased: each haplotype's two swapped),
    as :func:`gwas.io.bgen.reader.ref_last` does before :func:`biallelic_moments`."""
    n = n_samples
    phased, bits, _, _ = biallelic_header(buf, n)
    if bits == 0:
        return False
    tmp = np.empty(MAX_BITS_VALUES, dtype=np.float64)
    values = buf[10 + n:]
    scale = float((np.uint64(1) << np.uint64(bits)) - np.uint64(1))
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    lut = probability_table(bits)  # 8 bits: value -> probability, the same division done once
    bitpos = 0
    for s in range(n):
        z = np.int64(buf[8 + s] & 0x3F)
        missing = (buf[8 + s] & 0x80) != 0
        ploidy_out[s] = z
        if bits == 8 and z == 2 and not phased:  # the common case
            e, f = diploid_moments(lut[values[bitpos >> 3]], lut[values[(bitpos >> 3) + 1]], ref_last)
            bitpos += 16
            dosage[s] = np.nan if missing else e
            square[s] = np.nan if missing else f
            continue
        total = 0.0
        e = 0.0
        f = 0.0
        var = 0.0
        for h in range(z):
            byte = bitpos >> 3
            if bits == 8:  # whole bytes: the same integer, read directly
                tmp[h] = lut[values[byte]]
            else:
                shift = bitpos & 7
                acc = np.uint64(0)
                for b in range((shift + bits + 7) >> 3):
                    acc |= np.uint64(values[byte + b]) << np.uint64(8 * b)
                tmp[h] = float((acc >> np.uint64(shift)) & mask) / scale
            bitpos += bits
        if missing or (phased and z == 0):
            dosage[s] = np.nan
            square[s] = np.nan
            continue
        if phased:
            for h in range(z):
                p = tmp[h] if ref_last else 1.0 - (0.0 + tmp[h])
                e += p
                var += p * (1.0 - p)
            dosage[s] = e
            square[s] = e * e + var
        else:
            for h in range(z):
                total += tmp[h]
            tmp[z] = 1.0 - total
            for g in range(z + 1):
                t = tmp[z - g] if ref_last else tmp[g]
                e += g * t
                f += g * g * t
            dosage[s] = e
            square[s] = f
    return True
