"""An LD reference for region pages: pairwise r² as PLINK writes it (``plink --r2 --ld-window-r2 0``,
a whitespace table with ``CHR_A BP_A SNP_A CHR_B BP_B SNP_B R2``, optionally gzipped).

Pairs are keyed by position (chromosome, base pair): the region page colours each variant by its
r² with the window's lead variant as LocusZoom does. Each pair is stored under both of its
variants, in the chunk file of that variant: ``data/ld/<chrom>/<chunk>.json`` = ``{"<pos>":
{"<other pos>": r2, ...}, ...}``. The file is read in chunks but its pairs are held until written:
memory grows with the number of pairs (give a region-sized reference, or PLINK's --ld-window-kb).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gwas.browse.phewas import safe_name
from hubscan.errors import InputError

COLUMNS = ["CHR_A", "BP_A", "CHR_B", "BP_B", "R2"]


def write_ld(path, site: Path, chunk_bp: int, known_chroms: set[str]) -> dict[str, list[int]]:
    """Write the LD chunk files of ``path`` under ``site``; returns chunk numbers per chromosome folder."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: LD reference not found")
    pairs: dict[tuple[str, int], dict[str, dict[str, float]]] = {}
    try:
        reader = pd.read_csv(path, sep=r"\s+", usecols=COLUMNS, dtype={"CHR_A": str, "CHR_B": str},
                             chunksize=500_000)
        for frame in reader:
            if frame["R2"].isna().any() or ((frame["R2"] < 0) | (frame["R2"] > 1.0000001)).any():
                raise InputError(f"{path}: R2 values must be numbers in [0, 1]")
            same = frame["CHR_A"] == frame["CHR_B"]
            frame = frame[same & frame["CHR_A"].isin(known_chroms)]
            r2 = np.minimum(frame["R2"].to_numpy(np.float64), 1.0).tolist()
            for c, a, b, r in zip(frame["CHR_A"].tolist(), frame["BP_A"].tolist(), frame["BP_B"].tolist(), r2):
                for x, y in ((a, b), (b, a)):
                    pairs.setdefault((c, int(x) // chunk_bp), {}).setdefault(str(int(x)), {})[str(int(y))] = r
    except ValueError as exc:
        raise InputError(f"{path}: not a PLINK --r2 table with {', '.join(COLUMNS)} ({exc})") from None
    index: dict[str, list[int]] = {}
    for (c, k), table in sorted(pairs.items()):
        folder = site / "data" / "ld" / safe_name(c)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{k}.json").write_text(json.dumps(table, separators=(",", ":"), sort_keys=True))
        index.setdefault(safe_name(c), []).append(k)
    return index
