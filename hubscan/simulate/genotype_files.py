"""Write the simulated genotypes as VCF and BGEN, in resumable parts, optionally on Spark.

Outputs in ``out_dir``:

* ``genotypes.vcf.gz`` + ``.tbi`` — VCF 4.2, BGZF, tabix. Genotyped variants: FORMAT ``GT`` (phased,
  missing ``./.``); imputed variants: ``GT:DS:GP`` (GT = the most likely = true genotype).
  INFO: ``AF`` (ALT frequency of the written calls/dosages), imputed variants also ``R2`` (MaCH r²
  estimate: observed dosage variance / binomial variance at the observed AF) and the flag ``IMP``.
  Males on X are haploid (``0``/``1``).
* ``genotypes.bgen`` + ``genotypes.sample`` — BGEN 1.2 layout 2, zlib, ``bits`` bits per probability
  (default 8), sample ids in the file and in the Oxford ``.sample`` (with sex). First allele = REF
  (plink2: ``--bgen genotypes.bgen ref-first``). Genotyped calls are probability 1 on the call,
  missing calls have the missing bit set; imputed variants carry the rounded GP.
* ``variants.tsv`` — :func:`~hubscan.simulate.genotypes.variant_table` plus ``af`` and ``r2``
  (as in the VCF INFO; r2 = 1 for genotyped variants).

Parts: consecutive runs of ``part_blocks`` generation blocks of one chromosome. Each part writes
``_genotype_parts/<part>.vcf.gz`` (records only), ``<part>.bgen`` (variant blocks only) and
``<part>.stats.npy`` atomically, then a :class:`~hubscan.parts.PartTracker` marker, so a killed run
resumes where it stopped. The driver then joins the parts (BGZF members concatenate once their
end-of-file blocks are dropped; BGEN variant blocks follow a header with the total count), writes
every output atomically, verifies sizes and counts, and removes the parts. Output bytes depend only
on (spec, samples, bits, compression level): serial and Spark runs are byte-identical.

Speed (2-core VM, one core): about 3.4 million genotypes/s end to end, e.g. 10,000 samples x
100,000 variants in 4.8 min (VCF 1.06 GB, BGEN 365 MB, peak memory 0.7 GB); the BGZF compression of
the VCF (htslib, level 3) is the largest single cost.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwas.io.bgen import writer as bgen
from gwas.io.vcf import writer as vcf
from hubscan.errors import ConfigError, OutputError
from hubscan.files import atomic_file, prepare_output_dir
from hubscan.parts import PartTracker
from hubscan.progress import Progress
from hubscan.simulate.cohort import GRCH37_LENGTHS, CohortSpec, Samples
from hubscan.simulate.genotypes import (BLOCK_VARIANTS, GenotypeFiles, genotype_block, meioses, n_blocks,
                                        variant_table, variants_per_chromosome)

log = logging.getLogger(__name__)

JOB = "simulate-genotypes"
PARTS_DIR = "_genotype_parts"
FORMAT_VERSION = 1
VCF_INFO = [
    'ID=AF,Number=A,Type=Float,Description="ALT allele frequency of the written calls (imputed: of the dosages)"',
    'ID=R2,Number=1,Type=Float,Description="Imputation quality: MaCH r2 estimate (dosage variance / binomial variance)"',
    'ID=IMP,Number=0,Type=Flag,Description="Imputed variant (FORMAT GT:DS:GP)"',
]
VCF_FORMAT = [
    'ID=GT,Number=1,Type=String,Description="Genotype (phased; imputed variants: most likely genotype)"',
    'ID=DS,Number=A,Type=Float,Description="ALT dosage: GP-weighted ALT allele count"',
    'ID=GP,Number=G,Type=Float,Description="Genotype posterior probabilities (0, 1, 2 ALT copies)"',
]


@dataclass(frozen=True)
class BgenOptions:
    """How the BGEN is written. bits: bits per probability (1..32); level: zlib level (0..9);
    male_x_diploid: write males on X as diploid homozygotes (REF/REF or ALT/ALT) instead of haploid —
    Hail's import_bgen accepts only diploid samples."""

    bits: int = 8
    level: int = 4
    male_x_diploid: bool = False

    def __post_init__(self):
        bgen.check_bits(self.bits)
        if isinstance(self.level, bool) or not isinstance(self.level, int) or not 0 <= self.level <= 9:
            raise ConfigError(f"compression_level must be an integer in 0..9, got {self.level!r}")


@dataclass(frozen=True)
class Part:
    name: str
    chrom: str
    first_block: int
    end_block: int  # exclusive
    n_variants: int


