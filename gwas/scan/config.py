"""The run configuration of a GWAS or PheWAS scan: YAML file and/or command-line flags.

Every key, its type and default is in :data:`KEYS`; unknown keys and wrong types are refused with
the key named, before any work starts. Paths are resolved against the YAML file's folder.

.. code-block:: yaml

    genotypes: genotype-store            # hubscan's genotype store (hubscan ingest), or read in place:
                                         #   PREFIX.bed, x.bgen or PREFIX.pgen
    phenotypes: phenotypes               # `hubscan phenotypes` folder, a traits.parquet, or FID IID text
    traits: [ldl, type_2_diabetes]       # or "all" (default)
    covariates: [phenotypes/covariates.tsv, qc/pcs.tsv]   # files joined on IID
    covariate_names: all                 # or a list of columns
    binary_test: firth-fallback          # score, wald, lrt, firth, firth-fallback, spa, firth-approx
    predictions: step1_pred.list         # REGENIE step 1 (or hubscan wgr) LOCO predictions: step 2
    firth_threshold: 0.05                # firth-fallback: Firth where the first test's p is below this
    min_cases: 50                        # binary traits with fewer cases (or controls) are not tested
    min_maf: 0.01                        # variant filters (any of min_maf, min_info, min_call_rate,
    regions: ["1:1-5000000"]             #   regions, variant_ids, variant_ids_file)
    chromosomes: ["1-22", "X"]           # plink2 --chr: lists and ranges, "chr1" and "1" alike
    min_mac: 20                          # minimum minor-allele count (plink2 --mac, REGENIE --minMAC)
    exclude_variants_file: drop.txt      # variant ids left out (plink2/REGENIE --exclude)
    samples_file: keep.txt               # samples kept, FID IID or IID (plink2/REGENIE --keep)
    remove_file: remove.txt              # samples left out (plink2/REGENIE --remove)
    categorical_covariates: [site]       # one-hot, first level (sorted) the reference (--catCovarList)
    id_delim: "_"                        # store ids are FID<delim>IID (REGENIE BGENs; plink2 --id-delim)
    block_size: 5000                     # variants per Spark task
    trait_chunk: 50                      # traits per Spark task (PheWAS: traits spread over tasks)
    genome_build: GRCh37                 # the store's coordinates, recorded for publishing
    out: gwas-results
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from hubscan.errors import ConfigError

BINARY_TESTS = ("score", "wald", "lrt", "firth", "firth-fallback", "spa", "firth-approx")


@dataclass
class ScanConfig:
    """A resolved scan configuration (see the module docstring for the YAML form)."""

    job: str = "gwas"                       # "gwas" or "phewas"
    genotypes: str = ""
    phenotypes: str = ""
    out: str = ""
    traits: list[str] | str = "all"
    covariates: list[str] = field(default_factory=list)
    covariate_names: list[str] | str = "all"
    samples_file: str | None = None          # keep only these sample ids (one per line, or FID IID)
    phenotype_coding: str = "auto"           # binary coding of text phenotype files: auto (0/1 and 1/2), 01 or 12
    binary_test: str = "firth-fallback"
    firth_threshold: float = 0.05
    firth_p: str = "lrt"                     # Firth p-value: penalized LRT (logistf, Hail) or wald (plink2)
    min_cases: int = 50
    min_maf: float | None = None
    min_info: float | None = None
    min_call_rate: float | None = None
    regions: list[str] = field(default_factory=list)
    variant_ids: list[str] = field(default_factory=list)
    variant_ids_file: str | None = None
    block_size: int = 5000
    trait_chunk: int = 50                    # traits per task at most
    genome_build: str | None = None          # GRCh37 or GRCh38: recorded for publishing
    predictions: str | None = None           # REGENIE-style _pred.list of LOCO predictions (step 2)
    chromosomes: list[str] = field(default_factory=list)   # plink2 --chr: "1-22", "X", "chr3"
    min_mac: float | None = None             # minimum minor-allele count
    exclude_variants_file: str | None = None
    remove_file: str | None = None
    categorical_covariates: list[str] = field(default_factory=list)
    id_delim: str | None = None              # store sample ids are FID<id_delim>IID

    def to_dict(self) -> dict:
        return asdict(self)


#: key -> accepted Python types (None = may be null)
KEYS: dict[str, tuple] = {
    "job": (str,), "genotypes": (str,), "phenotypes": (str,), "out": (str,),
    "traits": (str, list), "covariates": (str, list), "covariate_names": (str, list),
    "samples_file": (str, type(None)), "phenotype_coding": (str,),
    "binary_test": (str,), "firth_threshold": (float, int), "firth_p": (str,), "min_cases": (int,),
    "min_maf": (float, int, type(None)), "min_info": (float, int, type(None)),
    "min_call_rate": (float, int, type(None)), "regions": (list, str), "variant_ids": (list, str),
    "variant_ids_file": (str, type(None)), "block_size": (int,), "trait_chunk": (int,),
    "genome_build": (str, type(None)), "predictions": (str, type(None)), "chromosomes": (list, str),
    "min_mac": (float, int, type(None)),
    "exclude_variants_file": (str, type(None)), "remove_file": (str, type(None)),
    "categorical_covariates": (list, str), "id_delim": (str, type(None)),
}
PATH_KEYS = ("genotypes", "phenotypes", "out", "samples_file", "variant_ids_file", "exclude_variants_file",
             "remove_file", "predictions")
assert set(KEYS) == {f.name for f in fields(ScanConfig)}


def load_config(path: str | os.PathLike | None, overrides: dict | None = None, job: str = "gwas") -> ScanConfig:
    """Read the YAML file (optional), apply ``overrides`` (flags; None values ignored), validate."""
    raw: dict = {}
    base = Path.cwd()
    if path is not None:
        from hubscan.files import load_yaml

        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"run configuration {p} does not exist")
        raw = load_yaml(p, "run configuration") or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{p}: the configuration must be a mapping of keys to values")
        base = p.parent
        where = str(p)
        raw = {k: resolve_path(k, v, base) for k, v in raw.items()}
    else:
        where = "command line"
    for k, v in (overrides or {}).items():
        if v is not None and v != []:
            raw[k] = resolve_path(k, v, Path.cwd())
    raw.setdefault("job", job)
    return validate(raw, where)


def resolve_path(key, value, base: Path, path_keys=PATH_KEYS):
    """A configuration value with its relative paths (keys in ``path_keys``, and ``covariates``)
    made absolute against ``base``: the YAML file's folder, or the working folder for flags."""
    if key in path_keys and isinstance(value, str):
        return str((base / value).resolve()) if not os.path.isabs(value) else value
    if key == "covariates":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list):
            return [str((base / v).resolve()) if isinstance(v, str) and not os.path.isabs(v) else v for v in items]
    return value


