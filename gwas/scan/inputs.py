"""Everything a scan needs besides genotypes, loaded and checked once on the driver.

Samples: those of the genotype store that also have phenotypes (and are in ``samples_file`` when
given), in the store's order. Phenotypes: a `hubscan phenotypes` folder (``traits.parquet``,
with ``catalogue.tsv`` for descriptions), a ``.parquet`` matrix, or a plink2/REGENIE text file
(``FID IID ...``, ``NA`` missing). Covariates: files in either layout joined on IID; a sample
missing a covariate is left out of every trait (as plink2 and Hail do).

Step 2 (``predictions``): a REGENIE ``_pred.list`` of LOCO predictions (:mod:`gwas.wgr.predictions`),
read for the tested traits and aligned to the analysed samples (each tested trait's samples must
all have predictions); ``step1`` records the list's and .loco files' names and checksums.

Checks before any work (each names what is wrong): traits that do not exist, no sample shared by
genotypes and phenotypes, covariates with no variance or perfectly collinear with others. A
covariate constant within one trait's samples (sex for a sex-restricted phecode) is dropped for
that trait only and recorded. Binary traits with fewer than ``min_cases`` cases or controls are
not tested and recorded as skipped with the reason.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gwas.scan.config import ScanConfig
from gwas.store.source import GenotypeSource as GenotypeStore
from hubscan.errors import ConfigError, InputError
from phenotypes.matrix.io import BINARY, TraitMatrix, read_matrix, read_text

log = logging.getLogger(__name__)

#: residual norm (relative to the centred column's) below which a covariate counts as a
#: combination of the intercept and the covariates before it
COLLINEAR_TOLERANCE = 1e-6


@dataclass
class TraitGroup:
    """Traits tested together: same type and same covariate columns."""

    kind: str                 # "binary" or "quantitative"
    traits: np.ndarray        # columns of ScanInputs.values
    covariates: np.ndarray    # columns of ScanInputs.covariates


@dataclass
class ScanInputs:
    sample_columns: np.ndarray          # store columns of the analysed samples, store order
    trait_names: list[str]
    trait_types: list[str]
    values: np.ndarray                  # (samples, traits) float64, NaN = not in the trait
    covariates: np.ndarray              # (samples, k) float64 (no intercept: the kernels add it)
    covariate_names: list[str]
    groups: list[TraitGroup]
    trait_info: list[dict] = field(default_factory=list)   # one per trait, tested or not (_results.json)
    inputs: dict = field(default_factory=dict)             # input files and checksums
    predictions: dict | None = None     # trait column -> LocoPredictions (step 2), or None
    step1: dict | None = None           # which step 1: list and .loco names and sha256 (results.json)
    categorical: dict = field(default_factory=dict)        # categorical covariate -> reference, levels

    @property
    def tested(self) -> list[str]:
        return [self.trait_names[t] for g in self.groups for t in g.traits]


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: The catalogue columns a scan copies into results.json when they hold text.
CATALOGUE_TEXT = ("source", "definition", "category")


def catalogue_text(path: Path) -> dict[str, dict[str, str]]:
    """{trait: {column: text}} for :data:`CATALOGUE_TEXT` of a ``catalogue.tsv``: the text values
    :func:`phenotypes.matrix.catalogue.read_catalogue` (pandas) gives, read with the csv module so
    that a scan does not import pandas (about 0.3-0.5 s of a short command). "NA" is missing;
    ``definition`` is always text; ``source`` and ``category`` are text only where pandas reads
    the column as text, which is sure when one value is plainly a word (not a number or a
    boolean): otherwise (rare, ambiguous columns) pandas reads the file as before."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r]
    if not rows or "name" not in rows[0]:
        return _catalogue_text_pandas(path)
    header = rows[0]
    cols = {k: header.index(k) for k in CATALOGUE_TEXT if k in header}
    for key in ("source", "category"):
        if key in cols:
            values = [r[cols[key]] for r in rows[1:] if len(r) > cols[key] and r[cols[key]] != "NA"]
            if values and not any(_plain_word(v) for v in values):
                return _catalogue_text_pandas(path)
    name_at = header.index("name")
    out: dict[str, dict[str, str]] = {}
    for r in rows[1:]:
        if len(r) != len(header):  # pandas' own rules for ragged rows
            return _catalogue_text_pandas(path)
        if r[name_at] == "NA":
            continue
        out[r[name_at]] = {k: r[j] for k, j in cols.items() if r[j] != "NA"}
    return out