def plan_parts(spec: CohortSpec, part_blocks: int) -> list[Part]:
    """Parts in output order: per chromosome (spec order), runs of ``part_blocks`` blocks."""
    counts = variants_per_chromosome(spec)
    parts = []
    for chrom in spec.chromosomes:
        nb = n_blocks(spec, chrom)
        for first in range(0, nb, part_blocks):
            end = min(first + part_blocks, nb)
            n_var = min(end * BLOCK_VARIANTS, counts[chrom]) - first * BLOCK_VARIANTS
            parts.append(Part(f"chr{chrom}-{first:05d}", chrom, first, end, n_var))
    return parts


def samples_digest(samples: Samples) -> str:
    h = hashlib.sha256()
    for arr in (samples.ids.astype(str), samples.population, samples.sex, samples.pairs, samples.pair_kind.astype(str)):
        h.update(np.ascontiguousarray(arr).tobytes())
        h.update(b"|")
    if len(samples.families):  # absent from cohorts without sib-ships, whose digest stays as it was
        h.update(np.ascontiguousarray(samples.families).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def block_statistics(block, gp_milli: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per variant: ALT frequency of what is written (calls or rounded dosages) and MaCH r² (1 if genotyped)."""
    dos = block.dosages().astype(np.float64)
    observed = ~block.missing
    if gp_milli.shape[0]:
        diploid = block.ploidy == 2
        ds = np.where(diploid[None, :], gp_milli[..., 1] + 2 * gp_milli[..., 2], gp_milli[..., 1]) / vcf.GP_SCALE
        dos[block.imputed] = ds
    pl = block.ploidy.astype(np.float64)[None, :] * observed
    n_alleles = pl.sum(axis=1)
    af = np.divide((dos * observed).sum(axis=1), n_alleles, out=np.full(len(dos), np.nan), where=n_alleles > 0)
    r2 = np.ones(len(dos))
    if block.imputed.any():
        d = dos[block.imputed]
        p = af[block.imputed][:, None]
        expected = (block.ploidy[None, :] * p * (1 - p)).sum(axis=1)
        r2_imp = np.divide(((d - block.ploidy[None, :] * p) ** 2).sum(axis=1), expected,
                           out=np.zeros(len(d)), where=expected > 0)
        r2[block.imputed] = np.minimum(r2_imp, 1.0)
    return af, r2


def _info_strings(af: np.ndarray, r2: np.ndarray, imputed: np.ndarray) -> list[str]:
    afs = ["." if np.isnan(a) else f"{a:.6g}" for a in af.tolist()]  # "." when every call is missing
    return [f"AF={a};R2={r:.4f};IMP" if imp else f"AF={a}" for a, r, imp in zip(afs, r2.tolist(), imputed)]


def write_part(spec: CohortSpec, samples: Samples, part: Part, parts_dir: Path, options: BgenOptions,
               on_block=None) -> dict:
    """Write one part's VCF records, BGEN variant blocks and statistics; return its marker info."""
    meiosis = meioses(spec, samples, part.chrom)
    paths = {kind: parts_dir / f"{part.name}.{kind}" for kind in ("vcf.gz", "bgen", "stats.npy")}
    stats = []
    with atomic_file(paths["vcf.gz"]) as vcf_tmp, atomic_file(paths["bgen"]) as bgen_tmp:
        with vcf.BgzfWriter(vcf_tmp) as vcf_out, open(bgen_tmp, "wb") as bgen_out:
            for b in range(part.first_block, part.end_block):
                block = genotype_block(spec, samples, part.chrom, b, meiosis)
                v = block.variants
                gp_milli = (vcf.gp_thousandths(block.gp, block.ploidy) if len(block.gp)
                            else np.zeros((0, samples.n, 3), dtype=np.int32))
                af, r2 = block_statistics(block, gp_milli)
                stats.append(np.column_stack([af, r2]))
                vcf_out.write(vcf.format_block(part.chrom, v["pos"].tolist(), v["variant_id"].tolist(),
                                               v["ref"].tolist(), v["alt"].tolist(), _info_strings(af, r2, block.imputed),
                                               block.haplotypes, block.missing, block.ploidy, gp_milli, block.imputed))
                _write_bgen_block(bgen_out, block, options)
                if on_block is not None:
                    on_block(len(v))
    stats_arr = np.concatenate(stats)
    with atomic_file(paths["stats.npy"]) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, stats_arr)
    return {"variants": int(len(stats_arr)), "vcf_bytes": paths["vcf.gz"].stat().st_size,
            "bgen_bytes": paths["bgen"].stat().st_size}


def _write_bgen_block(out, block, options: BgenOptions) -> None:
    bits = options.bits
    ploidy, dosage, gp = block.ploidy, block.dosages(), block.gp
    if options.male_x_diploid and np.any(ploidy == 1):
        haploid = ploidy == 1
        dosage = np.where(haploid[None, :], 2 * dosage, dosage)
        if len(gp):
            gp = gp.copy()
            gp[:, haploid, 2] = gp[:, haploid, 1]
            gp[:, haploid, 1] = 0.0
        ploidy = np.full_like(ploidy, 2)
    stored = bgen.hard_call_stored(dosage, ploidy, bits)
    if len(gp):
        stored[block.imputed] = bgen.stored_probabilities(gp, ploidy, bits)
    data = bgen.encode_block(stored, ploidy, block.missing, bits)
    v = block.variants
    for i, (vid, pos, ref, alt) in enumerate(zip(v["variant_id"], v["pos"].tolist(), v["ref"], v["alt"])):
        out.write(bgen.variant_block(vid, vid, block.chrom, pos, ref, alt, data[i].tobytes(), options.level))


def _part_task(part: Part, spec: CohortSpec, samples: Samples, root: str, config: dict,
               options: BgenOptions) -> str:
    """Spark task (also the serial loop body): write a part unless done, then mark it done."""
    tracker = PartTracker(root, JOB, config)
    if not tracker.is_done(part.name):
        info = write_part(spec, samples, part, tracker.root, options)
        tracker.mark_done(part.name, info)
    return part.name


def write_genotype_files(spec: CohortSpec, samples: Samples, out_dir, spark=None, *, bits: int = 8,
                         compression_level: int = 4, part_blocks: int = 10,
                         bgen_male_x_diploid: bool = False) -> GenotypeFiles:
    """Write the genotype files of ``spec``/``samples`` under ``out_dir`` (see module docstring).

    spark: a SparkSession, or None to write the parts serially in this process. On a cluster
    ``out_dir`` must be on a file system shared by driver and executors.
    bits: BGEN bits per probability (1..32). compression_level: zlib level of the BGEN blocks (4: 2.5x
    faster than 6 for 5 % larger files); the VCF uses :data:`gwas.io.vcf.writer.DEFAULT_LEVEL`.
    part_blocks: generation blocks (``BLOCK_VARIANTS`` variants each) per part / Spark task.
    bgen_male_x_diploid: see :class:`BgenOptions` (needed for Hail's import_bgen when X is simulated).
    """
    options = BgenOptions(bits=bits, level=compression_level, male_x_diploid=bool(bgen_male_x_diploid))
    if not isinstance(part_blocks, int) or part_blocks < 1:
        raise ConfigError(f"part_blocks must be a positive integer, got {part_blocks!r}")
    if samples.n != spec.n_samples:
        raise ConfigError(f"samples has {samples.n} samples but n_samples is {spec.n_samples}")
    out = prepare_output_dir(out_dir)
    config = part_config(spec, samples, options, part_blocks)
    tracker = PartTracker(out / PARTS_DIR, JOB, config)
    tracker.init()
    parts = plan_parts(spec, part_blocks)
    pending = [p for p in parts if not tracker.is_done(p.name)]
    total = sum(p.n_variants for p in parts)
    progress = Progress("variants", total=total)
    progress.advance(total - sum(p.n_variants for p in pending))
    started = time.monotonic()
    if pending:
        log.info("writing %d of %d genotype parts (%d samples, %d variants)%s", len(pending), len(parts),
                 spec.n_samples, total, " on Spark" if spark is not None else "")
    if spark is not None and pending:
        _run_on_spark(spark, pending, spec, samples, tracker, config, options, progress)
    else:
        for part in pending:
            info = write_part(spec, samples, part, tracker.root, options, on_block=progress.advance)
            tracker.mark_done(part.name, info)
    progress.finish()
    files = _assemble(spec, samples, out, tracker, parts, total)
    elapsed = time.monotonic() - started
    log.info("genotype files written: %.3g genotypes in %.1f s (%.3g genotypes/s)", total * samples.n, elapsed,
             total * samples.n / max(elapsed, 1e-9))
    return files


def part_config(spec: CohortSpec, samples: Samples, options: BgenOptions, part_blocks: int) -> dict:
    """What the parts depend on (the PartTracker fingerprint: a rerun with other values is refused)."""
    return {"spec": spec.to_dict(), "samples": samples_digest(samples), "bgen": vars(options),
            "part_blocks": part_blocks, "block_variants": BLOCK_VARIANTS, "vcf_level": vcf.DEFAULT_LEVEL,
            "format": FORMAT_VERSION}


def _run_on_spark(spark, pending, spec, samples, tracker, config, options, progress) -> None:
    sc = spark.sparkContext
    root = str(tracker.root)

    def task(part, spec=spec, samples=samples, root=root, config=config, options=options):
        return _part_task(part, spec, samples, root, config, options)

    rdd = sc.parallelize(pending, numSlices=len(pending))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(lambda: rdd.map(task).collect())
        reported = set()
        while True:
            try:
                future.result(timeout=2.0)
                break
            except concurrent.futures.TimeoutError:
                for p in pending:
                    if p.name not in reported and tracker.is_done(p.name):
                        reported.add(p.name)
                        progress.advance(p.n_variants)
    for p in pending:
        if p.name not in reported:
            progress.advance(p.n_variants)
    missing = [p.name for p in pending if not tracker.is_done(p.name)]
    if missing:
        raise OutputError(f"Spark finished but genotype parts {missing[:3]} have no completion marker")


def _assemble(spec: CohortSpec, samples: Samples, out: Path, tracker: PartTracker, parts: list[Part],
              total: int) -> GenotypeFiles:
    """Join the parts into the final files, verify them, then remove the parts."""
    root = tracker.root
    files = GenotypeFiles(vcf=out / "genotypes.vcf.gz", vcf_index=out / "genotypes.vcf.gz.tbi",
                          bgen=out / "genotypes.bgen", bgen_sample=out / "genotypes.sample",
                          variants=out / "variants.tsv")
    infos = {p.name: tracker.info(p.name) for p in parts}
    for p in parts:
        if infos[p.name].get("variants") != p.n_variants:
            raise OutputError(f"genotype part {p.name} holds {infos[p.name].get('variants')} variants, "
                              f"expected {p.n_variants}; delete {root} and rerun")
    # VCF: header member + record parts.
    header = vcf.vcf_header([(c, GRCH37_LENGTHS[c]) for c in spec.chromosomes], samples.ids.tolist(),
                            info=VCF_INFO, formats=VCF_FORMAT,
                            meta=["source=hubscan simulate", "reference=GRCh37"])
    header_path = root / "header.vcf.gz"
    with vcf.BgzfWriter(header_path) as fh:
        fh.write(header)
    with atomic_file(files.vcf) as tmp:
        size = vcf.concatenate_bgzf([header_path] + [root / f"{p.name}.vcf.gz" for p in parts], tmp)
        expected = header_path.stat().st_size + sum(infos[p.name]["vcf_bytes"] - len(vcf.BGZF_EOF) for p in parts)
        if size != expected or tmp.stat().st_size != expected:
            raise OutputError(f"{files.vcf}: wrote {size} bytes, expected {expected}")
    with atomic_file(files.vcf_index) as tmp:
        vcf.index_vcf(files.vcf, index=tmp)
    # BGEN: header with the total count + variant blocks.
    head = bgen.header(total, samples.ids.tolist())
    with atomic_file(files.bgen) as tmp:
        with open(tmp, "wb") as dst:
            dst.write(head)
            for p in parts:
                with open(root / f"{p.name}.bgen", "rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 24)
        expected = len(head) + sum(infos[p.name]["bgen_bytes"] for p in parts)
        if tmp.stat().st_size != expected or bgen.read_header_counts(tmp) != (total, samples.n):
            raise OutputError(f"{files.bgen}: size or header counts do not match the parts")
    with atomic_file(files.bgen_sample) as tmp:
        bgen.write_sample_file(tmp, samples.ids.tolist(), samples.sex)
    table = variant_table(spec)
    stats = np.concatenate([np.load(root / f"{p.name}.stats.npy") for p in parts])
    table["af"] = stats[:, 0]
    table["r2"] = stats[:, 1]
    with atomic_file(files.variants) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    _verify_index(files, spec)
    tracker.finalise({"variants": total, "samples": samples.n})
    shutil.rmtree(root)
    return files


def _verify_index(files: GenotypeFiles, spec: CohortSpec) -> None:
    import pysam

    with pysam.TabixFile(str(files.vcf), index=str(files.vcf_index)) as tbx:
        contigs = list(tbx.contigs)
    if contigs != list(spec.chromosomes):
        raise OutputError(f"{files.vcf}: the index lists contigs {contigs}, expected {list(spec.chromosomes)}")


def sizes(files: GenotypeFiles) -> dict[str, int]:
    """Bytes of each output file."""
    return {name: os.path.getsize(getattr(files, name)) for name in files.__dataclass_fields__}
