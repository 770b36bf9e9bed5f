"""REGENIE's step 1 prediction files: ``<prefix>_pred.list`` and ``<prefix>_<k>.loco``.

Layout (as REGENIE v4 writes them, checked against its ``--step 1`` output):

* ``<prefix>_pred.list``: one line per trait, ``<trait> <path of its .loco file>`` (one space;
  REGENIE writes absolute paths). A relative path is read against the list's folder.
* ``<prefix>_<k>.loco`` (k = 1, 2, ... in trait order; ``.loco.gz`` read too): a header line
  ``FID_IID <FID>_<IID> ...`` (one token per sample), then one line per chromosome: the
  chromosome's number (1-22, X = 23) and one leave-one-chromosome-out prediction per sample, in
  the header's order, separated by single spaces; ``NA`` for a sample without a prediction.
  REGENIE writes every chromosome 1-23: a chromosome without step-1 variants gets the whole-genome
  prediction. Values are on the trait's scale (quantitative: the trait after covariates;
  binary: the logit, used as an offset).

Sample ids. hubscan's sample id is the IID (:mod:`gwas.io.plink.tables`); REGENIE's is
``FID_IID``. Writing, each token is ``<FID>_<IID>`` with FID = IID unless ``family_ids`` are given
(plink's ``--double-id`` convention; give the FIDs of the PLINK/BGEN sample file REGENIE will read).
Reading, a token ``<FID>_<IID>`` belongs to the run's sample IID when it ends with ``_<IID>``
(any FID, which may itself hold ``_``); with ``family_ids`` the token must be exactly
``<FID>_<IID>``. Tokens matching no run sample are ignored (REGENIE ignores samples that are not
analysed); a token matching two run samples, or two tokens matching one sample, is an error.

Errors (:class:`hubscan.errors.InputError`, one line naming the file): a missing file, a list
naming a trait not in the run or leaving one out, a malformed line, a .loco whose samples do not
cover the run's (a required sample absent or ``NA``).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hubscan.errors import InputError
from hubscan.files import atomic_file

#: REGENIE's chromosome numbers for hubscan's contig names (``chr`` prefix dropped)
CHROMOSOME_CODES = {**{str(i): i for i in range(1, 23)}, "X": 23, "XY": 23, "PAR1": 23, "PAR2": 23}
#: the chromosomes REGENIE writes in every .loco file
REGENIE_CHROMOSOMES = tuple(range(1, 24))


def chromosome_code(contig: str) -> int:
    """REGENIE's number of a contig name: '1'..'22' (or 'chr1'..) as is, X (and PARs) = 23."""
    name = str(contig)
    if name.lower().startswith("chr"):
        name = name[3:]
    code = CHROMOSOME_CODES.get(name.upper())
    if code is None:
        raise InputError(f"chromosome {contig!r} has no LOCO prediction (REGENIE numbers 1-22 and X = 23)")
    return code


@dataclass
class LocoPredictions:
    """One trait's LOCO predictions: ``values[c, i]`` is the prediction for sample ``sample_ids[i]``
    when testing variants on chromosome ``chromosomes[c]`` (REGENIE's number, X = 23); NaN = none."""

    trait: str
    sample_ids: np.ndarray       # (samples,) hubscan sample ids (IID)
    chromosomes: np.ndarray      # (chromosomes,) int64
    values: np.ndarray           # (chromosomes, samples) float64
    path: str = ""               # the .loco file read, for messages

    def for_chromosome(self, contig) -> np.ndarray:
        """The (samples,) predictions used for the variants of ``contig`` (a name or a number)."""
        code = contig if isinstance(contig, (int, np.integer)) else chromosome_code(contig)
        where = np.flatnonzero(self.chromosomes == code)
        if not len(where):
            raise InputError(f"{self.path or self.trait}: no LOCO prediction for chromosome {contig} "
                             f"(the file has {', '.join(map(str, self.chromosomes))})")
        return self.values[where[0]]


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt")
    return open(path)


