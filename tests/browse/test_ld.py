"""Region pages coloured by an LD reference that PLINK 1.9 computes (``--r2``) from the cohort's
chromosome-4 genotypes: every point's r² with the lead is PLINK's for that pair, its colour the
LocusZoom bin of it; without a reference nothing is coloured (tests/browse/test_pages.py)."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from gwas.browse.build import BrowseOptions, build_site
from gwas.browse.serve import make_server
from tests.browse.test_site_data import planted_ids

COLOURS = [(0.2, "#357ebd"), (0.4, "#46b8da"), (0.6, "#5cb85c"), (0.8, "#eea236"), (1.0001, "#d43f3a")]


@pytest.fixture(scope="module")
def ld_file(cohort, tmp_path_factory):
    plink = shutil.which("plink1.9")
    if plink is None:
        pytest.skip("plink1.9 not found (Debian: apt-get install plink1.9)")
    folder = tmp_path_factory.mktemp("ld")
    v = cohort.variants
    rows = np.flatnonzero(v["contig"] == "4")
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=4>", '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                       + [f"s{i}" for i in range(cohort.dosage.shape[1])])]
    calls = {0: "0/0", 1: "0/1", 2: "1/1"}
    for i in rows:
        if not (v["ref"][i].isalpha() and v["alt"][i].isalpha()):
            continue
        g = np.round(cohort.dosage[i])
        gts = [calls[int(x)] if x == x else "./." for x in g]
        lines.append("\t".join(["4", str(v["position"][i]), f"v{i}", v["ref"][i], v["alt"][i], ".", "PASS", ".", "GT",
                                *gts]))
    (folder / "chr4.vcf").write_text("\n".join(lines) + "\n")
    proc = subprocess.run([plink, "--vcf", str(folder / "chr4.vcf"), "--r2", "--ld-window-r2", "0", "--ld-window",
                           "999", "--ld-window-kb", "100000", "--allow-extra-chr", "--out", str(folder / "chr4")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    return folder / "chr4.ld"


def test_region_points_coloured_by_plink_r2(release, ld_file, browser, tmp_path, cohort, screenshots):
    site = tmp_path / "site"
    build_site(release, site, BrowseOptions(ld=str(ld_file)))
    quant, _ = planted_ids(cohort)
    chrom, pos = quant.split(":")[:2]
    table = pd.read_csv(ld_file, sep=r"\s+")
    want = {}
    for a, b, r in zip(table.BP_A, table.BP_B, table.R2):
        if a == int(pos):
            want[b] = r
        elif b == int(pos):
            want[a] = r
    assert len(want) > 10
    srv = make_server(site, 0)
    import threading
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"http://127.0.0.1:{srv.server_address[1]}/region.html?t=ldl&chrom=4&start={int(pos) - 250_000}"
                  f"&end={int(pos) + 250_000}")
        page.wait_for_selector("body[data-ready='yes']", timeout=20_000)
        page.screenshot(path=screenshots / "region-ld.png")
        points = page.eval_on_selector_all("#region circle.pt", "els => els.map(e => [e.dataset.id, e.dataset.r2, e.getAttribute('fill')])")
        assert len(points) > 10
        coloured = 0
        for vid, r2, fill in points:
            p = int(vid.split(":")[1])
            if p in want:
                assert float(r2) == pytest.approx(want[p], abs=1e-12)
                assert fill == next(c for hi, c in COLOURS if want[p] < hi)
                coloured += 1
            else:
                assert r2 == "" and fill == "#b8b8b8"
        assert coloured >= 10
        # the hit's neighbours copy it with noise in the simulation: r² up to ~0.6, several colour bins used
        assert max(want.values()) > 0.5
        assert len({fill for _, _, fill in points}) >= 3
        page.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_bad_ld_reference(release, tmp_path):
    from hubscan.errors import InputError

    bad = tmp_path / "bad.ld"
    bad.write_text("A B C\n1 2 3\n")
    with pytest.raises(InputError, match="not a PLINK --r2 table"):
        build_site(release, tmp_path / "site", BrowseOptions(ld=str(bad)))
    with pytest.raises(InputError, match="LD reference not found"):
        build_site(release, tmp_path / "site", BrowseOptions(ld=str(tmp_path / "missing.ld")))
    assert not (tmp_path / "site").exists()
