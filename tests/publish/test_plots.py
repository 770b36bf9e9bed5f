"""Plots and report: λGC against an independent computation, files at print size, the HTML report,
and byte-identical reruns."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats

from gwas.publish.plots.phewas import bonferroni_line
from gwas.publish.plots.qq import lambda_gc
from gwas.publish.run import PublishOptions, publish
from tests.publish.conftest import PUBLISH_DATE


def test_lambda_gc_independent(published, cohort):
    out, _ = published
    summary = json.loads((out / "publish.json").read_text())
    for t in summary["traits"]:
        if t["withheld"]:
            continue
        p = 10 ** -pq.read_table(out / "parquet" / f"{t['stem']}.parquet").column("neg_log10_p_value").to_numpy()
        # the ldl hit underflows to p = 0: an infinite chi² for the reference (the median only needs its rank)
        chi2 = np.where(p > 0, stats.chi2.isf(np.maximum(p, 1e-300), 1), np.inf)
        reference = np.median(chi2) / 0.4549364
        assert t["lambda_gc"] == pytest.approx(reference, rel=1e-6), t["name"]
    # exact agreement when nothing underflows; p below 1e-308 counts as a huge chi² (not as NaN/0)
    rng = np.random.default_rng(3)
    p = rng.uniform(size=10_001)
    assert lambda_gc(-np.log10(p)) == pytest.approx(np.median(stats.chi2.isf(p, 1)) / 0.4549364, rel=1e-6)
    assert lambda_gc(np.r_[-np.log10(p[:-1]), 400.0]) >= lambda_gc(-np.log10(p[:-1]))
    assert 0.9 < lambda_gc(-np.log10(p)) < 1.1
    assert bonferroni_line(1000) == pytest.approx(-np.log10(0.05 / 1000))


def test_plot_files_and_report(published):
    import matplotlib.image as mpimg

    out, _ = published
    plots = out / "plots"
    for trait in ("ldl", "bmi", "250.2", "411.2"):
        for kind in ("manhattan", "qq"):
            assert (plots / f"{trait}.{kind}.png").stat().st_size > 10_000
            ET.parse(plots / f"{trait}.{kind}.svg")  # well-formed SVG
    assert (plots / "ldl.regional.png").exists() and (plots / "250.2.regional.png").exists()
    assert not (plots / "bmi.regional.png").exists()  # no hit, no regional plot
    height, width = mpimg.imread(plots / "ldl.manhattan.png").shape[:2]
    assert width == pytest.approx(7.09 * 300, abs=2)  # 180 mm at 300 dpi
    phewas = sorted(plots.glob("phewas-*.png"))
    assert len(phewas) == 5 and (plots / "phewas-rs1100.png").exists() and (plots / "phewas-rs1400.png").exists()
    report = (out / "report.html").read_text()
    for text in ("plots/ldl.manhattan.png", "plots/250.2.qq.png", "plots/phewas-rs1400.png", "GRCh38",
                 "hubscan 0.1.0", "fewer than 20 cases", "endocrine/metabolic", "λGC"):
        assert text in report, text


def test_reruns_are_byte_identical(published, cohort, tmp_path):
    out, _ = published
    publish(cohort.root, tmp_path / "again", PublishOptions(date=PUBLISH_DATE))
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (out / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel


def test_phewas_store(tmp_path):
    from tests.publish.cohort import make_phewas_store

    info = make_phewas_store(tmp_path / "store")
    result = publish(tmp_path / "store", tmp_path / "out", PublishOptions(genome_build="GRCh37", date=PUBLISH_DATE,
                                                                          phewas_variants=3))
    assert result.traits_published == 24
    plots = sorted(p.name for p in (tmp_path / "out" / "plots").glob("*.png"))
    assert plots == ["phewas-19_3000000_G_A.png", "phewas-rs11.png", "phewas-rs22.png"]  # no per-trait plots
    summary = json.loads((tmp_path / "out" / "publish.json").read_text())
    lead = max((t for t in summary["traits"]), key=lambda t: t["lead_neg_log10_p"])
    assert lead["name"] == info["hit_trait"] and lead["lead_neg_log10_p"] > bonferroni_line(24)
    assert summary["traits"][3]["name"] == info["names"][3] and summary["traits"][3]["category"] is None
    assert "other" in (tmp_path / "out" / "report.html").read_text()
