"""Building: the same site from small spill buckets (bounded memory) and byte-identical reruns;
a release without Parquet read from its REGENIE text; phecode categories from a file; every bad
input a one-line error with nothing written."""

import filecmp
import logging
import json
import shutil

import pyarrow.parquet as pq
import pytest

from gwas.browse.build import BrowseOptions, build_site
from hubscan.cli import main
from tests.browse.chunks import site_chunks
from tests.browse.conftest import hubscan
from tests.browse.test_site_data import _chunks


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _same(a, b):
    files = _tree(a)
    assert files == _tree(b)
    mismatch = filecmp.cmpfiles(a, b, files, shallow=False)[1]
    assert not mismatch, mismatch[:5]


def test_small_buckets_give_the_same_site_and_reruns_the_same_bytes(site, release, tmp_path):
    # one bucket per 100 kb window instead of 10 Mb: many spill files, each read alone
    build_site(release, tmp_path / "small", BrowseOptions(spill_bp=100_000))
    _same(site, tmp_path / "small")
    build_site(release, tmp_path / "small", BrowseOptions(spill_bp=100_000))   # replaces an earlier site
    _same(site, tmp_path / "small")


def test_small_chunks_hold_the_same_rows_whatever_the_buckets(site, release, tmp_path):
    # ~40 rows a chunk: many chunks per chromosome, rows carried from one spill bucket to the next
    build_site(release, tmp_path / "a", BrowseOptions(chunk_rows=40))
    build_site(release, tmp_path / "b", BrowseOptions(chunk_rows=40, spill_bp=100_000))
    _same(tmp_path / "a", tmp_path / "b")
    whole = {(v["id"], t, v["p"][k], v["b"][k]) for _, c in site_chunks(site) for v in c["variants"]
             for k, t in enumerate(v["t"])}
    small = list(_chunks(tmp_path / "a"))
    per_chrom = [sum(p.parent == folder for p, _ in small) for folder in {p.parent for p, _ in small}]
    assert len(small) > len(list(site_chunks(site))) and max(per_chrom) >= 3
    rows = [(v["id"], t, v["p"][k], v["b"][k]) for _, c in small for v in c["variants"] for k, t in enumerate(v["t"])]
    assert len(rows) == len(set(rows)) and set(rows) == whole
    for path, c in small:
        if c["chunk"] == max(json.loads((path.parent / "index.json").read_text())):
            continue                            # a chromosome's last chunk holds what is left
        n = sum(len(v["t"]) for v in c["variants"])
        last = sum(len(v["t"]) for v in c["variants"] if v["pos"] == c["variants"][-1]["pos"])
        assert n >= 40 and n - last < 40    # whole positions, closed at the first one reaching 40 rows


def test_release_without_parquet_is_read_from_regenie_text(cohort, tmp_path, site):
    rel = tmp_path / "release"
    proc = hubscan("publish", cohort.root, "--out", rel, "--formats", "regenie", "--no-plots", "--date", "2026-01-02")
    assert proc.returncode == 0, proc.stderr
    build_site(rel, tmp_path / "site")
    # the same rows, values at the text's 6 significant digits
    full = {}
    for _, chunk in site_chunks(site):
        for v in chunk["variants"]:
            full[v["id"]] = v
    n = 0
    for _, chunk in site_chunks(tmp_path / "site"):
        for v in chunk["variants"]:
            w = full[v["id"]]
            assert v["t"] == w["t"] and v["rsid"] == w["rsid"] and v["n"] == w["n"]
            for key in ("p", "b", "s", "f"):
                assert v[key] == [float(f"{x:.6g}") for x in w[key]], (v["id"], key)
            n += 1
    # the text formats hold the rows of coded chromosomes only (the unplaced contig's are left out)
    coded = {str(c) for c in range(1, 23)} | {"X", "Y", "MT"}
    assert n == sum(v["id"].split(":")[0] in coded for v in full.values()) < len(full)


