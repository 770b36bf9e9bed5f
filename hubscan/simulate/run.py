"""Simulate a whole hub cohort into one folder: genotypes, health records, planted truth, manifest.

Layout of the cohort folder (every file written atomically; ``manifest.json`` last, so a folder
with a manifest is complete)::

    genotypes.vcf.gz (+ .tbi)      bgzipped, tabix-indexed VCF 4.2 (GT, and DS/GP for imputed variants)
    genotypes.bgen, genotypes.sample   BGEN 1.2, layout 2, zlib, 8 bits by default, ref-first
    variants.tsv                   one row per variant: id, position, alleles, frequency, imputation r2
    omop/<table>.csv|.parquet      OMOP CDM v5.4 subset (person, observation_period, visit_occurrence,
                                   condition_occurrence, measurement)
    hub_events.csv                 the same events in the hub long form
                                   (patient_id,date,vocabulary,code,value,unit), ICD-10 undotted
    linkage.csv                    patient_id -> sample_id (not every patient genotyped, not every
                                   sample linked)
    truth/                         the causal variants with their effects, the simulated traits and
                                   (with a polygenic background) polygenic_effects.tsv
    manifest.json                  the settings, hubscan's version, and each file's size and SHA-256
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from hubscan import __version__
from hubscan.errors import ConfigError
from hubscan.files import atomic_file, prepare_output_dir
from hubscan.simulate.cohort import CohortSpec, simulate_samples

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RECORD_FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class RecordOptions:
    """How the health records are delivered.

    fmt: "csv" or "parquet" (the OMOP tables; the hub extract and linkage are always CSV).
    ungenotyped_fraction: extra patients without genotypes, as a share of the samples (>= 0).
    unlinked_fraction: share of genotyped samples with no linkage row, in [0, 1).
    """

    fmt: str = "csv"
    ungenotyped_fraction: float = 0.1
    unlinked_fraction: float = 0.02

    def __post_init__(self) -> None:
        if self.fmt not in RECORD_FORMATS:
            raise ConfigError(f"records format must be one of {', '.join(RECORD_FORMATS)}, got {self.fmt!r}")
        if not 0.0 <= float(self.ungenotyped_fraction) <= 10.0:
            raise ConfigError(f"ungenotyped fraction must be in [0, 10], got {self.ungenotyped_fraction}")
        if not 0.0 <= float(self.unlinked_fraction) < 1.0:
            raise ConfigError(f"unlinked fraction must be in [0, 1), got {self.unlinked_fraction}")


@dataclass(frozen=True)
class CohortFolder:
    """A simulated cohort on disk: its folder and the manifest's file list (relative path -> bytes)."""

    root: Path
    files: dict[str, int]

    def path(self, name: str) -> Path:
        return self.root / name


def sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def simulate_cohort(spec: CohortSpec, out_dir, records: RecordOptions = RecordOptions(), spark=None,
                    bgen_bits: int = 8) -> CohortFolder:
    """Simulate ``spec`` into ``out_dir`` (layout in the module docstring) and return it.

    Genotype parts run as Spark tasks when ``spark`` is given (a rerun resumes finished parts);
    records are generated in bounded-memory chunks of people. Deterministic: the same ``spec``
    (including its seed) and options give byte-identical files.
    """
    from hubscan.simulate.genotype_files import BgenOptions
    from hubscan.simulate.genotypes import write_genotype_files
    from hubscan.simulate.records import write_records
    from hubscan.simulate.traits import plant_traits, write_truth

    BgenOptions(bits=bgen_bits)  # settings are checked before anything is written
    out = prepare_output_dir(out_dir)
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        manifest_path.unlink()  # the folder is being rewritten: it is not complete until the end
    started = time.monotonic()
    samples = simulate_samples(spec)
    log.info("simulating %d samples x %d variants on chromosomes %s, seed %d", spec.n_samples,
             spec.n_variants, ",".join(spec.chromosomes), spec.seed)
    write_genotype_files(spec, samples, out, spark=spark, bits=bgen_bits,
                         bgen_male_x_diploid="X" in spec.chromosomes)
    planted = plant_traits(spec, samples, ungenotyped_fraction=records.ungenotyped_fraction)
    write_truth(planted, out, sample_ids=samples.ids)
    write_records(spec, samples, planted, out, fmt=records.fmt, unlinked_fraction=records.unlinked_fraction)
    files = {str(p.relative_to(out)): p for p in sorted(out.rglob("*"))
             if p.is_file() and not _is_run_file(p.relative_to(out))}
    manifest = {
        "hubscan_version": __version__,
        "cohort": spec.to_dict(),
        "records": {"format": records.fmt, "ungenotyped_fraction": records.ungenotyped_fraction,
                    "unlinked_fraction": records.unlinked_fraction},
        "bgen_bits": bgen_bits,
        "files": {name: {"bytes": p.stat().st_size, "sha256": sha256(p)} for name, p in files.items()},
    }
    with atomic_file(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log.info("cohort written to %s in %.1f s", out, time.monotonic() - started)
    return CohortFolder(out, {name: entry["bytes"] for name, entry in manifest["files"].items()})


def _is_run_file(rel: Path) -> bool:
    """Spark scratch, logs and resumable-part folders (``_*``) and hidden files are not part of the cohort."""
    return rel.parts[0].startswith(("_", ".")) or rel.name.startswith(".")


def read_manifest(cohort_dir) -> dict:
    """The manifest of a complete cohort folder (raises InputError if the folder is incomplete)."""
    from hubscan.errors import InputError

    path = Path(cohort_dir) / MANIFEST
    if not path.is_file():
        raise InputError(f"{cohort_dir} is not a complete simulated cohort (no {MANIFEST}); rerun `hubscan simulate`")
    return json.loads(path.read_text())