def _plain_word(value: str) -> bool:
    """A value pandas can read only as text: not a number, not a boolean, with a letter in it."""
    try:
        float(value)
        return False
    except ValueError:
        return value.strip().lower() not in ("true", "false") and any(c.isalpha() for c in value)


def _catalogue_text_pandas(path: Path) -> dict[str, dict[str, str]]:
    from phenotypes.matrix.catalogue import read_catalogue

    frame = read_catalogue(path)
    return {r["name"]: {k: r[k] for k in CATALOGUE_TEXT if isinstance(r.get(k), str)}
            for r in frame.to_dict("records") if isinstance(r["name"], str)}


def load_phenotypes(path: str | Path, coding: str = "auto",
                    id_delim: str | None = None) -> tuple[TraitMatrix, dict[str, dict], list[Path]]:
    """(matrix, per-trait catalogue rows, files read) from a phenotypes folder, Parquet or text file."""
    p = Path(path)
    catalogue: dict[str, dict] = {}
    if p.is_dir():
        if not (p / "traits.parquet").is_file():
            raise InputError(f"{p}: no traits.parquet (expected a `hubscan phenotypes` output folder)")
        files = [p / "traits.parquet"]
        if (p / "catalogue.tsv").is_file():
            catalogue = catalogue_text(p / "catalogue.tsv")
            files.append(p / "catalogue.tsv")
        return read_matrix(files[0]), catalogue, files
    if not p.is_file():
        raise InputError(f"phenotype file {p} does not exist")
    if p.suffix == ".parquet":
        return read_matrix(p), catalogue, [p]
    return read_text(p, binary_coding=coding, id_delim=id_delim), catalogue, [p]


def load_covariates(paths: list[str], categorical=(), id_delim: str | None = None,
                    names="all", samples=None) -> TraitMatrix | None:
    """Covariate files joined on sample id (outer join: a sample absent from one file is NaN).
    Columns named in ``categorical`` are one-hot coded (:func:`one_hot`); the matrix's
    ``categorical`` attribute maps each to its levels, the first being the reference. With
    ``names`` (a list) the other columns of text files are not read (they may hold text). With
    ``samples`` (the analysed sample ids), a file sharing none of them is an error naming it."""
    if not paths:
        return None
    mats = []
    levels: dict[str, list[str]] = {}
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"covariate file {p} does not exist")
        if p.suffix == ".parquet":
            m = read_matrix(p)
            texts = {c: np.array([_level(v) for v in m.column(c)], dtype=object) for c in categorical if c in m.names}
            if texts:
                m = m.select([n for n in m.names if n not in texts])
        else:
            skip = set(categorical)
            if names != "all":
                with open(p) as fh:
                    skip |= set(fh.readline().split()[1:]) - set(names)
            m = read_text(p, missing_value="-9", id_delim=id_delim, skip_columns=skip)
            texts = read_text_columns(p, categorical, id_delim)
        if samples is not None and not np.isin(m.sample_ids.astype(str), np.asarray(samples, dtype=str)).any():
            raise InputError(f"covariate file {p} shares no sample with the {len(samples)} samples that have genotypes "
                             "and phenotypes: check its IIDs")
        for name, column in texts.items():
            names, values, levels[name] = one_hot(name, column)
            m = TraitMatrix(m.sample_ids, m.names + names, np.column_stack([m.values, values]),
                            list(m.types) + ["quantitative"] * len(names))
        mats.append(m)
    unknown = [c for c in categorical if c not in levels]
    if unknown:
        raise ConfigError(f"categorical covariate(s) {', '.join(unknown)} not in {', '.join(map(str, paths))}")
    names = [n for m in mats for n in m.names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"covariate column(s) {', '.join(repeated)} appear in more than one covariate file")
    ids = list(dict.fromkeys(s for m in mats for s in m.sample_ids.tolist()))
    values = np.column_stack([m.align(ids).values for m in mats])
    out = TraitMatrix(np.asarray(ids, dtype=object), names, values, ["quantitative"] * len(names))
    out.categorical = levels
    return out