def test_phecode_categories_from_a_file(release, tmp_path):
    rel = tmp_path / "release"
    shutil.copytree(release, rel)
    summary = json.loads((rel / "publish.json").read_text())
    for t in summary["traits"]:
        if t["name"] == "bmi":
            t["name"], t["category"] = "phecode_278.1", None
    (rel / "publish.json").write_text(json.dumps(summary))
    info = tmp_path / "phecode_info.csv"
    info.write_text("phecode,phecode_string,category,sex\n278.1,Obesity,endocrine/metabolic,Both\n")
    build_site(rel, tmp_path / "site", BrowseOptions(phecode_info=str(info)))
    traits = {t["name"]: t for t in json.loads((tmp_path / "site" / "data" / "traits.json").read_text())}
    assert traits["phecode_278.1"]["category"] == "endocrine/metabolic"
    assert traits["250.2"]["category"] == "endocrine/metabolic"   # the release's own category kept
    assert traits["ldl"]["category"] == "other"


def _fails(capsys, code, needle, *args):
    """The real CLI in this process (each subprocess would pay the imports again)."""
    capsys.readouterr()
    assert main(["browse", *map(str, args)]) == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


@pytest.fixture
def cli_logging():
    """main() routes hubscan's loggers to the captured stderr: give them back afterwards."""
    yield
    from hubscan.log import LOGGER_NAMES

    for name in LOGGER_NAMES:
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def test_bad_inputs_one_line_nothing_written(release, tmp_path, capsys, cli_logging):
    out = tmp_path / "site"
    _fails(capsys, 1, "no publish.json", tmp_path, "--out", out)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "publish.json").write_text("{not json")
    _fails(capsys, 1, "cannot be read as JSON", tmp_path / "bad", "--out", out)
    (tmp_path / "bad" / "publish.json").write_text('{"format": "something-else"}')
    _fails(capsys, 1, "not a hubscan publication", tmp_path / "bad", "--out", out)
    broken = tmp_path / "broken"
    shutil.copytree(release, broken)
    (broken / "parquet" / "ldl.parquet").unlink()
    _fails(capsys, 1, "parquet/ldl.parquet", broken, "--out", out)
    for f in (broken / "regenie").iterdir():
        f.unlink()
    summary = json.loads((broken / "publish.json").read_text())
    for t in summary["traits"]:
        if "files" in t:  # withheld traits list no files
            t["files"] = [f for f in t["files"] if not f.startswith(("parquet/", "regenie/"))]
    (broken / "publish.json").write_text(json.dumps(summary))
    _fails(capsys, 1, "has neither parquet/ldl.parquet nor regenie/ldl.regenie.gz", broken, "--out", out)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(release, corrupt)
    (corrupt / "parquet" / "bmi.parquet").write_bytes(b"PAR1 not really")
    _fails(capsys, 1, "cannot be read", corrupt, "--out", out)
    _fails(capsys, 1, "inside the release", release, "--out", release / "site")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep me")
    _fails(capsys, 1, "not empty", release, "--out", tmp_path / "full")
    _fails(capsys, 2, "multiple of the chunk window", release, "--out", out, "--spill-bp", "150000")
    info = tmp_path / "info.csv"
    info.write_text("phecode,sex\n250.2,Both\n")
    _fails(capsys, 1, "needs 'phecode' and 'category' columns", release, "--out", out, "--phecode-info", info)
    assert not out.exists()
    assert (tmp_path / "full" / "x.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary folder left


def test_parquet_is_only_read(release):
    """The site is built from the release as it is: nothing in the release changes."""
    before = {p: p.stat().st_mtime_ns for p in release.rglob("*") if p.is_file()}
    assert pq.read_table(release / "parquet" / "ldl.parquet").num_rows > 0
    assert {p: p.stat().st_mtime_ns for p in release.rglob("*") if p.is_file()} == before
