"""A small cohort as PLINK files, with REGENIE (v4.1.2, ``../shared/tools/regenie``) step 1 and
step 2 run on it once per session, for the step-2 agreement tests.

400 samples (FID ``F<i>``, IID ``S<i>``: hubscan's sample id is the IID), 3,000 variants on
chromosomes 1-3 (allele frequencies 0.005-0.5 so that the SPA and Firth paths see rare variants),
two covariates, two quantitative traits with a polygenic part and two binary traits (one
unbalanced, about 10% cases). Only the REGENIE binary is needed; tests skip when it cannot run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gwas.qc.from_store import pack_bed

PROJECT_ROOT = Path(__file__).resolve().parents[2]
N_SAMPLES, N_VARIANTS, CHROMOSOMES = 400, 3000, (1, 2, 3)
QT_TRAITS, BT_TRAITS = ["q1", "q2"], ["b1", "b2"]


def regenie_binary() -> str:
    """The REGENIE executable: $REGENIE, or ../shared/tools/regenie/regenie beside the project;
    skip when absent or when it cannot run (its runtime libraries: install-runtime.sh)."""
    candidates = [os.environ.get("REGENIE"), str(PROJECT_ROOT.parent / "shared" / "tools" / "regenie" / "regenie"),
                  shutil.which("regenie")]
    for path in candidates:
        if path and Path(path).is_file():
            try:
                run = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
            except OSError as exc:
                pytest.skip(f"REGENIE at {path} cannot run: {exc}")
            if run.returncode != 0:
                pytest.skip(f"REGENIE at {path} cannot run ({run.stderr.strip()[:200]}); "
                            "run ../shared/tools/regenie/install-runtime.sh")
            return path
    pytest.skip("REGENIE not found (../shared/tools/regenie/regenie beside the project, or $REGENIE)")


def simulate(root: Path, seed: int = 11) -> dict:
    rng = np.random.default_rng(seed)
    n, m = N_SAMPLES, N_VARIANTS
    freq = np.concatenate([rng.uniform(0.05, 0.5, m - 300), rng.uniform(0.005, 0.03, 300)])
    rng.shuffle(freq)
    # two subpopulations with shifted frequencies: structure for the step-1 predictions to absorb
    pop = rng.random(n) < 0.5
    f = np.clip(freq[:, None] + np.where(pop, 0.04, -0.04)[None, :] * (freq[:, None] > 0.05), 0.001, 0.999)
    counts = rng.binomial(2, f).astype(np.int8)
    missing = rng.random(counts.shape) < 0.01
    counts[missing] = 3
    chrom = np.repeat(CHROMOSOMES, m // len(CHROMOSOMES))
    pos = np.concatenate([np.arange(1, m // len(CHROMOSOMES) + 1) * 1000] * len(CHROMOSOMES))
    prefix = root / "g"
    (root / "g.bim").write_text("".join(f"{c}\tv{j}\t0\t{p}\tA\tG\n" for j, (c, p) in enumerate(zip(chrom, pos))))
    fids, iids = [f"F{i}" for i in range(n)], [f"S{i}" for i in range(n)]
    (root / "g.fam").write_text("".join(f"{a} {b} 0 0 0 -9\n" for a, b in zip(fids, iids)))
    (root / "g.bed").write_bytes(bytes([0x6C, 0x1B, 0x01]) + pack_bed(counts))
    # step 1 on the common variants only (as REGENIE advises: it stops on a monomorphic one)
    (root / "common.snplist").write_text("".join(f"v{j}\n" for j in np.flatnonzero(freq >= 0.05)))

    g = np.where(counts == 3, np.nan, counts.astype(float))
    g = np.where(np.isnan(g), np.nanmean(g, axis=1, keepdims=True), g)
    cov = np.column_stack([rng.normal(size=n), pop + rng.normal(0, 0.5, n)])
    causal = rng.choice(m - 300, 200, replace=False)
    poly = (g[causal] - g[causal].mean(1, keepdims=True)).T @ rng.normal(0, 0.08, len(causal))
    q1 = 0.3 * cov[:, 0] + poly + 0.5 * pop + rng.normal(size=n)
    q2 = 0.5 * poly + rng.normal(size=n)
    q2[rng.random(n) < 0.1] = np.nan
    eta1 = -0.3 + 0.4 * cov[:, 1] + poly
    b1 = (rng.random(n) < 1 / (1 + np.exp(-eta1))).astype(float)
    eta2 = -2.4 + 0.5 * poly + 0.3 * cov[:, 0]
    b2 = (rng.random(n) < 1 / (1 + np.exp(-eta2))).astype(float)
    pheno = pd.DataFrame({"FID": fids, "IID": iids, "q1": q1, "q2": q2, "b1": b1, "b2": b2})
    covar = pd.DataFrame({"FID": fids, "IID": iids, "c1": cov[:, 0], "c2": cov[:, 1]})
    pheno[["FID", "IID", *QT_TRAITS]].to_csv(root / "qt.txt", sep=" ", index=False, na_rep="NA", float_format="%.8g")
    pheno[["FID", "IID", *BT_TRAITS]].to_csv(root / "bt.txt", sep=" ", index=False, na_rep="NA", float_format="%.8g")
    covar.to_csv(root / "cov.txt", sep=" ", index=False, float_format="%.8g")
    return {"root": root, "prefix": prefix, "counts": counts, "chrom": chrom, "fids": fids, "iids": iids,
            "pheno": pheno, "covariates": cov}


def run_regenie(exe: str, args: list[str], cwd: Path) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([exe, *args, "--threads", "1"], cwd=cwd, capture_output=True, text=True, env=env,
                         timeout=600)
    if run.returncode != 0:
        raise AssertionError(f"regenie {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")


def step1(exe: str, data: dict, kind: str, bsize: int = 200) -> Path:
    """REGENIE step 1 for the quantitative ("qt") or binary ("bt") traits; returns its _pred.list."""
    root = data["root"]
    args = ["--step", "1", "--bed", "g", "--covarFile", "cov.txt", "--phenoFile", f"{kind}.txt",
            "--bsize", str(bsize), "--extract", "common.snplist", "--out", f"fit_{kind}"]
    if kind == "bt":
        args.append("--bt")
    run_regenie(exe, args, root)
    return root / f"fit_{kind}_pred.list"


def step2(exe: str, data: dict, kind: str, out: str, extra: list[str], trait: str | None = None):
    """REGENIE step 2 with ``extra`` options. With ``trait``, that trait alone (``--phenoCol``: its
    own samples, as hubscan tests each trait; REGENIE run on several traits at once projects the
    covariates over the union of their samples) and its .regenie table is returned; else every trait
    of the file, as trait -> table. ``data["step2_args"]`` (optional) is added to every run."""
    root = data["root"]
    args = ["--step", "2", "--bed", "g", "--covarFile", "cov.txt", "--phenoFile", f"{kind}.txt",
            "--bsize", "500", "--out", out, *extra, *data.get("step2_args", [])]
    if kind == "bt":
        args.append("--bt")
    if trait:
        args += ["--phenoCol", trait]
    run_regenie(exe, args, root)
    traits = [trait] if trait else QT_TRAITS if kind == "qt" else BT_TRAITS
    tables = {t: pd.read_csv(root / f"{out}_{t}.regenie", sep=r"\s+", comment="#", na_values=["NA"]) for t in traits}
    return tables[trait] if trait else tables


_SESSION: dict = {}


def session_cohort(tmp_path_factory) -> dict:
    """The cohort and REGENIE's step 1 for both trait kinds, made once per test session (shared by
    the modules that import it); step 2 runs are added on demand by :func:`regenie_step2`."""
    if "data" not in _SESSION:
        exe = regenie_binary()
        data = simulate(tmp_path_factory.mktemp("wgr-regenie"))
        data["exe"] = exe
        data["pred_list"] = {kind: step1(exe, data, kind) for kind in ("qt", "bt")}
        data["step2"] = {}
        _SESSION["data"] = data
    return _SESSION["data"]


REGENIE_OPTIONS = {"linear": [], "score": [], "spa": ["--spa"], "firth-approx": ["--firth", "--approx"],
                   "firth": ["--firth"]}


def regenie_step2(data: dict, trait: str, test: str, with_pred: bool) -> pd.DataFrame:
    """REGENIE step 2 of one trait (cached): ``test`` linear (quantitative), score, spa,
    firth-approx or firth; with its step 1 (``--pred``) or ``--ignore-pred``."""
    key = (trait, test, with_pred)
    if key not in data["step2"]:
        kind = "qt" if trait in QT_TRAITS else "bt"
        pred = ["--pred", data["pred_list"][kind].name] if with_pred else ["--ignore-pred"]
        data["step2"][key] = step2(data["exe"], data, kind, f"s2_{trait}_{test}_{int(with_pred)}",
                                   REGENIE_OPTIONS[test] + pred, trait)
    return data["step2"][key]


def check_scan_rows(res, data, trait: str, test: str, rtol: float, beta_rtol: float | None = None,
                    with_pred: bool = True) -> pd.DataFrame:
    """A hubscan scan's rows (``res``: gwas.results store) of ``trait`` against REGENIE step 2's
    (:func:`regenie_step2`) on REGENIE's variants: same tested allele; SE and beta to ``beta_rtol``
    (default ``rtol``) relative, beta with an absolute 1e-7 x SE floor; -log10 p to ``rtol`` with a
    1e-7 floor (test_step2_regenie's tolerances and why). Returns hubscan's rows in REGENIE's order."""
    theirs = regenie_step2(data, trait, test, with_pred)
    got = res.read(traits=[trait]).set_index("variant_id").loc[theirs.ID]
    assert (got.alt == theirs.ALLELE1.to_numpy()).all() and (got.ref == theirs.ALLELE0.to_numpy()).all()
    se = theirs.SE.to_numpy()
    for mine, ref, r, atol in ((got.standard_error, theirs.SE, beta_rtol or rtol, 0),
                               (got.beta, theirs.BETA, beta_rtol or rtol, 1e-7 * se),
                               (got.neg_log10_p, theirs.LOG10P, rtol, 1e-7)):
        bad = ~(np.abs(mine.to_numpy() - ref.to_numpy()) <= r * np.abs(ref.to_numpy()) + atol)
        assert not bad.any(), f"{trait} {test} {ref.name}: {bad.sum()} of {len(bad)} differ"
    return got
