"""Everything a scan needs besides genotypes, loaded and checked once on the driver.

Samples: those of the genotype store that also have phenotypes (and are in ``samples_file`` when
given), in the store's order. Phenotypes: a `hubscan phenotypes` folder (``traits.parquet``,
with ``catalogue.tsv`` for descriptions), a ``.parquet`` matrix, or a plink2/REGENIE text file
(``FID IID ...``, ``NA`` missing). Covariates: files in either layout joined on IID; a sample
missing a covariate is left out of every trait (as plink2 and Hail do).

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
from gwas.store.reader import GenotypeStore
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

    @property
    def tested(self) -> list[str]:
        return [self.trait_names[t] for g in self.groups for t in g.traits]


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_phenotypes(path: str | Path, coding: str = "01") -> tuple[TraitMatrix, dict[str, dict], list[Path]]:
    """(matrix, per-trait catalogue rows, files read) from a phenotypes folder, Parquet or text file."""
    p = Path(path)
    catalogue: dict[str, dict] = {}
    if p.is_dir():
        if not (p / "traits.parquet").is_file():
            raise InputError(f"{p}: no traits.parquet (expected a `hubscan phenotypes` output folder)")
        files = [p / "traits.parquet"]
        if (p / "catalogue.tsv").is_file():
            from phenotypes.matrix.catalogue import read_catalogue

            frame = read_catalogue(p / "catalogue.tsv")
            catalogue = {r["name"]: r for r in frame.to_dict("records")}
            files.append(p / "catalogue.tsv")
        return read_matrix(files[0]), catalogue, files
    if not p.is_file():
        raise InputError(f"phenotype file {p} does not exist")
    if p.suffix == ".parquet":
        return read_matrix(p), catalogue, [p]
    return read_text(p, binary_coding=coding), catalogue, [p]


def load_covariates(paths: list[str]) -> TraitMatrix | None:
    """Covariate files joined on sample id (outer join: a sample absent from one file is NaN)."""
    if not paths:
        return None
    mats = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"covariate file {p} does not exist")
        m = read_matrix(p) if p.suffix == ".parquet" else read_text(p, missing_value="-9")
        mats.append(m)
    names = [n for m in mats for n in m.names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"covariate column(s) {', '.join(repeated)} appear in more than one covariate file")
    ids = list(dict.fromkeys(s for m in mats for s in m.sample_ids.tolist()))
    values = np.column_stack([m.align(ids).values for m in mats])
    return TraitMatrix(np.asarray(ids, dtype=object), names, values, ["quantitative"] * len(names))


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


def _read_ids(path: str) -> list[str]:
    lines = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip()]
    if lines and lines[0][0].lstrip("#").upper() in ("FID", "IID"):
        col = 1 if lines[0][0].lstrip("#").upper() == "FID" else 0
        return [ln[col] for ln in lines[1:]]
    return [ln[1] if len(ln) > 1 else ln[0] for ln in lines]


def prepare_inputs(cfg: ScanConfig, store: GenotypeStore) -> ScanInputs:
    """Load, align and check phenotypes and covariates against the store (see module docstring)."""
    matrix, catalogue, files = load_phenotypes(cfg.phenotypes, cfg.phenotype_coding)
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
    keep = [s for s in store_ids if s in pheno_ids]
    if cfg.samples_file:
        wanted = set(_read_ids(cfg.samples_file))
        keep = [s for s in keep if s in wanted]
        files.append(Path(cfg.samples_file))
    if not keep:
        raise InputError(f"no sample is shared by the genotype store {cfg.genotypes} ({len(store_ids)} samples) "
                         f"and the phenotypes {cfg.phenotypes} ({len(pheno_ids)} samples)"
                         + (f" within {cfg.samples_file}" if cfg.samples_file else "")
                         + ": check that the phenotype IIDs are the genotype sample ids (linkage)")
    log.info("samples: %d in the store, %d with phenotypes, %d analysed", len(store_ids), len(pheno_ids), len(keep))
    columns = store.sample_index(keep)
    values = matrix.align(keep).values

    cov = load_covariates(cfg.covariates)
    if cov is not None:
        cov_names = cov.names if cfg.covariate_names == "all" else list(cfg.covariate_names)
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
    inputs = {str(p): {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files}
    success = Path(cfg.genotypes) / "_SUCCESS"
    inputs[str(Path(cfg.genotypes))] = {"store_record": success.read_text().strip()}
    return ScanInputs(columns, names, list(matrix.types), values, covariates, cov_names, groups, info, inputs)


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
                raise InputError(f"binary trait {name!r} has value {bad[0]:g}: expected 0/1 (or 1/2 with "
                                 "phenotype_coding: '12')")
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
                     test=cfg.binary_test if kind == BINARY else "linear",
                     covariates=[cov_names[j] for j in keep], covariates_dropped=dropped)
        info.append(entry)
        groups.setdefault((kind, tuple(keep)), []).append(t)
    out = [TraitGroup(kind, np.array(ts), np.array(cols, dtype=np.int64)) for (kind, cols), ts in groups.items()]
    if not out:
        raise ConfigError("no trait can be tested: " + "; ".join(f"{e['name']}: {e['reason']}" for e in info[:10]))
    return out, info
