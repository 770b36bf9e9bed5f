"""The pages in a real browser (Debian's headless Chromium driven by Playwright), served on
127.0.0.1: search finds the planted variants, the variant page shows their PheWAS with the
release's numbers, the Manhattan has the planted peak and a click on it opens that variant, the
region page centres on it. Every request is recorded: none leaves 127.0.0.1. Screenshots are kept
in the folder the `screenshots` fixture prints."""

import json
from urllib.parse import quote, urlparse

import pyarrow.parquet as pq
import pytest

from tests.browse.test_site_data import planted_ids

READY = "body[data-ready='yes']"


def _open(page, path):
    page.goto(page.base + path)
    page.wait_for_selector("body[data-ready]", timeout=20_000)
    assert page.evaluate("document.body.dataset.ready") == "yes", page.inner_text("#app")


def _only_local(page):
    assert page.requests, "no request recorded"
    outside = [u for u in page.requests if urlparse(u).hostname != "127.0.0.1" and not u.startswith("data:")]
    assert not outside, outside
    assert not page.errors, page.errors


def _release_row(release, stem, vid):
    chrom, pos, ref, alt = vid.split(":")
    t = pq.read_table(release / "parquet" / f"{stem}.parquet").to_pandas()
    row = t[(t.chromosome == chrom) & (t.base_pair_location == int(pos)) & (t.other_allele == ref)
            & (t.effect_allele == alt)]
    assert len(row) == 1
    return row.iloc[0]


def test_home_lists_traits_with_released_counts(page, release, screenshots):
    _open(page, "index.html")
    page.screenshot(path=screenshots / "home.png", full_page=True)
    summary = json.loads((release / "publish.json").read_text())
    rows = page.locator("table").nth(1).locator("tbody tr")
    published = [t for t in summary["traits"] if not t["withheld"]]
    assert rows.count() == len(published)
    for k, t in enumerate(published):
        cells = rows.nth(k).locator("td").all_inner_texts()
        assert cells[0] == t["name"]
        assert cells[4] == f"{t['n']:,}"
        if t["type"] == "binary":
            assert (cells[5], cells[6]) == (f"{t['n_cases']:,}", f"{t['n_controls']:,}")
        assert cells[7] == f"{t['variants_published']:,}"
    _only_local(page)


def test_search_finds_planted_variant_and_its_phewas(page, cohort, release, screenshots):
    quant, binary = planted_ids(cohort)
    _open(page, "index.html")
    page.fill("#search", "rs14")
    item = page.locator("#suggest li a", has_text="rs1400")
    item.wait_for(timeout=10_000)
    page.screenshot(path=screenshots / "search.png")
    item.click()
    page.wait_for_url("**/variant.html?id=*")
    page.wait_for_selector(READY, timeout=20_000)
    assert binary in page.inner_text("h1")
    page.screenshot(path=screenshots / "variant.png", full_page=True)
    summary = json.loads((release / "publish.json").read_text())
    published = {t["name"]: t for t in summary["traits"] if not t["withheld"]}
    assert page.locator("#phewas .pt").count() == len(published)
    rows = page.locator("table tbody tr")
    assert rows.count() == len(published)
    first = rows.nth(0).locator("td").all_inner_texts()
    assert first[0] == "250.2" and first[1] == "endocrine/metabolic"   # most significant first
    for k in range(rows.count()):
        cells = rows.nth(k).locator("td").all_inner_texts()
        r = _release_row(release, published[cells[0]]["stem"], binary)
        assert float(cells[2]) == pytest.approx(10 ** -r.neg_log10_p_value, rel=5e-3)   # 3 significant digits
        assert float(cells[3]) == float(f"{r.beta:.4g}") and float(cells[4]) == float(f"{r.standard_error:.4g}")
        assert float(cells[5]) == float(f"{r.effect_allele_frequency:.4g}")
        assert cells[6] == f"{int(r.n):,}"
    _only_local(page)


def test_search_by_trait_name_and_position(page, cohort):
    quant, _ = planted_ids(cohort)
    _open(page, "index.html")
    page.fill("#search", "type 2")
    page.locator("#suggest li a", has_text="250.2").wait_for(timeout=10_000)
    chrom, pos = quant.split(":")[:2]
    page.fill("#search", f"chr{chrom}:{pos}")
    page.locator("#suggest li a", has_text=quant).wait_for(timeout=10_000)
    page.keyboard.press("Enter")
    page.wait_for_url("**/variant.html?id=*")
    page.wait_for_selector(READY, timeout=20_000)
    assert quant in page.inner_text("h1")
    _only_local(page)


