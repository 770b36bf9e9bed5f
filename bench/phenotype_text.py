"""Benchmark: writing the plink2/REGENIE phenotype text (``phenotypes.tsv``), column-vectorised
(:func:`phenotypes.matrix.io.write_text`) against cell by cell (the writer it replaced: one
:func:`phenotypes.matrix.io._format` call per cell, one line at a time), on the same random matrix
(seed 1; binary traits 0/1 with 20 % missing, quantitative normal with 10 % missing, a fifth of them
integers), and checks that both wrote the same bytes.

    python bench/phenotype_text.py                      # 100,000 x 100: all binary, then half quantitative
    python bench/phenotype_text.py --samples 20000      # smaller
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]  # bench/phenotypes.py

from hubscan.files import atomic_file  # noqa: E402
from phenotypes.matrix.io import BINARY, FLAVOURS, QUANTITATIVE, TraitMatrix, _format, write_text  # noqa: E402


def cell_by_cell(path, m: TraitMatrix, flavour: str = "plink2") -> None:
    """The writer before vectorisation: every cell formatted on its own."""
    first, coding = FLAVOURS[flavour]
    binary = [t == BINARY for t in m.types]
    with atomic_file(path) as tmp, open(tmp, "w") as fh:
        fh.write(f"{first}\tIID\t" + "\t".join(m.names) + "\n")
        for sid, row in zip(m.sample_ids.tolist(), m.values):
            fh.write(f"{sid}\t{sid}\t" + "\t".join(_format(v, b, coding) for v, b in zip(row.tolist(), binary)) + "\n")


def matrix(n: int, n_binary: int, n_quantitative: int) -> TraitMatrix:
    rng = np.random.default_rng(1)
    b = rng.integers(0, 2, (n, n_binary)).astype(float)
    b[rng.random(b.shape) < 0.2] = np.nan
    q = rng.normal(size=(n, n_quantitative))
    q[:, :n_quantitative // 5] = np.round(q[:, :n_quantitative // 5] * 100)
    q[rng.random(q.shape) < 0.1] = np.nan
    return TraitMatrix(np.array([f"S{i:07d}" for i in range(n)], dtype=object),
                       [f"t{j}" for j in range(n_binary + n_quantitative)], np.concatenate([b, q], axis=1),
                       [BINARY] * n_binary + [QUANTITATIVE] * n_quantitative)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--traits", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        for n_binary in (args.traits, args.traits // 2):
            m = matrix(args.samples, n_binary, args.traits - n_binary)
            times = {}
            for name, fn in (("cell by cell", cell_by_cell), ("vectorised", write_text)):
                started = time.perf_counter()
                fn(Path(root) / f"{name}.tsv", m)
                times[name] = time.perf_counter() - started
            same = (Path(root) / "cell by cell.tsv").read_bytes() == (Path(root) / "vectorised.tsv").read_bytes()
            print(f"{args.samples} x {args.traits} ({n_binary} binary): cell by cell {times['cell by cell']:.1f} s, "
                  f"vectorised {times['vectorised']:.1f} s ({times['cell by cell'] / times['vectorised']:.1f}x), "
                  f"same bytes: {same}", flush=True)


if __name__ == "__main__":
    main()
