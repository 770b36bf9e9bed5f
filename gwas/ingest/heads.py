"""Record heads of VCF input collected while planning (line numbers, positions, ALT counts, offsets
in the uncompressed stream, CHROM runs) and the check that a file is sorted (:mod:`gwas.ingest.vcf`,
:mod:`gwas.ingest.stream`)."""

import numpy as np

from hubscan.errors import InputError


class Heads:
    """Record heads collected while planning one file: parallel lists of arrays, chromosome runs
    (name per run, first record of each run) and the first error met (raised after the order checks)."""

    def __init__(self):
        self.lineno, self.pos, self.nalt, self.upos = [], [], [], []
        self.run_names, self.run_first = [], []
        self.n = 0
        self.error = None

    def add(self, lineno, pos, nalt, upos, chroms):
        """Append records; ``chroms`` lists (index in this batch, name) where CHROM may change."""
        for i, name in chroms:
            if not self.run_names or self.run_names[-1] != name:
                self.run_names.append(name)
                self.run_first.append(self.n + i)
        for lst, arr in ((self.lineno, lineno), (self.pos, pos), (self.nalt, nalt), (self.upos, upos)):
            lst.append(np.asarray(arr, dtype=np.int64))
        self.n += len(lineno)

    def tail(self, first: int):
        """:meth:`arrays` of records ``first ..`` only, joining just the entries that hold them."""
        k, n = len(self.lineno), self.n
        while k > 0 and n > first:
            k -= 1
            n -= len(self.lineno[k])
        cat = [np.concatenate(x[k:])[first - n:] if len(x) > k else np.zeros(0, np.int64)
               for x in (self.lineno, self.pos, self.nalt, self.upos)]
        run = np.searchsorted(np.asarray(self.run_first, dtype=np.int64), np.arange(first, self.n), side="right") - 1
        return (*cat, run)

    def arrays(self):
        cat = [np.concatenate(x) if x else np.zeros(0, np.int64) for x in (self.lineno, self.pos, self.nalt, self.upos)]
        run = np.zeros(self.n, dtype=np.int64)
        if self.n:
            run[np.asarray(self.run_first[1:], dtype=np.int64)] = 1
            run = np.cumsum(run)
        return (*cat, run)


def check_order(path, run_names, run, lineno, pos) -> None:
    """The first unsorted record of one file (a contig met again, or a position going back) as InputError."""
    bad, message = len(pos), None
    seen = set()
    for k, name in enumerate(run_names):
        if name in seen:
            first = int(np.searchsorted(run, k))
            bad = first
            message = (f"{path}:{lineno[first]}: contig {name} appears again after other contigs: "
                       "the file is not sorted (sort it with `bcftools sort`)")
            break
        seen.add(name)
    back = np.flatnonzero((run[1:] == run[:-1]) & (pos[1:] < pos[:-1])) + 1
    if len(back) and back[0] < bad:
        i = int(back[0])
        message = (f"{path}:{lineno[i]}: position {pos[i]} after {pos[i - 1]} on {run_names[run[i]]}: the file "
                   "is not sorted (sort it with `bcftools sort`)")
    if message:
        raise InputError(message)
