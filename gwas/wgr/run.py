"""Run whole-genome regression step 1: init / level-0 blocks as tasks / level 1 and LOCO files.

1. Init (driver): phenotypes, covariates, samples and variant filters as the scans load them
   (:mod:`gwas.scan.inputs`, :func:`gwas.scan.run.select_variants`); traits residualised and scaled
   (:mod:`gwas.wgr.model`); every check that can fail (unknown trait, no shared sample, too few
   variants for the blocks, a trait without variance after the covariates) runs here, before
   anything is written.
2. Level 0: the variants of each chromosome cut into blocks of ``block_size`` (REGENIE's
   ``--bsize``); each block is a task (threads in this process, or Spark tasks) that reads its
   genotypes from the store, fits the level-0 ridge regressions of every trait at once and spills
   its predictions (traits x samples x ridge parameters, float64) to ``_level0/`` in the run
   folder, then writes its completion marker (:class:`hubscan.parts.PartTracker`): a rerun skips
   finished blocks. Memory per task: the block (8 bytes x block x samples) and its predictions.
3. Level 1 (driver), one trait at a time, reading that trait's columns of the spilled blocks
   (8 bytes x samples x blocks x ridge parameters): ridge or ridge logistic regression, LOCO
   predictions, written as REGENIE's ``<prefix>_pred.list`` and ``<prefix>_<k>.loco``
   (:mod:`gwas.wgr.predictions`), then ``wgr.json`` (settings, per-trait status, input checksums)
   and ``_SUCCESS``; the spilled predictions are removed. A binary trait whose level 1 does not
   converge is recorded in wgr.json and left out of the prediction list; the others continue.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwas.scan.inputs import prepare_inputs
from gwas.scan.run import select_variants, software_versions
from gwas.store.reader import GenotypeStore
from gwas.wgr import model
from gwas.wgr.config import WgrConfig
from gwas.wgr.predictions import REGENIE_CHROMOSOMES, LocoPredictions, chromosome_code, write_predictions
from hubscan import __version__
from hubscan.errors import ConfigError, InputError
from hubscan.files import atomic_file, prepare_output_dir
from hubscan.parts import PartTracker
from hubscan.progress import Progress
from hubscan.runtime.threads import single_threaded_blas
from phenotypes.matrix.io import BINARY

log = logging.getLogger(__name__)

LEVEL0_DIR = "_level0"


@dataclass
class Level0Inputs:
    """What every level-0 task needs (broadcast once to Spark executors)."""

    rows: np.ndarray          # store columns of the analysed samples
    basis: np.ndarray         # (n, ncov) covariate basis
    traits: model.Traits
    lambdas: np.ndarray       # level-0 ridge parameters
    bounds: np.ndarray | None  # fold boundaries, None = leave-one-out


@dataclass
class WgrResult:
    out: Path
    pred_list: Path | None
    n_samples: int
    n_variants: int
    n_blocks: int
    traits: list[dict]
    blocks_run: int


def plan_blocks(contigs: np.ndarray, index: np.ndarray, block_size: int) -> list[tuple[str, int, np.ndarray]]:
    """(task name, contig, variant indexes) of REGENIE's blocks: each chromosome's variants cut
    into ``block_size`` consecutive variants (the last block of a chromosome shorter)."""
    blocks = []
    for contig in dict.fromkeys(contigs[index].tolist()):
        ids = index[contigs[index] == contig]
        for a in range(0, len(ids), block_size):
            blocks.append((f"block-{len(blocks):06d}", int(contig), ids[a:a + block_size]))
    return blocks


def _select_traits(cfg: WgrConfig, inputs) -> tuple[list[int], list[dict]]:
    tested = set(inputs.tested)
    columns = [t for t, name in enumerate(inputs.trait_names) if name in tested]
    if cfg.binary:
        quantitative = [inputs.trait_names[t] for t in columns if inputs.trait_types[t] != BINARY]
        if quantitative:
            raise ConfigError(f"--bt: trait(s) {', '.join(quantitative[:5])} are not binary (0/1 or 1/2 "
                              "columns)")
    # the scans' per-trait entries, without what only a scan decides (its test, per-trait covariates):
    # step 1 uses one covariate basis for every trait, as REGENIE
    info = [{k: v for k, v in e.items() if k not in ("model", "test", "covariates", "covariates_dropped")}
            for e in inputs.trait_info]
    return columns, info


def prepare(cfg: WgrConfig, store: GenotypeStore):
    """Everything before the blocks, checked: (inputs, Level0Inputs, trait columns, trait info,
    variant index, blocks, level-1 ridge grids per trait)."""
    inputs = prepare_inputs(cfg.scan_config(), store)
    columns, info = _select_traits(cfg, inputs)
    values = inputs.values[:, columns]
    complete = np.isfinite(inputs.covariates).all(axis=1)
    analysed = complete & np.isfinite(values).any(axis=1)
    if not analysed.any():
        raise InputError("no analysed sample has both a tested trait and every covariate")
    binary = np.array([inputs.trait_types[t] == BINARY for t in columns])
    basis = model.covariate_basis(inputs.covariates[analysed])
    with np.errstate(invalid="ignore"):
        means = np.nanmean(values, axis=0)            # over every phenotyped sample, as REGENIE
    traits = model.prepare_traits(values[analysed], binary, basis, means)
    names = [inputs.trait_names[t] for t in columns]
    flat = [names[t] for t in np.flatnonzero(traits.scale < model.NUMTOL)]
    if flat:
        raise InputError(f"trait(s) {', '.join(flat[:5])} have no variance after the covariates "
                         f"({', '.join(inputs.covariate_names) or 'intercept only'}): leave them out (--trait) "
                         "or drop the covariate that determines them")
    n = int(analysed.sum())

    index = select_variants(cfg.scan_config(), store)
    if len(index) < cfg.block_size:
        raise InputError(f"only {len(index)} variants pass the variant filters, fewer than one block of "
                         f"{cfg.block_size} (--bsize): step 1 needs genome-wide variants (a few hundred "
                         "thousand LD-pruned common variants); lower --bsize or widen the filters")
    contigs = store.variant_field("variant_contig")
    blocks = plan_blocks(contigs, index, cfg.block_size)
    used = sorted({b[1] for b in blocks})
    if len(used) < 2:
        raise InputError(f"all {len(index)} step-1 variants are on chromosome {store.contig_ids[used[0]]}: "
                         "leave-one-chromosome-out predictions need variants on at least 2 chromosomes")
    for c in used:
        chromosome_code(store.contig_ids[c])          # refuses a contig REGENIE cannot number
    loocv = cfg.loocv or (bool(binary.any()) and n < model.LOOCV_BELOW)
    if not loocv and n // cfg.cv_folds < 1:
        raise InputError(f"{n} analysed samples are too few for {cfg.cv_folds}-fold cross-validation (--cv)")
    bounds = None if loocv else model.fold_bounds(n, cfg.cv_folds)
    lambdas = model.ridge_grid(cfg.l0_h2, len(index))
    level0 = Level0Inputs(inputs.sample_columns[analysed], basis, traits, lambdas, bounds)
    return inputs, level0, columns, info, index, blocks, names


def _block_task(out: str, tracker_args: tuple, store_path: str, shared: Level0Inputs,
                task: tuple[str, int, np.ndarray]) -> tuple[str, int]:
    """Level 0 of one block: genotypes -> spilled predictions (T, n, L) -> completion marker (with
    the task's wall seconds, CPU seconds of its thread and of its process (a Spark worker runs one
    task at a time: its process CPU includes the reading and Numba threads), reading included, and
    its process's peak memory so far)."""
    import resource
    import time

    from gwas.kernels.impute import SCALED, mean_impute

    started, cpu_started, process_started = time.perf_counter(), time.thread_time(), time.process_time()
    name, _, index = task
    store = GenotypeStore(store_path)
    codes = store.dosage_codes(_as_selection(index), shared.rows)
    filled = np.empty((len(index), len(shared.rows)))
    mean_impute(codes, SCALED, np.arange(len(shared.rows), dtype=np.int64), filled)
    g, scale = model.standardise_block(filled, shared.basis)
    low = np.flatnonzero(scale < model.NUMTOL)
    if len(low):
        vid = store.variant_field("variant_id")[index[low[0]]]
        raise InputError(f"variant {vid} has no variance after the covariates in the analysed samples "
                         "(monomorphic or determined by them): filter it out (--min-maf, --variant-ids-file)")
    pred = model.level0_block(g, shared.traits, shared.lambdas, shared.bounds)
    spill = Path(out) / LEVEL0_DIR / f"{name}.npy"
    with atomic_file(spill) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, pred)
    PartTracker(*tracker_args).mark_done(name, {
        "variants": len(index), "first": int(index[0]), "last": int(index[-1]), "shape": list(pred.shape),
        "seconds": round(time.perf_counter() - started, 3), "cpu_seconds": round(time.thread_time() - cpu_started, 3),
        "process_cpu_seconds": round(time.process_time() - process_started, 3),
        "process_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})
    return name, len(index)


def _as_selection(index: np.ndarray):
    if len(index) and index[-1] - index[0] + 1 == len(index):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def run_wgr(cfg: WgrConfig, spark=None) -> WgrResult:
    """Run step 1 of ``cfg`` into ``cfg.out``; level-0 blocks as Spark tasks when ``spark`` is given,
    else on this process's threads."""
    store = GenotypeStore(cfg.genotypes)
    inputs, level0, columns, info, index, blocks, names = prepare(cfg, store)
    out = prepare_output_dir(cfg.out)
    tracker_args = (str(out), "wgr", {"config": cfg.to_dict(), "inputs": inputs.inputs})
    tracker = PartTracker(*tracker_args)
    tracker.init()
    if tracker.complete and (out / "wgr.json").is_file():
        log.info("%s: step 1 is complete already", out)
        meta = json.loads((out / "wgr.json").read_text())
        pred_list = out / f"{cfg.prefix}_pred.list"
        return WgrResult(out, pred_list if pred_list.is_file() else None, meta["n_samples"], meta["n_variants"],
                         meta["n_blocks"], meta["traits"], 0)
    (out / LEVEL0_DIR).mkdir(exist_ok=True)
    # a block is done when its marker and its spilled predictions exist (a run that stopped after
    # removing the spills but before _SUCCESS recomputes them)
    pending = [b for b in blocks if not (tracker.is_done(b[0]) and (out / LEVEL0_DIR / f"{b[0]}.npy").is_file())]
    n = len(level0.rows)
    log.info("wgr: %d samples x %d variants in %d blocks (%d to run), %d traits, %s", n, len(index), len(blocks),
             len(pending), len(names), "leave-one-out CV" if level0.bounds is None else f"{cfg.cv_folds}-fold CV")
    store_path = str(Path(cfg.genotypes).resolve())
    if pending and spark is not None:
        _run_on_spark(spark, pending, str(out), tracker_args, store_path, level0)
    elif pending:
        _run_in_threads(pending, str(out), tracker_args, store_path, level0)
    missing = [b[0] for b in blocks if not (out / LEVEL0_DIR / f"{b[0]}.npy").is_file()]
    if missing:
        raise InputError(f"{out}: level-0 blocks {', '.join(missing[:5])} did not finish")

    contigs = [store.contig_ids[b[1]] for b in blocks]
    sample_ids = store.sample_ids[level0.rows]
    # level 1 is many small products and solves: a multi-threaded BLAS pool only spins (measured
    # 13x the CPU of one thread for a binary trait's ridge logistic fits on a shared 2-core machine)
    with single_threaded_blas():
        trait_rows, predictions = level1(cfg, out, blocks, contigs, level0, names, sample_ids)
    pred_list = write_predictions(out / cfg.prefix, predictions) if predictions else None
    by_name = {e["name"]: e for e in info}
    for row in trait_rows:
        by_name[row["name"]].update(row)
    metadata = {"created_by": f"hubscan {__version__}", "software": software_versions(),
                "method": "REGENIE step 1 (Mbatchou et al. 2021): level-0 ridge per block, level-1 "
                          "ridge / ridge logistic, leave-one-chromosome-out predictions",
                "config": cfg.to_dict(), "inputs": inputs.inputs, "covariates": inputs.covariate_names,
                "n_samples": n, "n_variants": int(len(index)), "n_blocks": len(blocks),
                "cross_validation": "loocv" if level0.bounds is None else f"{cfg.cv_folds}-fold",
                "level0_ridge": level0.lambdas.tolist(),
                "chromosomes": sorted(set(contigs), key=chromosome_code),
                "prediction_list": pred_list.name if pred_list else None,
                "traits": list(by_name.values())}
    with atomic_file(out / "wgr.json") as tmp:
        tmp.write_text(json.dumps(metadata, indent=1, default=str))
    tracker.finalise({"n_variants": int(len(index)), "n_blocks": len(blocks)})
    shutil.rmtree(out / LEVEL0_DIR, ignore_errors=True)
    log.info("wgr: predictions of %d trait(s) in %s", len(predictions), pred_list or out)
    return WgrResult(out, pred_list, n, int(len(index)), len(blocks), metadata["traits"], len(pending))


def level1(cfg: WgrConfig, out: Path, blocks, contigs: list[str], level0: Level0Inputs, names: list[str],
           sample_ids: np.ndarray) -> tuple[list[dict], list[LocoPredictions]]:
    """Level 1 of every trait from the spilled level-0 predictions: (per-trait rows for wgr.json,
    LOCO predictions of the traits that converged)."""
    traits = level0.traits
    n_lam = len(level0.lambdas)
    chrom_names = list(dict.fromkeys(contigs))
    column_chrom = np.repeat([chrom_names.index(c) for c in contigs], n_lam)
    spills = [np.load(out / LEVEL0_DIR / f"{b[0]}.npy", mmap_mode="r") for b in blocks]
    codes = np.array([chromosome_code(c) for c in chrom_names])
    rows, predictions = [], []
    progress = Progress("traits (level 1)", total=len(names))
    for t, name in enumerate(names):
        x = np.concatenate([np.asarray(s[t]) for s in spills], axis=1)       # (n, blocks x L)
        binary = bool(traits.binary[t])
        taus = model.ridge_grid(cfg.l1_h2, x.shape[1], binary)
        # n_fit: samples in the trait's fits (a quantitative trait's mean-imputed samples included)
        row = {"name": name, "n_fit": int(traits.neff[t]), "level1_h2": cfg.l1_h2}
        if binary and not traits.converged[t]:
            fit = model.Level1Fit(np.zeros((x.shape[0], len(chrom_names))), -1, np.zeros(len(taus)), False)
        elif binary:
            fit = model.level1_binary(x, traits.raw[:, t], traits.offset[:, t], traits.mask[:, t], traits.neff[t],
                                      taus, level0.bounds, column_chrom, len(chrom_names))
        else:
            fit = model.level1_quantitative(x, traits.y[:, t], traits.neff[t], level0.basis.shape[1], taus,
                                            level0.bounds, column_chrom, len(chrom_names))
        if not fit.converged:
            row.update(status="not converged", reason="the null logistic model or the level-1 ridge logistic "
                       "regression did not converge; no LOCO predictions (as REGENIE)")
            log.warning("wgr: trait %s: level 1 did not converge; left out of the prediction list", name)
        else:
            row.update(status="ok", level1_selected_h2=cfg.l1_h2[fit.best],
                       cv_loss=[float(v) for v in fit.cv_loss],
                       cv_loss_kind="-log-likelihood / n" if binary else "mean squared error (scaled trait)",
                       loco=f"{cfg.prefix}_{len(predictions) + 1}.loco")
            loco = fit.loco()
            whole = fit.parts.sum(axis=1)
            values = np.tile(whole, (len(REGENIE_CHROMOSOMES), 1))
            for c, code in enumerate(codes):
                values[REGENIE_CHROMOSOMES.index(code)] = loco[:, c]
            values[:, ~traits.mask[:, t]] = np.nan
            predictions.append(LocoPredictions(name, sample_ids, np.array(REGENIE_CHROMOSOMES), values))
        rows.append(row)
        progress.advance()
    progress.finish()
    return rows, predictions


def _run_in_threads(pending, out, tracker_args, store_path, level0: Level0Inputs) -> None:
    """Blocks on one Python thread per Numba thread, each running BLAS and Numba single-threaded
    (no spinning BLAS pool against the other threads); a block's result does not depend on the count."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    import numba

    progress = Progress("step-1 variants (level 0)", total=sum(len(b[2]) for b in pending))
    workers = max(1, min(numba.get_num_threads(), len(pending)))

    def work(task):
        numba.set_num_threads(1)
        return _block_task(out, tracker_args, store_path, level0, task)

    with single_threaded_blas(), ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(work, task) for task in pending]
        try:
            for future in as_completed(futures):
                progress.advance(future.result()[1])
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    progress.finish()


def _run_on_spark(spark, pending, out, tracker_args, store_path, level0: Level0Inputs) -> None:
    """Level-0 blocks as Spark tasks, the level-0 inputs broadcast once. A task holds one core (one
    task per executor core): its BLAS runs single-threaded, as in :func:`_run_in_threads` (an
    executor's Python workers would otherwise each start a pool of one spinning thread per core)."""
    from hubscan.runtime.spark import run_marked_tasks

    def task(shared, t):
        from hubscan.runtime.threads import single_threaded_blas

        with single_threaded_blas():
            return _block_task(out, tracker_args, store_path, shared, t)

    run_marked_tasks(spark, pending, task,
                     level0, PartTracker(*tracker_args), {b[0]: len(b[2]) for b in pending},
                     "step-1 variants (level 0)", f"hubscan wgr: {len(pending)} level-0 blocks")