def _level(value) -> str | None:
    """A numeric categorical value as its level name (1.0 -> '1'), None when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def read_text_columns(path: Path, names, id_delim: str | None = None) -> dict[str, np.ndarray]:
    """Columns ``names`` (those present) of a plink2/REGENIE text file as text, None where missing
    (NA, -9, empty ...), in file order, keyed by name; sample ids as :func:`read_text` reads them."""
    from phenotypes.matrix.io import MISSING_TOKENS

    lines = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip()]
    header = lines[0]
    wanted = {name: header.index(name) for name in names if name in header[1:]}
    missing = {t.upper() for t in MISSING_TOKENS} | {"-9"}
    return {name: np.array([None if row[j].upper() in missing else row[j] for row in lines[1:]], dtype=object)
            for name, j in wanted.items()}


def natural_key(level: str):
    """Sort key: numbers by value, before names in text order (plink2's natural sort, simplified)."""
    try:
        return (0, float(level), "")
    except ValueError:
        return (1, 0.0, level)


def one_hot(name: str, column: np.ndarray) -> tuple[list[str], np.ndarray, list[str]]:
    """(column names ``name=level``, (samples, levels - 1) 0/1 float64 with NaN where the value is
    missing, the levels in order) for a categorical covariate: one indicator per level but the
    first in natural order (the reference), as plink2 and REGENIE code categorical covariates."""
    present = sorted({v for v in column.tolist() if v is not None}, key=natural_key)
    if len(present) < 2:
        raise ConfigError(f"categorical covariate {name!r} has {len(present)} level(s): it needs at least 2")
    values = np.full((len(column), len(present) - 1), np.nan)
    known = np.array([v is not None for v in column.tolist()])
    for j, level in enumerate(present[1:]):
        values[known, j] = (column[known] == level).astype(np.float64)
    return [f"{name}={level}" for level in present[1:]], values, present


def dependent_column(x: np.ndarray) -> int | None:
    """Index of the first column of ``x`` (rows complete) that is a linear combination of the
    columns before it (an intercept is prepended), or None."""
    n = x.shape[0]
    basis = np.ones((n, 1)) / np.sqrt(n)
    for j in range(x.shape[1]):
        col = x[:, j] - x[:, j].mean()
        norm = np.linalg.norm(col)
        resid = col - basis @ (basis.T @ col)
        if norm == 0 or np.linalg.norm(resid) <= COLLINEAR_TOLERANCE * norm:
            return j
        basis = np.column_stack([basis, resid / np.linalg.norm(resid)])
    return None


def read_sample_ids(path: str, id_delim: str | None = None, what: str = "sample list") -> list[str]:
    """Sample ids of a plink2/REGENIE ``--keep``/``--remove`` file: ``FID IID`` or ``IID`` per line,
    with or without a ``#FID IID``/``#IID`` header; the IID, or with ``id_delim`` FID<id_delim>IID."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {p} does not exist")
    lines = [ln.split() for ln in p.read_text().splitlines() if ln.strip()]
    if lines and lines[0][0].lstrip("#").upper() in ("FID", "IID"):
        two = lines[0][0].lstrip("#").upper() == "FID"
        lines = lines[1:]
    else:
        two = bool(lines) and len(lines[0]) > 1
    if id_delim is not None and not two:
        raise InputError(f"{p}: sample ids joined as FID{id_delim}IID need FID and IID columns")
    for lineno, ln in enumerate(lines, start=1):
        if two and len(ln) < 2:
            raise InputError(f"{p}: line {lineno}: expected FID and IID, got {' '.join(ln)!r}")
    if not two:
        return [ln[0] for ln in lines]
    return [ln[1] if id_delim is None else f"{ln[0]}{id_delim}{ln[1]}" for ln in lines]


def selected_samples(cfg: ScanConfig, store: GenotypeStore) -> list[str]:
    """The store's sample ids kept by ``samples_file`` (plink2 --keep) and not in ``remove_file``
    (--remove), store order; the samples plink2 would load."""
    ids = store.sample_ids.tolist()
    if cfg.samples_file:
        wanted = set(read_sample_ids(cfg.samples_file, cfg.id_delim, "keep list"))
        ids = [s for s in ids if s in wanted]
    if cfg.remove_file:
        unwanted = set(read_sample_ids(cfg.remove_file, cfg.id_delim, "remove list"))
        ids = [s for s in ids if s not in unwanted]
    if not ids:
        raise InputError(f"no sample of the genotype store {cfg.genotypes} is left after "
                         + " and ".join(f for f in (cfg.samples_file and f"keeping {cfg.samples_file}",
                                                    cfg.remove_file and f"removing {cfg.remove_file}") if f))
    return ids


def prepare_inputs(cfg: ScanConfig, store: GenotypeStore) -> ScanInputs:
    """Load, align and check phenotypes and covariates against the store (see module docstring)."""
    matrix, catalogue, files = load_phenotypes(cfg.phenotypes, cfg.phenotype_coding, cfg.id_delim)
    names = matrix.names if cfg.traits == "all" else list(cfg.traits)
    unknown = [t for t in names if t not in matrix.names]
    if unknown:
        raise ConfigError(f"trait(s) not in {cfg.phenotypes}: {', '.join(unknown[:10])}"
                          + (f" (+{len(unknown) - 10} more)" if len(unknown) > 10 else "")
                          + f"; it has {len(matrix.names)} traits, e.g. {', '.join(matrix.names[:5])}")
    if not names:
        raise ConfigError(f"{cfg.phenotypes}: no traits to test")
    matrix = matrix.select(names)

    store_ids = store.sample_ids.tolist()
    pheno_ids = set(matrix.sample_ids.tolist())
    keep = [s for s in selected_samples(cfg, store) if s in pheno_ids]
    files += [Path(f) for f in (cfg.samples_file, cfg.remove_file) if f]
    if not keep:
        hint = "check that the phenotype IIDs are the genotype sample ids (linkage)"
        delim = next((d for d in "_-." if store_ids and all(d in s for s in store_ids[:100])), None)
        if cfg.id_delim is None and delim:
            hint += f"; the store's ids look like FID{delim}IID ({store_ids[0]}): try --id-delim {delim}"
        raise InputError(f"no sample is shared by the genotype store {cfg.genotypes} ({len(store_ids)} samples) "
                         f"and the phenotypes {cfg.phenotypes} ({len(pheno_ids)} samples)"
                         + (" after --keep/--remove" if cfg.samples_file or cfg.remove_file else "") + ": " + hint)
    log.info("samples: %d in the store, %d with phenotypes, %d analysed", len(store_ids), len(pheno_ids), len(keep))
    columns = store.sample_index(keep)
    values = matrix.align(keep).values

    cov = load_covariates(cfg.covariates, cfg.categorical_covariates, cfg.id_delim, cfg.covariate_names, keep)
    categorical = {}
    if cov is not None:
        cov_names = cov.names if cfg.covariate_names == "all" else _expand_categorical(cfg.covariate_names, cov)
        categorical = {name: {"reference": levels[0], "levels": levels} for name, levels in cov.categorical.items()
                       if any(c.startswith(f"{name}=") for c in cov_names)}
        for name, entry in categorical.items():
            log.info("categorical covariate %s: reference level %s, one indicator per other level (%s)", name,
                     entry["reference"], ", ".join(entry["levels"][1:]))
        missing = [c for c in cov_names if c not in cov.names]
        if missing:
            raise ConfigError(f"covariate(s) {', '.join(missing)} not in {', '.join(cfg.covariates)} "
                              f"(columns: {', '.join(cov.names)})")
        cov = cov.select(cov_names).align(keep)
        covariates, cov_names = cov.values, cov_names
        files += [Path(p) for p in cfg.covariates]
    else:
        if cfg.covariate_names != "all":
            raise ConfigError("covariate_names given without covariate files")
        covariates, cov_names = np.empty((len(keep), 0)), []
    complete = np.isfinite(covariates).all(axis=1)
    if covariates.shape[1] and not complete.any():
        raise InputError(f"no analysed sample has every covariate ({', '.join(cov_names)}): check the covariate "
                         "files' IIDs against the genotype sample ids")
    _check_covariates(covariates, cov_names, complete & np.isfinite(values).any(axis=1))

    groups, info = _group_traits(cfg, matrix, values, covariates, cov_names, complete, catalogue)
    predictions, step1 = None, None
    if cfg.predictions:
        predictions, step1 = load_predictions(cfg.predictions, names, keep, values, complete, groups)
        files += [Path(cfg.predictions)] + [Path(p.path) for p in predictions.values()]
    inputs = {str(p): {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files}
    inputs[str(Path(cfg.genotypes))] = store.record()
    return ScanInputs(columns, names, list(matrix.types), values, covariates, cov_names, groups, info, inputs,
                      predictions, step1, categorical)


def load_predictions(path: str, names: list[str], samples: list[str], values: np.ndarray, complete: np.ndarray,
                     groups: list[TraitGroup]) -> tuple[dict, dict]:
    """(trait column -> :class:`gwas.wgr.predictions.LocoPredictions` of the tested traits,
    aligned to ``samples``; the step-1 record for results.json: the list's and each .loco file's
    name (no folder) and sha256)."""
    from gwas.wgr.predictions import read_prediction_list

    tested = {int(t) for g in groups for t in g.traits}
    required = {names[t]: np.isfinite(values[:, t]) & complete for t in tested}
    read = read_prediction_list(path, names, samples, required=required,
                                optional=[n for t, n in enumerate(names) if t not in tested])
    by_column = {t: read[names[t]] for t in sorted(tested)}
    step1 = {"pred_list": Path(path).name, "sha256": sha256(path),
             "loco": {p.trait: {"file": Path(p.path).name, "sha256": sha256(p.path)} for p in by_column.values()}}
    return by_column, step1


def _expand_categorical(names: list[str], cov: TraitMatrix) -> list[str]:
    """Covariate names with each categorical covariate replaced by its indicator columns."""
    out = []
    for name in names:
        out += [c for c in cov.names if c.startswith(f"{name}=")] if name in cov.categorical else [name]
    return out


def _check_covariates(covariates: np.ndarray, names: list[str], rows: np.ndarray) -> None:
    if not covariates.shape[1]:
        return
    x = covariates[rows]
    if x.shape[0] == 0:
        raise InputError("no sample has both a phenotype and every covariate")
    for j, name in enumerate(names):
        if np.ptp(x[:, j]) == 0:
            raise ConfigError(f"covariate {name!r} has no variance in the analysed samples (all {x[0, j]:g}); "
                              "leave it out (covariate_names)")
    j = dependent_column(x)
    if j is not None:
        raise ConfigError(f"covariate {names[j]!r} is perfectly collinear with the intercept and the covariates "
                          f"before it ({', '.join(names[:j]) or 'none'}); leave one out")


def constant_within_traits(covariates: np.ndarray, masks: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(traits, covariates) bool: covariate j takes one value on the samples of trait t (``masks``
    (samples, traits) bool), e.g. sex within a sex-restricted phecode; True for a trait with no
    samples. Per-trait variances from one matrix product per ``chunk`` traits pick the candidates
    (variance within rounding of zero), which are then checked exactly on their samples."""
    n, k = covariates.shape
    out = np.zeros((masks.shape[1], k), dtype=bool)
    if k == 0:
        return out
    finite = np.where(np.isfinite(covariates), covariates, 0.0)
    centred = finite - finite.mean(axis=0)
    scale = np.maximum((centred ** 2).mean(axis=0), 1e-300)
    moments = np.hstack([centred, centred ** 2])
    for a in range(0, masks.shape[1], chunk):
        m = masks[:, a:a + chunk]
        count = m.sum(axis=0)[:, None]
        sums = m.T.astype(np.float64) @ moments
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums[:, :k] / count
            variance = sums[:, k:] / count - mean ** 2
        candidates = (count == 0) | (variance <= 1e-8 * scale)
        for t, j in zip(*np.nonzero(candidates)):
            x = covariates[m[:, t], j]
            out[a + t, j] = len(x) == 0 or x.min() == x.max()
    return out


def _group_traits(cfg, matrix, values, covariates, cov_names, complete, catalogue):
    groups: dict[tuple, list[int]] = {}
    info = []
    constant = constant_within_traits(covariates, np.isfinite(values) & complete[:, None])
    for t, (name, kind) in enumerate(zip(matrix.names, matrix.types)):
        rows = np.isfinite(values[:, t]) & complete
        y = values[rows, t]
        entry = {"name": name, "type": kind, "n": int(rows.sum())}
        row = catalogue.get(name) or {}
        for key in ("source", "definition", "category"):
            if isinstance(row.get(key), str):
                entry[key] = row[key]
        if kind == BINARY:
            entry["n_cases"], entry["n_controls"] = int((y == 1).sum()), int((y == 0).sum())
            bad = y[(y != 0) & (y != 1)]
            if len(bad):
                raise InputError(f"binary trait {name!r} has value {bad[0]:g}: expected 0/1 or 1/2")
            low = min(entry["n_cases"], entry["n_controls"])
            if low < cfg.min_cases:
                entry.update(status="skipped", reason=f"{low} {'cases' if entry['n_cases'] == low else 'controls'}"
                             f" < min_cases {cfg.min_cases}")
                info.append(entry)
                continue
        elif len(y) < 3 or np.ptp(y) == 0:
            entry.update(status="skipped", reason="fewer than 3 samples or no variance")
            info.append(entry)
            continue
        keep = [j for j in range(covariates.shape[1]) if not constant[t, j]]
        dropped = [cov_names[j] for j in range(covariates.shape[1]) if j not in keep]
        entry.update(status="tested", model="logistic" if kind == BINARY else "linear",
                     test=cfg.binary_test if kind == BINARY else "linear-loco" if cfg.predictions else "linear",
                     covariates=[cov_names[j] for j in keep], covariates_dropped=dropped)
        info.append(entry)
        groups.setdefault((kind, tuple(keep)), []).append(t)
    out = [TraitGroup(kind, np.array(ts), np.array(cols, dtype=np.int64)) for (kind, cols), ts in groups.items()]
    if not out:
        raise ConfigError("no trait can be tested: " + "; ".join(f"{e['name']}: {e['reason']}" for e in info[:10]))
    return out, info
