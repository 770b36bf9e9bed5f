"""The configuration of a whole-genome regression step 1 (``hubscan wgr``): YAML and/or flags.

.. code-block:: yaml

    genotypes: genotype-store        # usually LD-pruned common variants: variant_ids_file from `hubscan qc`
    phenotypes: phenotypes           # as `hubscan gwas` (folder, traits.parquet or FID IID text)
    traits: [ldl, bmi]               # or "all"
    covariates: [phenotypes/covariates.tsv, qc/pcs.tsv]
    binary: false                    # REGENIE's --bt: every trait must be binary (0/1 or 1/2)
    min_maf: 0.01                    # variant filters as `hubscan gwas`
    variant_ids_file: qc/pruned.txt
    block_size: 1000                 # REGENIE --bsize: variants per level-0 block (and per task)
    cv_folds: 5                      # REGENIE --cv
    loocv: false                     # REGENIE --loocv (forced for binary traits under 5,000 samples)
    l0_h2: [0.01, 0.25, 0.5, 0.75, 0.99]   # REGENIE --setl0: level-0 ridge grid as heritabilities
    l1_h2: [0.01, 0.25, 0.5, 0.75, 0.99]   # REGENIE --setl1
    prefix: wgr                      # files <prefix>_pred.list and <prefix>_<k>.loco
    out: wgr-step1
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from gwas.scan.config import ScanConfig, resolve_path
from gwas.wgr.model import DEFAULT_H2
from hubscan.errors import ConfigError


@dataclass
class WgrConfig:
    genotypes: str = ""
    phenotypes: str = ""
    out: str = ""
    prefix: str = "wgr"
    traits: list[str] | str = "all"
    covariates: list[str] = field(default_factory=list)
    covariate_names: list[str] | str = "all"
    samples_file: str | None = None
    phenotype_coding: str = "auto"           # text phenotypes: auto (0/1 and 1/2 columns binary), 01 or 12
    binary: bool = False
    min_cases: int = 50
    min_maf: float | None = None
    min_info: float | None = None
    min_call_rate: float | None = None
    regions: list[str] = field(default_factory=list)
    variant_ids: list[str] = field(default_factory=list)
    variant_ids_file: str | None = None
    block_size: int = 1000
    cv_folds: int = 5
    loocv: bool = False
    l0_h2: list[float] = field(default_factory=lambda: list(DEFAULT_H2))
    l1_h2: list[float] = field(default_factory=lambda: list(DEFAULT_H2))

    def to_dict(self) -> dict:
        return asdict(self)

    def scan_config(self) -> ScanConfig:
        """The scan configuration holding the inputs and variant filters, for the scans' loaders."""
        return ScanConfig(job="gwas", genotypes=self.genotypes, phenotypes=self.phenotypes, out=self.out,
                          traits=self.traits, covariates=self.covariates, covariate_names=self.covariate_names,
                          samples_file=self.samples_file, phenotype_coding=self.phenotype_coding,
                          min_cases=self.min_cases, min_maf=self.min_maf, min_info=self.min_info,
                          min_call_rate=self.min_call_rate, regions=self.regions, variant_ids=self.variant_ids,
                          variant_ids_file=self.variant_ids_file)


_TYPES = {"genotypes": (str,), "phenotypes": (str,), "out": (str,), "prefix": (str,), "traits": (str, list),
          "covariates": (str, list), "covariate_names": (str, list), "samples_file": (str, type(None)),
          "phenotype_coding": (str,), "binary": (bool,), "min_cases": (int,),
          "min_maf": (float, int, type(None)), "min_info": (float, int, type(None)),
          "min_call_rate": (float, int, type(None)), "regions": (list, str), "variant_ids": (list, str),
          "variant_ids_file": (str, type(None)), "block_size": (int,), "cv_folds": (int,), "loocv": (bool,),
          "l0_h2": (list,), "l1_h2": (list,)}
_PATHS = ("genotypes", "phenotypes", "out", "samples_file", "variant_ids_file")
assert set(_TYPES) == {f.name for f in fields(WgrConfig)}


def load_config(path: str | os.PathLike | None, overrides: dict | None = None) -> WgrConfig:
    """Read the YAML file (optional), apply ``overrides`` (flags; None values ignored), validate."""
    raw: dict = {}
    where = "command line"
    if path is not None:
        import yaml

        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"run configuration {p} does not exist")
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{p}: the configuration must be a mapping of keys to values")
        raw = {k: resolve_path(k, v, p.parent, _PATHS) for k, v in raw.items()}
        where = str(p)
    for k, v in (overrides or {}).items():
        if v is not None and v != [] and v is not False:
            raw[k] = resolve_path(k, v, Path.cwd(), _PATHS)
    return validate(raw, where)


def validate(raw: dict, where: str = "configuration") -> WgrConfig:
    unknown = sorted(set(raw) - set(_TYPES))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(_TYPES))}")
    for key, value in raw.items():
        types = _TYPES[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ConfigError(f"{where}: {key} must be {names}, got {type(value).__name__} {value!r}")
    for key in ("covariates", "regions", "variant_ids", "traits", "covariate_names"):
        if isinstance(raw.get(key), str) and not (key in ("traits", "covariate_names") and raw[key] == "all"):
            raw[key] = [raw[key]]
    cfg = WgrConfig(**raw)
    for key in ("genotypes", "phenotypes", "out"):
        if not getattr(cfg, key):
            raise ConfigError(f"{where}: {key} is required")
    if cfg.block_size < 2:
        raise ConfigError(f"{where}: block_size (--bsize) must be at least 2, got {cfg.block_size}")
    if cfg.cv_folds < 2:
        raise ConfigError(f"{where}: cv_folds (--cv) must be at least 2, got {cfg.cv_folds}")
    for key in ("l0_h2", "l1_h2"):
        grid = getattr(cfg, key)
        if not grid or not all(isinstance(h, (int, float)) and not isinstance(h, bool) and 0 < h < 1 for h in grid):
            raise ConfigError(f"{where}: {key} must be a list of heritabilities in (0, 1), got {grid!r}")
        setattr(cfg, key, [float(h) for h in grid])
    if cfg.phenotype_coding not in ("auto", "01", "12"):
        raise ConfigError(f"{where}: phenotype_coding must be 'auto', '01' or '12', got {cfg.phenotype_coding!r}")
    if cfg.min_cases < 1:
        raise ConfigError(f"{where}: min_cases must be at least 1, got {cfg.min_cases}")
    if any(c.isspace() for c in cfg.prefix) or "/" in cfg.prefix or not cfg.prefix:
        raise ConfigError(f"{where}: prefix must be a file name without spaces or '/', got {cfg.prefix!r}")
    for key in ("min_maf", "min_info", "min_call_rate"):
        v = getattr(cfg, key)
        if v is not None and not 0 <= v <= 1:
            raise ConfigError(f"{where}: {key} must be in [0, 1], got {v}")
    return cfg