def read_prediction_list(path: str | os.PathLike, traits: Sequence[str], sample_ids: Sequence[str],
                         required: Mapping[str, np.ndarray] | None = None,
                         family_ids: Sequence[str] | None = None,
                         optional: Sequence[str] = ()) -> dict[str, LocoPredictions]:
    """Read a ``_pred.list`` and the .loco file of each of ``traits`` (the run's traits).

    ``sample_ids`` the run's samples (IID) in the run's order; ``required[trait]`` (samples,) bool:
    the samples that must have a prediction for that trait (default: all). Returns trait ->
    :class:`LocoPredictions` aligned to ``sample_ids`` (NaN where a sample is absent and not
    required). Every trait of the list must be in ``traits`` and every one of ``traits`` in the list
    but those of ``optional`` (traits of the run that will not be tested), which are not read.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"prediction list {path} does not exist")
    entries: dict[str, Path] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split()
        if len(cells) != 2:
            raise InputError(f"{path}: line {lineno}: {len(cells)} fields, expected '<trait> <.loco file>'")
        trait, loco = cells
        if trait in entries:
            raise InputError(f"{path}: line {lineno}: trait {trait!r} listed twice")
        loco_path = Path(loco)
        entries[trait] = loco_path if loco_path.is_absolute() else path.parent / loco_path
    if not entries:
        raise InputError(f"{path}: empty prediction list")
    unknown = [t for t in entries if t not in set(traits)]
    if unknown:
        raise InputError(f"{path}: trait(s) {', '.join(unknown[:5])} not in this run "
                         f"(the run tests {', '.join(list(traits)[:5])}{' ...' if len(traits) > 5 else ''})")
    absent = [t for t in traits if t not in entries and t not in set(optional)]
    if absent:
        raise InputError(f"{path}: no prediction for trait(s) {', '.join(absent[:5])}")
    return {t: read_loco(entries[t], t, sample_ids, None if required is None else required.get(t), family_ids)
            for t in traits if t not in set(optional)}


def _token_index(tokens: list[str], sample_ids: Sequence[str], family_ids: Sequence[str] | None,
                 path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(columns of the file, run sample indexes) of the tokens that belong to run samples."""
    if family_ids is not None:
        wanted = {f"{f}_{s}": i for i, (f, s) in enumerate(zip(family_ids, sample_ids))}
        if len(wanted) < len(sample_ids):
            raise InputError(f"{path}: two samples of the run have the same FID_IID token")
        pairs = [(c, wanted[tok]) for c, tok in enumerate(tokens) if tok in wanted]
    else:
        index = {str(s): i for i, s in enumerate(sample_ids)}
        pairs = []
        for c, tok in enumerate(tokens):
            found = [index[tok[u + 1:]] for u, ch in enumerate(tok) if ch == "_" and u > 0 and tok[u + 1:] in index]
            if len(found) > 1:
                raise InputError(f"{path}: sample token {tok!r} matches several samples of this run "
                                 f"({', '.join(str(sample_ids[i]) for i in found)}); give the family ids")
            if found:
                pairs.append((c, found[0]))
    cols = np.array([c for c, _ in pairs], dtype=np.int64)
    rows = np.array([i for _, i in pairs], dtype=np.int64)
    if len(np.unique(rows)) != len(rows):
        twice = int(rows[np.flatnonzero(np.bincount(rows) > 1)[0]])
        raise InputError(f"{path}: sample {sample_ids[twice]} appears more than once in the FID_IID header")
    return cols, rows


