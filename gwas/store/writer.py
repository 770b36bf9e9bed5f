"""Create the store's arrays up front and fill variant blocks in place (layout: :mod:`gwas.store.variables`).

The driver calls :func:`create_store` once with the final shape; parallel tasks call
:func:`write_block` with ranges that start on a variant-chunk boundary, so no two tasks ever
write the same Zarr chunk file. Each chunk file is written whole, via a temporary name: numeric
fields' chunks by :func:`_write_chunk` (Zarr v2's chunk encoding from the array's own metadata:
C order, no filters, edge chunks padded with the fill value (zeros without one), a chunk of fill
values not stored (arrays with a fill value only: integer and boolean arrays have none and every
chunk is written, see :mod:`gwas.store.variables`) - the bytes Zarr itself writes, at less cost and on several threads; a chunk is copied into a
buffer each thread keeps, as memory touched for the first time is slow to map), strings by Zarr.
Completion is marked separately (:mod:`gwas.store.ingest`).
"""

from __future__ import annotations

import itertools
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numcodecs
import numpy as np

from gwas.ingest.scratch import scratch
from gwas.store.variables import (DEFAULT_SAMPLES_CHUNK, DEFAULT_VARIANTS_CHUNK, DERIVED_FIELDS, FIELDS,
                                  GENOTYPE_FIELDS, STORE_FORMAT, STORE_VERSION, VCF_ZARR_VERSION, check_block,
                                  decode_dosage)

if TYPE_CHECKING:
    import zarr

#: zstd level 1 with bit-shuffle: on genotype chunks 3-4x faster to write than level 5 for 2-4 % more
#: bytes (measured on 10,000 x 1,000-call chunks of simulated VCF and 8-bit BGEN dosages); Blosc
#: blocks of 256 KiB (its default at level 1 is 32 KiB): on 8-bit BGEN dosages 20-25 % less time
#: and 1 % fewer bytes
COMPRESSOR = numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.BITSHUFFLE, blocksize=1 << 18)


def open_group(path: str | os.PathLike, mode: str) -> zarr.Group:
    """The store's Zarr v2 group. Zarr is imported here, on first use (about 0.3 s of CPU, which a
    local ingest spends while its first part converts)."""
    import zarr

    return zarr.open_group(str(path), mode=mode, zarr_format=2)


def create_store(path: str | os.PathLike, sample_ids, contig_ids, contig_lengths, n_variants: int,
                 with_genotypes: bool, variants_chunk: int = DEFAULT_VARIANTS_CHUNK,
                 samples_chunk: int = DEFAULT_SAMPLES_CHUNK, attrs: dict | None = None,
                 filters: list[tuple[str, str]] | None = None, with_dosages: bool = False) -> zarr.Group:
    """Create every array and the small sample/contig/filter arrays. ``filters``: (id, description)
    pairs, PASS first (default PASS alone); ``with_dosages``: also ``call_DS``."""
    filters = filters or [("PASS", "All filters passed")]
    root = open_group(path, "a")  # keep _parts/ markers
    root.attrs.update({"vcf_zarr_version": VCF_ZARR_VERSION, "format": STORE_FORMAT,
                       "store_version": STORE_VERSION, **(attrs or {})})
    sizes = {"variants": n_variants, "samples": len(sample_ids), "alleles": 2, "ploidy": 2,
             "contigs": len(contig_ids), "filters": len(filters)}
    chunk_of = {"variants": variants_chunk, "samples": samples_chunk, "alleles": 2, "ploidy": 2,
                "contigs": max(len(contig_ids), 1), "filters": len(filters)}
    for name, f in FIELDS.items():
        if ((name in GENOTYPE_FIELDS and not with_genotypes) or (name in DERIVED_FIELDS and not with_dosages)
                or "contigs" in f.dims):
            continue
        _create_field(root, name, sizes, chunk_of)
    _array(root, "sample_id")[:] = np.asarray(sample_ids, dtype=str)
    _array(root, "filter_id")[:] = np.asarray([f[0] for f in filters], dtype=str)
    _array(root, "filter_description")[:] = np.asarray([f[1] for f in filters], dtype=str)
    set_contigs(path, contig_ids, contig_lengths)
    return root


def _array(root: zarr.Group, name: str) -> zarr.Array:
    """Array ``name`` writing every chunk, also one of zeros: arrays without a fill value (integers,
    booleans) must have every chunk, or a Zarr 2 reader returns uninitialised memory for it."""
    return root[name].with_config({"write_empty_chunks": True})


def _create_field(root: zarr.Group, name: str, sizes: dict, chunk_of: dict) -> None:
    """Create registry field ``name`` (filled with its fill value), replacing any array of that name."""
    f = FIELDS[name]
    shape = tuple(sizes[d] for d in f.dims)
    chunks = tuple(max(1, min(chunk_of[d], max(sizes[d], 1))) for d in f.dims)
    dtype = str if f.dtype == "str" else f.dtype
    arr = root.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=f.fill,
                            compressors=COMPRESSOR if f.dtype != "str" else "auto", overwrite=True)
    arr.attrs.update({"_ARRAY_DIMENSIONS": list(f.dims), "description": f.description})