def validate(raw: dict, where: str = "configuration") -> ScanConfig:
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(KEYS))}")
    for key, value in raw.items():
        types = KEYS[key]
        if isinstance(value, bool) or not isinstance(value, types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ConfigError(f"{where}: {key} must be {names}, got {type(value).__name__} {value!r}")
    for key in ("covariates", "regions", "variant_ids", "chromosomes", "categorical_covariates"):
        if isinstance(raw.get(key), str):
            raw[key] = [raw[key]]
    for key in ("traits", "covariate_names", "covariates", "regions", "variant_ids", "chromosomes",
                "categorical_covariates"):
        value = raw.get(key)
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {key} must be a list of strings")
    cfg = ScanConfig(**raw)
    for key in ("genotypes", "phenotypes", "out"):
        if not getattr(cfg, key):
            raise ConfigError(f"{where}: {key} is required")
    if cfg.job not in ("gwas", "phewas"):
        raise ConfigError(f"{where}: job must be gwas or phewas, got {cfg.job!r}")
    if cfg.binary_test not in BINARY_TESTS:
        raise ConfigError(f"{where}: binary_test must be one of {', '.join(BINARY_TESTS)}, got {cfg.binary_test!r}")
    if cfg.firth_p not in ("lrt", "wald"):
        raise ConfigError(f"{where}: firth_p must be lrt or wald, got {cfg.firth_p!r}")
    if cfg.phenotype_coding not in ("auto", "01", "12"):
        raise ConfigError(f"{where}: phenotype_coding must be 'auto', '01' or '12', got {cfg.phenotype_coding!r}")
    if isinstance(cfg.traits, str) and cfg.traits != "all":
        cfg.traits = [cfg.traits]
    if isinstance(cfg.covariate_names, str) and cfg.covariate_names != "all":
        cfg.covariate_names = [cfg.covariate_names]
    if not 0 < cfg.firth_threshold <= 1:
        raise ConfigError(f"{where}: firth_threshold must be in (0, 1], got {cfg.firth_threshold}")
    if cfg.min_cases < 1:
        raise ConfigError(f"{where}: min_cases must be at least 1, got {cfg.min_cases}")
    if cfg.trait_chunk < 1:
        raise ConfigError(f"{where}: trait_chunk must be positive, got {cfg.trait_chunk}")
    if cfg.block_size < 1:
        raise ConfigError(f"{where}: block_size must be positive, got {cfg.block_size}")
    if cfg.genome_build is not None:
        builds = {"grch37": "GRCh37", "hg19": "GRCh37", "grch38": "GRCh38", "hg38": "GRCh38"}
        if cfg.genome_build.lower() not in builds:
            raise ConfigError(f"{where}: genome_build must be GRCh37 or GRCh38 (or hg19/hg38), got {cfg.genome_build!r}")
        cfg.genome_build = builds[cfg.genome_build.lower()]
    if cfg.min_mac is not None and cfg.min_mac < 0:
        raise ConfigError(f"{where}: min_mac must be at least 0, got {cfg.min_mac}")
    if cfg.id_delim is not None and (len(cfg.id_delim) != 1 or cfg.id_delim.isspace()):
        raise ConfigError(f"{where}: id_delim must be one character (not a space), got {cfg.id_delim!r}")
    if cfg.chromosomes:
        from gwas.scan.chromosomes import parse_chromosomes

        try:
            parse_chromosomes(cfg.chromosomes)
        except ValueError as exc:
            raise ConfigError(f"{where}: chromosomes: {exc}") from None
    for key in ("min_maf", "min_info", "min_call_rate"):
        v = getattr(cfg, key)
        if v is not None and not 0 <= v <= 1:
            raise ConfigError(f"{where}: {key} must be in [0, 1], got {v}")
    return cfg
