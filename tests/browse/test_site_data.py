"""The site's data against the release it was built from (read here with pyarrow, not with the
site's reader): every (variant, trait) row exactly once with the release's values (float64,
exact), every number of every JSON file traced back to the release, Manhattan bins and peaks
against brute-force references, λGC against the publisher's, no sample or patient identifier."""

import json
import math
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.browse.chunks import site_chunks
from tests.browse.conftest import hubscan
from tests.publish.cohort import HIT_BINARY, HIT_QUANT

ID_SHAPE = re.compile(rb"(?:HUBS\d{8}|PT\d{9})")


def _release_rows(release):
    """trait name -> {variant id: (nlp, beta, se, af, n or None, rsid)} from the release's Parquet."""
    summary = json.loads((release / "publish.json").read_text())
    out = {}
    for t in summary["traits"]:
        if t["withheld"]:
            continue
        frame = pq.read_table(release / "parquet" / f"{t['stem']}.parquet").to_pandas()
        out[t["name"]] = {f"{c}:{p}:{r}:{a}": (nlp, b, s, f, None if n is None or n != n else int(n), v)
                          for c, p, r, a, nlp, b, s, f, n, v in zip(
                              frame["chromosome"], frame["base_pair_location"], frame["other_allele"],
                              frame["effect_allele"], frame["neg_log10_p_value"], frame["beta"],
                              frame["standard_error"], frame["effect_allele_frequency"], frame["n"],
                              frame["variant_id"])}
    return summary, out


@pytest.fixture(scope="module")
def data(site, release):
    summary, rows = _release_rows(release)
    traits = json.loads((site / "data" / "traits.json").read_text())
    return summary, rows, traits


def _chunks(site):
    """Every chunk; each chromosome's index.json lists exactly its chunks' first positions, in order,
    and a chunk's variants lie before the next chunk's first position."""
    folders = [p for p in (site / "data" / "variants").iterdir()]
    assert folders and all(p.is_dir() for p in folders)
    for folder in folders:
        starts = json.loads((folder / "index.json").read_text())
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        assert sorted(p.name for p in folder.iterdir()) == sorted([f"{k}.bin.gz" for k in starts] + ["index.json"])
    for path, chunk in site_chunks(site):
        starts = json.loads((path.parent / "index.json").read_text())
        k = starts.index(chunk["chunk"])
        pos = [v["pos"] for v in chunk["variants"]]
        assert pos[0] == chunk["chunk"] and pos == sorted(pos)
        assert k == len(starts) - 1 or pos[-1] < starts[k + 1]
        yield path, chunk


def test_every_released_row_once_with_its_values(site, data):
    summary, rows, traits = data
    seen = {t["name"]: set() for t in traits}
    for path, chunk in _chunks(site):
        for v in chunk["variants"]:
            assert v["id"] == f"{chunk['chrom']}:{v['pos']}:{v['ref']}:{v['alt']}"
            for k, ti in enumerate(v["t"]):
                name = traits[ti]["name"]
                nlp, b, s, f, n, vid = rows[name][v["id"]]
                assert (v["p"][k], v["b"][k], v["s"][k], v["f"][k], v["n"][k]) == (nlp, b, s, f, n), (path, name)
                assert v["rsid"] == (vid if vid.startswith("rs") else "")
                assert v["id"] not in seen[name]
                seen[name].add(v["id"])
    for name, ids in rows.items():
        assert seen[name] == set(ids), name
    assert sum(len(s) for s in seen.values()) == sum(t["variants_published"] for t in summary["traits"]
                                                     if not t["withheld"])


def test_traits_as_released(data):
    summary, rows, traits = data
    published = [t for t in summary["traits"] if not t["withheld"]]
    assert [t["name"] for t in traits] == [t["name"] for t in published]
    for t, p in zip(traits, published):
        for key in ("n", "n_cases", "n_controls", "variants_published", "type", "description"):
            assert t[key] == p.get(key), (t["name"], key)
        assert t["category"] == (p.get("category") or "other")
        # λGC computed by the site (chi2.isf) against the publisher's (ndtri_exp): same p-values
        assert t["lambda_gc"] == pytest.approx(p["lambda_gc"], rel=1e-9)
        assert t["lambda_gc_release"] == p["lambda_gc"]
    assert "rare_disease" not in {t["name"] for t in traits}  # withheld by disclosure control


