"""Numba kernel parsing the sample columns of one VCF text record (GT and DS subfields).

Runnable as plain Python via ``parse_samples.py_func``. Allele codes: -1 missing ('.'),
-2 fill (no second allele: a haploid call). Floats: '.' or absent -> NaN.
Return value: 0 on success, else ``-(sample index + 1)`` of the first sample that cannot be
parsed, or ``-(n_samples + 1)`` when the line has the wrong number of sample columns.
A call with more than two alleles is reported through ``ploidy_error`` (sample index + 1).
"""

import numba
import numpy as np

TAB, COLON, COMMA, SLASH, PIPE, DOT, NEWLINE = 9, 58, 44, 47, 124, 46, 10


@numba.njit(cache=True, nogil=True)
def _parse_float(line, i, end):
    """Parse a decimal float in line[i:end]; returns (value, ok)."""
    if i >= end or (end - i == 1 and line[i] == DOT):
        return np.nan, True
    sign = 1.0
    if line[i] == 45:  # '-'
        sign = -1.0
        i += 1
    elif line[i] == 43:
        i += 1
    val = 0.0
    digits = 0
    while i < end and 48 <= line[i] <= 57:
        val = val * 10.0 + (line[i] - 48)
        i += 1
        digits += 1
    if i < end and line[i] == DOT:
        i += 1
        scale = 0.1
        while i < end and 48 <= line[i] <= 57:
            val += (line[i] - 48) * scale
            scale *= 0.1
            i += 1
            digits += 1
    if digits == 0:
        return np.nan, False
    if i < end and (line[i] == 101 or line[i] == 69):  # e/E
        i += 1
        esign = 1
        if i < end and (line[i] == 45 or line[i] == 43):
            esign = -1 if line[i] == 45 else 1
            i += 1
        ex = 0
        nd = 0
        while i < end and 48 <= line[i] <= 57:
            ex = ex * 10 + (line[i] - 48)
            i += 1
            nd += 1
        if nd == 0:
            return np.nan, False
        val *= 10.0 ** (esign * ex)
    if i != end:
        return np.nan, False
    return sign * val, True


@numba.njit(cache=True, nogil=True)
def parse_samples(line, start, n_samples, gt_index, ds_index, n_alt, gt, phased, ds, ploidy_error):
    """Parse sample columns of ``line`` (uint8) from byte ``start``.

    gt (n_samples, 2) int16, phased (n_samples,) bool, ds (n_samples, n_alt) float64 are filled;
    ``gt_index``/``ds_index`` are the positions of GT/DS in FORMAT (-1 when absent).
    """
    n = len(line)
    while n > 0 and (line[n - 1] == NEWLINE or line[n - 1] == 13):
        n -= 1
    i = start
    for s in range(n_samples):
        if i > n:
            return -(n_samples + 1)
        # end of this sample column
        end = i
        while end < n and line[end] != TAB:
            end += 1
        gt[s, 0] = -1
        gt[s, 1] = -2
        phased[s] = False
        for a in range(n_alt):
            ds[s, a] = np.nan
        k = 0
        j = i
        while j <= end and k <= max(gt_index, ds_index):
            fend = j
            while fend < end and line[fend] != COLON:
                fend += 1
            if k == gt_index:
                m = 0
                p = j
                if p == fend:
                    return -(s + 1)
                while p < fend:
                    if line[p] == DOT:
                        code = -1
                        p += 1
                    elif 48 <= line[p] <= 57:
                        code = 0
                        while p < fend and 48 <= line[p] <= 57:
                            code = code * 10 + (line[p] - 48)
                            p += 1
                        if code > n_alt:
                            return -(s + 1)
                    else:
                        return -(s + 1)
                    if m >= 2:
                        ploidy_error[0] = s + 1
                        return 0
                    gt[s, m] = code
                    m += 1
                    if p < fend:
                        if line[p] == PIPE:
                            phased[s] = True
                        elif line[p] != SLASH:
                            return -(s + 1)
                        p += 1
                        if p == fend:
                            return -(s + 1)
            elif k == ds_index:
                a = 0
                p = j
                while p < fend or (a == 0 and p == fend):
                    q = p
                    while q < fend and line[q] != COMMA:
                        q += 1
                    if a < n_alt:
                        v, ok = _parse_float(line, p, q)
                        if not ok:
                            return -(s + 1)
                        ds[s, a] = v
                    a += 1
                    p = q + 1
                    if q >= fend:
                        break
            k += 1
            j = fend + 1
        i = end + 1
    if i <= n:
        return -(n_samples + 1)
    return 0
