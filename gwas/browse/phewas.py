"""Per-variant data for variant (PheWAS) and region pages, gathered in bounded memory.

Traits are streamed one after another; each batch of rows is appended, as Arrow record batches,
to the spill file of its *bucket* (chromosome, ``spill_bp`` window). When every trait is read,
each bucket is loaded alone, sorted by (position, ref, alt, trait) and cut into site chunks
(chromosome, ``chunk_bp`` window): ``data/variants/<chrom>/<chunk>.json``. Memory is bounded by
one bucket (traits x variants in ``spill_bp``), never the whole release.

A chunk file: ``{"chrom": "1", "chunk": 12, "variants": [{"id": "1:1200345:A:G", "rsid": "rs..",
"pos": 1200345, "ref": "A", "alt": "G", "t": [trait index...], "p": [-log10 p...], "b": [beta...],
"s": [se...], "f": [effect allele frequency...], "n": [protected n or null...]}, ...]}``: the
release's values as they are (float64 round-trip text), one entry per released (variant, trait).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

SCHEMA = pa.schema([("t", pa.int32()), ("pos", pa.int64()), ("ref", pa.string()), ("alt", pa.string()),
                    ("vid", pa.string()), ("p", pa.float64()), ("b", pa.float64()), ("s", pa.float64()),
                    ("f", pa.float64()), ("n", pa.float64())])
_RSID = re.compile(r"^rs[0-9]+$")


def finite_list(values: np.ndarray, integer: bool = False) -> list:
    """JSON-safe list: NaN/inf as null; integers as int when ``integer``."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    if ok.all():
        return v.astype(np.int64).tolist() if integer else v.tolist()
    conv = int if integer else float
    return [conv(x) if good else None for x, good in zip(v.tolist(), ok.tolist())]


def chunk_path(chrom: str, chunk: int) -> str:
    """Site-relative path of a chunk (chromosome names made file-safe)."""
    return f"data/variants/{safe_name(chrom)}/{chunk}.json"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(text))


class Spill:
    """Append-only bucket files under ``folder``; ``add`` one trait's batch, then ``buckets``."""

    def __init__(self, folder: Path, spill_bp: int):
        self.folder, self.spill_bp = folder, spill_bp
        self.writers: dict[tuple[int, int], pa.ipc.RecordBatchStreamWriter] = {}
        self.rows = 0

    def add(self, trait: int, chrom_idx: np.ndarray, rows) -> None:
        bucket = rows.position // self.spill_bp
        key = chrom_idx.astype(np.int64) * (1 << 32) + bucket
        order = np.argsort(key, kind="stable")
        ks = key[order]
        cuts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True])
        whole = pa.record_batch([pa.array(np.full(len(rows), trait, np.int32)), pa.array(rows.position),
                                 pa.array(rows.ref, pa.string()), pa.array(rows.alt, pa.string()),
                                 pa.array(rows.variant_id, pa.string()),
                                 *[pa.array(getattr(rows, f)) for f in ("nlp", "beta", "se", "af", "n")]],
                                schema=SCHEMA).take(pa.array(order))
        for s, e in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            i = order[s]
            k = (int(chrom_idx[i]), int(bucket[i]))
            w = self.writers.get(k)
            if w is None:
                w = self.writers[k] = pa.ipc.new_stream(str(self.folder / f"{k[0]}-{k[1]}.arrow"), SCHEMA)
            w.write_batch(whole.slice(s, e - s))
        self.rows += len(rows)

    def buckets(self):
        """(chrom index, bucket, Arrow table) per bucket in genome order; each file removed once read."""
        for w in self.writers.values():
            w.close()
        for k in sorted(self.writers):
            path = self.folder / f"{k[0]}-{k[1]}.arrow"
            with pa.OSFile(str(path)) as f:
                table = pa.ipc.open_stream(f).read_all()
            path.unlink()
            yield k[0], k[1], table


def write_chunks(site: Path, chrom: str, table: pa.Table, chunk_bp: int, rsids) -> tuple[int, list[int]]:
    """Write the site chunks of one bucket; ``rsids(rsid, variant id)`` is called once per variant
    with an rsid. Returns (variants, chunk numbers written)."""
    c = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    ref, alt = c["ref"].astype(object), c["alt"].astype(object)
    _, ref_code = np.unique(ref, return_inverse=True)
    _, alt_code = np.unique(alt, return_inverse=True)
    order = np.lexsort((c["t"], alt_code, ref_code, c["pos"]))
    pos, ref_code, alt_code = c["pos"][order], ref_code[order], alt_code[order]
    new = np.r_[True, (pos[1:] != pos[:-1]) | (ref_code[1:] != ref_code[:-1]) | (alt_code[1:] != alt_code[:-1])]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(pos)]
    cols = {k: c[k][order] for k in ("t", "p", "b", "s", "f", "n", "vid")}
    ref, alt = ref[order], alt[order]
    chunk_of = pos[starts] // chunk_bp
    folder = site / "data" / "variants" / safe_name(chrom)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    cuts = np.flatnonzero(np.r_[True, chunk_of[1:] != chunk_of[:-1], True])
    for a, z in zip(cuts[:-1], cuts[1:]):
        variants = []
        for s, e in zip(starts[a:z].tolist(), ends[a:z].tolist()):
            ids = [v for v in cols["vid"][s:e].tolist() if v]
            vid = f"{chrom}:{int(pos[s])}:{ref[s]}:{alt[s]}"
            rsid = next((v for v in ids if _RSID.match(v)), "")
            if rsid:
                rsids(rsid, vid)
            variants.append({"id": vid, "rsid": rsid, "pos": int(pos[s]), "ref": ref[s], "alt": alt[s],
                             "t": cols["t"][s:e].tolist(), "p": finite_list(cols["p"][s:e]),
                             "b": finite_list(cols["b"][s:e]), "s": finite_list(cols["s"][s:e]),
                             "f": finite_list(cols["f"][s:e]), "n": finite_list(cols["n"][s:e], integer=True)})
        chunk = int(chunk_of[a])
        (folder / f"{chunk}.json").write_text(json.dumps({"chrom": chrom, "chunk": chunk, "variants": variants},
                                                         separators=(",", ":")))
        written.append(chunk)
    return len(starts), written