def set_contigs(path: str | os.PathLike, contig_ids, contig_lengths) -> None:
    """(Re)create the contig arrays with these contigs (a single-pass ingest knows them at the end)."""
    root = open_group(path, "r+")
    n = len(contig_ids)
    for name in ("contig_id", "contig_length"):
        _create_field(root, name, {"contigs": n}, {"contigs": max(n, 1)})
    if contig_ids:
        _array(root, "contig_id")[:] = np.asarray(contig_ids, dtype=str)
        _array(root, "contig_length")[:] = np.asarray(contig_lengths, dtype=np.int64)


def variants_size(path: str | os.PathLike) -> int:
    """The store's variants dimension."""
    return open_group(path, "r")["variant_position"].shape[0]


def resize_variants(path: str | os.PathLike, n: int) -> None:
    """Set the variants dimension of every array that has one to ``n`` (chunks unchanged; written
    chunks inside the new shape kept)."""
    root = open_group(path, "r+")
    for name, f in FIELDS.items():
        if "variants" in f.dims and name in root:
            arr = root[name]
            arr.resize((n, *arr.shape[1:]))


def write_block(path: str | os.PathLike, start: int, block: dict[str, np.ndarray], threads: int = 1) -> None:
    """Write ``block`` (field -> array with ``n`` variants) into variants ``start`` .. ``start + n``;
    numeric fields' chunks encoded and written on ``threads`` threads."""
    root = open_group(path, "r+")
    check_block(block, root["sample_id"].shape[0])
    if "call_DS" in root and "call_DS" not in block:
        block = {**block, "call_DS": decode_dosage(block["call_dosage_scaled"])}
    chunks = []
    for name, arr in block.items():
        if name not in root:
            continue
        z = _array(root, name)
        stop = start + arr.shape[0]
        whole = start % z.chunks[0] == 0 and (stop % z.chunks[0] == 0 or stop == z.shape[0])
        if arr.dtype == object or not whole or z.metadata.filters or z.metadata.order != "C":
            z[start:stop] = arr  # strings, or a chunk only partly covered: Zarr (reads and merges)
            continue
        grid = [range(start // z.chunks[0], -(-stop // z.chunks[0]))]
        grid += [range(-(-extent // c)) for extent, c in zip(z.shape[1:], z.chunks[1:])]
        chunks += [(Path(path) / name, z, start, arr, index) for index in itertools.product(*grid)]
    if threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(min(threads, len(chunks))) as pool:
            for _ in pool.map(lambda c: _write_chunk(*c), chunks):
                pass
    else:
        for c in chunks:
            _write_chunk(*c)


def _write_chunk(folder: Path, z: zarr.Array, start: int, arr: np.ndarray, index: tuple[int, ...]) -> None:
    """Chunk ``index`` of Zarr v2 array ``z`` (stored in ``folder``) from ``arr``, which holds its
    rows from variant ``start`` on: C-order bytes, padded with the fill value past the array's
    edge, encoded by the array's compressor; a chunk of fill values only is removed, as Zarr does."""
    m = z.metadata
    at = [slice(i * c, min((i + 1) * c, extent)) for i, c, extent in zip(index, z.chunks, z.shape)]
    at[0] = slice(at[0].start - start, at[0].stop - start)
    piece = arr[tuple(at)]
    if piece.shape == z.chunks and piece.flags.c_contiguous:
        data = piece
    elif piece.shape == z.chunks:  # copied into this thread's buffer: no fresh pages to fault in
        data = scratch("chunk", z.chunks, arr.dtype)
        data[...] = piece
    else:  # no fill value (integers, booleans): zeros, as Zarr pads
        data = np.full(z.chunks, 0 if m.fill_value is None else m.fill_value, dtype=arr.dtype)
        data[tuple(slice(0, k) for k in piece.shape)] = piece
    key = folder / m.dimension_separator.join(map(str, index))
    fill = m.fill_value
    if fill is not None and (data.flat[0] == fill or (fill != fill and data.flat[0] != data.flat[0])):  # maybe all fill
        if (np.isnan(data).all() if fill != fill else (data == fill).all()):
            key.unlink(missing_ok=True)
            return
    encoded = m.compressor.encode(data) if m.compressor is not None else data.tobytes()
    tmp = key.with_name(f"{key.name}.{uuid.uuid4().hex}.partial")
    try:
        tmp.write_bytes(encoded)
        tmp.replace(key)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def name_missing_ids(path: str | os.PathLike) -> int:
    """Give variants without an id (``variant_id_mask``: '.' or empty in the input) the id
    ``chrom:pos:ref:alt`` (plink2 ``--set-missing-var-ids @:#:$r:$a``), so that they can be selected
    and published; the mask keeps recording that the input had none. Returns how many were named."""
    root = open_group(path, "r+")
    absent = np.flatnonzero(root["variant_id_mask"][:])
    if len(absent) == 0:
        return 0
    contigs = np.asarray(root["contig_id"][:], dtype=object)
    chrom = contigs[root["variant_contig"][:][absent]]
    pos = root["variant_position"][:][absent]
    alleles = root["variant_allele"][:][absent]
    ids = root["variant_id"][:]
    ids[absent] = [f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(chrom.tolist(), pos.tolist(), alleles[:, 0].tolist(),
                                                            alleles[:, 1].tolist())]
    _array(root, "variant_id")[:] = ids
    return len(absent)
