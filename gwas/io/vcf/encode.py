"""Numba kernel that encodes VCF genotype columns as bytes (callable as plain Python via ``.py_func``)."""

import numba

_TAB, _NL, _COLON, _COMMA, _DOT, _BAR, _SLASH, _ZERO = 9, 10, 58, 44, 46, 124, 47, 48

#: Upper bound of bytes per sample field, tab included: GT (4) and GT:DS:GP (28).
GT_BYTES, GT_DS_GP_BYTES = 4, 28


@numba.njit(cache=True, nogil=True)
def put_milli(out, at, value):
    """Write ``value``/1000 (0 <= value < 10000) with trailing zeros trimmed ("0", "0.25", "1.998");
    return the offset after it."""
    out[at] = _ZERO + value // 1000
    at += 1
    frac = value % 1000
    if frac:
        out[at] = _DOT
        d0, d1, d2 = frac // 100, (frac // 10) % 10, frac % 10
        out[at + 1] = _ZERO + d0
        at += 2
        if d1 or d2:
            out[at] = _ZERO + d1
            at += 1
            if d2:
                out[at] = _ZERO + d2
                at += 1
    return at


@numba.njit(cache=True, nogil=True)
def encode_records(prefix, prefix_end, alleles, missing, ploidy, gp, gp_row, phased, out):
    """Write complete VCF records for a block of B variants into ``out``; return bytes written.

    prefix: uint8, the concatenated fixed columns (CHROM..FORMAT, no trailing tab) of each variant;
    prefix_end: int64 (B,) end offset of each. alleles: uint8 (B, N, 2) allele indices (0 REF, 1 ALT;
    only the first is used for haploid samples). missing: bool (B, N). ploidy: uint8 (N,) 1 or 2.
    gp: int32 (K, N, 3) posteriors in thousandths (rows summing to 1000; haploid: 2 values + 0);
    gp_row: int64 (B,) row of ``gp`` for a GT:DS:GP variant, -1 for GT only.
    phased: separate alleles with ``|`` (else ``/``); missing calls are ``./.`` (haploid ``.``), with
    ``:.:.`` for DS and GP. DS = GP1 + 2·GP2 (haploid GP1). ``out`` needs
    len(prefix) + Σ_variants (N × (4 or 28) + 1) bytes.
    """
    at = 0
    begin = 0
    sep = _BAR if phased else _SLASH
    n = alleles.shape[1]
    for v in range(alleles.shape[0]):
        for k in range(begin, prefix_end[v]):
            out[at] = prefix[k]
            at += 1
        begin = prefix_end[v]
        row = gp_row[v]
        for i in range(n):
            out[at] = _TAB
            at += 1
            diploid = ploidy[i] == 2
            if missing[v, i]:
                out[at] = _DOT
                at += 1
                if diploid:
                    out[at] = _SLASH
                    out[at + 1] = _DOT
                    at += 2
                if row >= 0:
                    out[at] = _COLON
                    out[at + 1] = _DOT
                    out[at + 2] = _COLON
                    out[at + 3] = _DOT
                    at += 4
                continue
            out[at] = _ZERO + alleles[v, i, 0]
            at += 1
            if diploid:
                out[at] = sep
                out[at + 1] = _ZERO + alleles[v, i, 1]
                at += 2
            if row >= 0:
                out[at] = _COLON
                at += 1
                if diploid:
                    at = put_milli(out, at, gp[row, i, 1] + 2 * gp[row, i, 2])
                else:
                    at = put_milli(out, at, gp[row, i, 1])
                out[at] = _COLON
                at = put_milli(out, at + 1, gp[row, i, 0])
                out[at] = _COMMA
                at = put_milli(out, at + 1, gp[row, i, 1])
                if diploid:
                    out[at] = _COMMA
                    at = put_milli(out, at + 1, gp[row, i, 2])
        out[at] = _NL
        at += 1
    return at