def _manhattan_reference(ids, nlp, keep, bin_bp):
    """Brute force: the ``keep`` largest as points; every other row's round(nlp, 1) in its bin."""
    order = sorted(range(len(nlp)), key=lambda i: (-nlp[i], i))
    points = set(order[:keep])
    bins = {}
    for i, vid in enumerate(ids):
        if i in points:
            continue
        chrom, pos = vid.split(":")[0], int(vid.split(":")[1])
        bins.setdefault((chrom, pos // bin_bp * bin_bp), set()).add(round(nlp[i] * 10) / 10)
    return [ids[i] for i in order[:keep]], bins


def test_trait_pages_data(site, data):
    summary, rows, traits = data
    options = json.loads((site / "data" / "site.json").read_text())["options"]
    layout = {c["index"]: c["chrom"] for c in json.loads((site / "data" / "site.json").read_text())["chromosomes"]}
    for t in traits:
        d = json.loads((site / "data" / "traits" / f"{t['stem']}.json").read_text())
        released = rows[t["name"]]
        ids = list(released)  # file order of the release
        nlp = [released[i][0] for i in ids]
        points, bins = _manhattan_reference(ids, nlp, options["points"], options["bin_bp"])
        assert [p["id"] for p in d["points"]] == points
        for p in d["points"] + d["peaks"] + d["top"]:
            assert (p["p"], p["b"], p["s"], p["f"], p["n"]) == released[p["id"]][:5]
            assert layout[p["c"]] == p["chrom"] == p["id"].split(":")[0] and p["pos"] == int(p["id"].split(":")[1])
        got = {}
        for c, start, runs in d["bins"]:
            levels = set()
            for lo, hi in runs:
                levels |= {round(q) / 10 for q in np.arange(round(lo * 10), round(hi * 10) + 1)}
            got[(layout[c], start)] = levels
        assert got == bins, t["name"]
        # QQ: the exact head is the release's largest -log10 p; the rest rounded to 0.01
        obs = sorted(nlp, reverse=True)
        head = [o for _, o in d["qq"][:200]]
        assert head == obs[:200]
        rounded = {round(o, 2) for o in obs}
        assert all(o in rounded for _, o in d["qq"][200:])
        # peaks: brute force, most significant first, one per ±500 kb
        want = []
        for i in sorted(range(len(ids)), key=lambda i: (-nlp[i], i)):
            c, pos = ids[i].split(":")[0], int(ids[i].split(":")[1])
            if nlp[i] < -math.log10(options["peak_p"]):
                break
            if all(not (c == w.split(":")[0] and abs(pos - int(w.split(":")[1])) <= options["peak_window"]) for w in want):
                want.append(ids[i])
        assert [p["id"] for p in d["peaks"]] == want
        top_tsv = (site / d["downloads"][0]["href"]).read_text().splitlines()
        assert len(top_tsv) == 1 + len(d["top"])
        for line, p in zip(top_tsv[1:], d["top"]):
            f = line.split("\t")
            assert f[0] == p["id"] and float(f[4]) == p["p"] and float(f[5]) == p["b"]


def planted_ids(cohort):
    """(quantitative hit on chromosome 4, binary hit on chromosome 14) as chrom:pos:ref:alt."""
    v = cohort.variants
    return tuple(f"{v['contig'][i]}:{v['position'][i]}:{v['ref'][i]}:{v['alt'][i]}" for i in (HIT_QUANT, HIT_BINARY))


def test_planted_hits_are_the_top_hits(site, cohort):
    hits = json.loads((site / "data" / "tophits.json").read_text())
    traits = json.loads((site / "data" / "traits.json").read_text())
    quant, binary = planted_ids(cohort)
    named = [(traits[h["trait"]]["name"], h["id"]) for h in hits]
    assert named[0] == ("ldl", quant)
    assert ("250.2", binary) in named
    rsids = json.loads((site / "data" / "rsid" / "14.json").read_text())
    assert rsids["rs1400"] == [binary]


def _numbers(obj):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)


def test_every_number_comes_from_the_release(site, data):
    """Every number in the variant, trait and top-hit data is a release value, or (trait pages) a
    release -log10 p rounded as the page says, or one the page derives from release values only
    (QQ expectation, λGC, trait index, chromosome index)."""
    summary, rows, traits = data
    released = set()
    for table in rows.values():
        for vid, values in table.items():
            released |= {x for x in values[:5] if x is not None}
            released.add(int(vid.split(":")[1]))
    for path, chunk in _chunks(site):
        nums = set(_numbers(chunk["variants"]))
        trait_index = {i for v in chunk["variants"] for i in v["t"]}
        assert nums - released - trait_index - {chunk["chunk"]} == set(), path
    hits = json.loads((site / "data" / "tophits.json").read_text())
    for h in hits:
        assert {h["p"], h["b"], h["s"], h["f"], h["pos"]} <= released
    for t in traits:
        d = json.loads((site / "data" / "traits" / f"{t['stem']}.json").read_text())
        for p in d["points"] + d["peaks"] + d["top"]:
            assert {p["p"], p["b"], p["s"], p["f"], p["pos"]} - {None} <= released


def test_no_identifier_in_site_or_logs(built, cohort):
    site, proc = built
    ids = set(cohort.sample_ids) | set(cohort.patient_ids)
    files = [p for p in site.rglob("*") if p.is_file()]
    assert len(files) > 50 and {p.suffix for p in files} >= {".html", ".js", ".json", ".gz", ".tsv"}
    for path in files:
        found = {m.decode() for m in ID_SHAPE.findall(path.read_bytes())} & ids
        if path.suffix == ".gz":
            import gzip
            found |= {m.decode() for m in ID_SHAPE.findall(gzip.decompress(path.read_bytes()))} & ids
        assert not found, f"{path.relative_to(site)} holds identifiers"
    assert "DEBUG" in proc.stderr or "INFO" in proc.stderr
    assert not {m.decode() for m in ID_SHAPE.findall((proc.stdout + proc.stderr).encode())} & ids
