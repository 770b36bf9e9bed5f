"""The site's variant chunk files read back here, independently of the site's own reader
(gwas.browse.phewas.decode_chunk), from the format its docstring specifies: gzip, b"HSV1", a
uint32 LE header length, the JSON header, then float64 p b s f n (one value per variant when
"const") and int32 t (absent when "every_trait") columns."""

import gzip
import json
import math
import struct

import numpy as np


def _value(x, integer=False):
    if not math.isfinite(x):
        return None
    return int(x) if integer else float(x)


def read_chunk(path):
    """{"chrom", "chunk", "variants": [{"id", "rsid", "pos", "ref", "alt", "t", "p", "b", "s", "f",
    "n"}]} with lists of Python numbers (None where the file holds NaN)."""
    data = gzip.decompress(path.read_bytes())
    assert data[:4] == b"HSV1", path
    (h,) = struct.unpack("<I", data[4:8])
    assert (8 + h) % 8 == 0, "columns 8-byte aligned"
    head = json.loads(data[8:8 + h].decode())
    r, v = head["rows"], len(head["pos"])
    bounds = head["start"] + [r]
    off, cols = 8 + h, {}
    for k in "pbsfn":   # R values, or one per variant when the header names the column "const"
        m = v if k in head["const"] else r
        cols[k] = np.frombuffer(data, "<f8", m, off)
        off += 8 * m
        if k in head["const"]:
            cols[k] = np.concatenate([np.full(bounds[i + 1] - bounds[i], cols[k][i]) for i in range(v)])
    if head["every_trait"]:
        cols["t"] = np.concatenate([np.arange(bounds[i + 1] - bounds[i]) for i in range(v)])
    else:
        cols["t"] = np.frombuffer(data, "<i4", r, off)
        off += 4 * r
    assert len(data) == off, path
    variants = []
    for i, pos in enumerate(head["pos"]):
        a, z = bounds[i], bounds[i + 1]
        assert a < z, path
        v = {"id": f"{head['chrom']}:{pos}:{head['ref'][i]}:{head['alt'][i]}", "rsid": head["rsid"][i], "pos": pos,
             "ref": head["ref"][i], "alt": head["alt"][i], "t": cols["t"][a:z].tolist()}
        for k in "pbsf":
            v[k] = [_value(x) for x in cols[k][a:z].tolist()]
        v["n"] = [_value(x, True) for x in cols["n"][a:z].tolist()]
        variants.append(v)
    return {"chrom": head["chrom"], "chunk": head["chunk"], "variants": variants}


def site_chunks(site):
    """(path, chunk) of every variant chunk file of a site, in path order."""
    for path in sorted((site / "data" / "variants").rglob("*.bin.gz")):
        yield path, read_chunk(path)