def read_loco(path: str | os.PathLike, trait: str, sample_ids: Sequence[str], required: np.ndarray | None = None,
              family_ids: Sequence[str] | None = None) -> LocoPredictions:
    """Read one ``.loco`` (or ``.loco.gz``) file, aligned to ``sample_ids`` (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"LOCO prediction file {path} (trait {trait}) does not exist")
    n = len(sample_ids)
    with _open_text(path) as fh:
        header = fh.readline().split()
        if not header or header[0] != "FID_IID":
            raise InputError(f"{path}: line 1: header must start with FID_IID (a REGENIE .loco file)")
        tokens = header[1:]
        cols, rows = _token_index(tokens, sample_ids, family_ids, path)
        chromosomes, values = [], []
        for lineno, line in enumerate(fh, start=2):
            cells = line.split()
            if not cells:
                continue
            if len(cells) != len(tokens) + 1:
                raise InputError(f"{path}: line {lineno}: {len(cells)} fields, expected {len(tokens) + 1} "
                                 "(chromosome and one prediction per sample of the header)")
            try:
                chrom = int(cells[0])
                numbers = np.array(["nan" if c == "NA" else c for c in cells[1:]], dtype=np.float64)
            except ValueError:
                raise InputError(f"{path}: line {lineno}: not a chromosome number followed by numbers or NA "
                                 f"(starts {' '.join(cells[:3])!r})") from None
            if chrom in chromosomes:
                raise InputError(f"{path}: line {lineno}: chromosome {chrom} repeated")
            row = np.full(n, np.nan)
            row[rows] = numbers[cols]
            chromosomes.append(chrom)
            values.append(row)
    if not chromosomes:
        raise InputError(f"{path}: no chromosome lines after the FID_IID header")
    values = np.vstack(values)
    need = np.ones(n, dtype=bool) if required is None else np.asarray(required, dtype=bool)
    lacking = need & ~np.isfinite(values).all(axis=0)
    if lacking.any():
        i = int(np.flatnonzero(lacking)[0])
        what = "is not in its FID_IID header" if i not in set(rows.tolist()) else "has NA predictions"
        raise InputError(f"{path}: samples do not match the run (trait {trait}): {int(lacking.sum())} analysed "
                         f"sample(s) lack predictions, e.g. sample {sample_ids[i]} {what}")
    return LocoPredictions(trait, np.asarray(sample_ids, dtype=object), np.array(chromosomes, dtype=np.int64),
                           values, str(path))


def _format(x: float) -> str:
    """One value as written: 10 significant digits (``%.10g``), ``NA`` for NaN or infinite."""
    return "NA" if not np.isfinite(x) else f"{x:.10g}"


def format_row(row: np.ndarray) -> str:
    """``" ".join(map(_format, row))`` in one ``%`` formatting call (the same bytes: ``%.10g`` and
    ``{:.10g}`` are one conversion of a Python float; about 3x faster than a call per value)."""
    row = np.asarray(row, dtype=np.float64)
    finite = np.isfinite(row)
    if finite.all():
        template = " ".join(["%.10g"] * len(row))
    else:
        template = " ".join(np.where(finite, "%.10g", "NA").tolist())
    return template % tuple(row[finite].tolist())


def write_predictions(prefix: str | os.PathLike, predictions: Sequence[LocoPredictions],
                      family_ids: Sequence[str] | None = None) -> Path:
    """Write ``<prefix>_pred.list`` and ``<prefix>_<k>.loco`` (k = 1.. in the order given), each
    file atomically (temporary file, then rename; the list last). Values with 10 significant digits
    (REGENIE writes 6), NaN as ``NA``; FID = IID unless ``family_ids`` (aligned to each
    prediction's ``sample_ids``). Returns the list's path; it names the .loco files by absolute path.
    REGENIE's step 2 reads line k + 1 of a .loco for chromosome k: the chromosomes must be 1, 2, ...,
    K in order (REGENIE writes 1-23, the whole-genome prediction for a chromosome without step-1
    variants); anything else is refused (ValueError)."""
    prefix = Path(prefix).absolute()
    lines = []
    for k, pred in enumerate(predictions, start=1):
        values = np.asarray(pred.values, dtype=np.float64)
        ids = [str(s) for s in pred.sample_ids]
        if [int(c) for c in pred.chromosomes] != list(range(1, len(pred.chromosomes) + 1)):
            raise ValueError(f"trait {pred.trait}: chromosomes {list(pred.chromosomes)[:5]}...: REGENIE reads "
                             "chromosome k from line k + 1 of a .loco file; give chromosomes 1..K in order")
        if values.shape != (len(pred.chromosomes), len(ids)):
            raise ValueError(f"trait {pred.trait}: values {values.shape} but {len(pred.chromosomes)} chromosomes "
                             f"x {len(ids)} samples")
        if any(c.isspace() for s in ids for c in s) or any(c.isspace() for c in pred.trait):
            raise InputError(f"trait {pred.trait!r}: sample ids and trait names must not contain spaces "
                             "(REGENIE's files are space-separated)")
        fids = ids if family_ids is None else [str(f) for f in family_ids]
        loco = prefix.with_name(f"{prefix.name}_{k}.loco")
        with atomic_file(loco) as tmp, open(tmp, "w") as fh:
            fh.write(" ".join(["FID_IID"] + [f"{f}_{s}" for f, s in zip(fids, ids)]) + "\n")
            written: dict[bytes, str] = {}     # chromosomes without step-1 variants repeat one row
            for chrom, row in zip(pred.chromosomes, values):
                key = row.tobytes()
                if key not in written:
                    written[key] = format_row(row)
                fh.write(f"{int(chrom)} {written[key]}\n")
        lines.append(f"{pred.trait} {loco}\n")
    pred_list = prefix.with_name(f"{prefix.name}_pred.list")
    with atomic_file(pred_list) as tmp:
        tmp.write_text("".join(lines))
    return pred_list