def test_manhattan_has_the_planted_peak_and_a_click_opens_it(page, cohort, screenshots):
    quant, _ = planted_ids(cohort)
    _open(page, "trait.html?t=ldl")
    page.screenshot(path=screenshots / "trait-ldl.png", full_page=False)
    points = page.locator("#manhattan circle.pt")
    assert points.count() == 500
    ys = page.eval_on_selector_all("#manhattan circle.pt", "els => els.map(e => [e.dataset.id, +e.getAttribute('cy')])")
    assert min(ys, key=lambda t: t[1])[0] == quant   # highest point
    peak = page.locator(f"#manhattan circle.pt[data-id='{quant}']")
    peak.hover()
    assert page.locator("#tip").is_visible() and quant in page.inner_text("#tip")
    peak.click()
    page.wait_for_url(f"**/variant.html?id={quote(quant, safe='')}")
    page.wait_for_selector(READY, timeout=20_000)
    assert quant in page.inner_text("h1")
    _only_local(page)


def test_trait_page_qq_and_lambda(page, release):
    summary = json.loads((release / "publish.json").read_text())
    lam = next(t["lambda_gc"] for t in summary["traits"] if t["name"] == "bmi")
    _open(page, "trait.html?t=bmi")
    assert page.inner_text("#lambda") == f"λGC = {float(f'{lam:.4g}'):g}"
    assert page.locator("#qq circle").count() > 50
    _only_local(page)


def test_region_page_centres_on_the_lead(page, cohort, screenshots):
    quant, _ = planted_ids(cohort)
    chrom, pos = quant.split(":")[:2]
    _open(page, f"region.html?t=ldl&chrom={chrom}&start={int(pos) - 250_000}&end={int(pos) + 250_000}")
    page.screenshot(path=screenshots / "region.png")
    assert page.locator("#region polygon.pt").get_attribute("data-id") == quant
    assert "No LD reference" in page.inner_text("#app")
    page.select_option("#trait-select", "bmi")
    page.wait_for_url("**/region.html?t=bmi*")
    page.wait_for_selector(READY, timeout=20_000)
    assert page.locator("#region .pt").count() > 0
    _only_local(page)


def test_page_decodes_every_chunk_layout(page):
    """The page's chunk decoder (common.js) on the layouts the demo's site does not use: columns
    stored once per variant ("const") and trait indices stored (a variant missing a trait); values
    bit for bit, NaN kept, -0.0 kept."""
    import base64

    import numpy as np

    from gwas.browse.phewas import encode_chunk

    t = np.array([0, 2, 3, 1, 0, 1, 2, 3], np.int32)
    cols = {"p": np.array([1.5, 7.25, np.nan, 3.0, 1e-300, 2.0, 320.5, 0.1]),
            "b": np.array([0.1, -0.0, 0.3, -0.4, 0.5, -0.6, 0.7, 1 / 3]),
            "s": np.repeat([0.01, 0.02, 0.03], [3, 1, 4]), "f": np.repeat([0.25, np.nan, 0.5], [3, 1, 4]),
            "n": np.repeat([50_000.0, 7.0, np.nan], [3, 1, 4]), "t": t}
    header = {"chrom": "X", "chunk": 10, "pos": [10, 20, 30], "ref": ["A", "C", "G"], "alt": ["G", "T", "A"],
              "rsid": ["rs1", "", ""], "start": [0, 3, 4]}
    data = encode_chunk(header, cols, 4)
    assert b'"const":["s","f","n"],"every_trait":false' in data
    _open(page, "index.html")
    got = page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        return H.decodeChunk(bytes.buffer).variants.map((v) => ({ id: v.id, rsid: v.rsid, t: Array.from(v.t),
          p: Array.from(v.p), b: Array.from(v.b), s: Array.from(v.s), f: Array.from(v.f), n: Array.from(v.n) }));
    }""", base64.b64encode(data).decode())
    assert [v["id"] for v in got] == ["X:10:A:G", "X:20:C:T", "X:30:G:A"] and got[0]["rsid"] == "rs1"
    assert sum((v["t"] for v in got), []) == t.tolist()
    for k in ("p", "b", "s", "f", "n"):
        flat = np.array(sum((v[k] for v in got), []), float)
        assert flat.view(np.int64).tolist() == cols[k].view(np.int64).tolist() or \
            (np.isnan(flat) == np.isnan(cols[k])).all() and (flat[~np.isnan(flat)].view(np.int64).tolist()
                                                             == cols[k][~np.isnan(cols[k])].view(np.int64).tolist()), k
    _only_local(page)
