"""The attacker: takes the session's release (``hubscan publish`` of the simulated cohort, see
conftest.py / cohort.py) and tries every reconstruction it knows against the disclosure control.

It reads every file of the release (gzip decompressed, Parquet decoded, JSON, YAML, HTML, SVG,
PNG bytes) and tries:

* allele frequency x 2n' for every n' near the published n (the called count may be a little below
  it): a unique integer allele count gives back the exact count the rounding hid;
* the linear test's p-value: p depends on the residual degrees of freedom n - k - 1, so solving
  for the df that reproduces p from t = beta / SE gives back the exact n;
* complementary counts: n = cases + controls, the same count published in several files, counts
  of other traits on the same samples (n of one trait as the n of another);
* differences of rounded allele counts between traits on nested samples (ldl: all 800 samples,
  bmi: those with a BMI): the allele count of the samples without a BMI;
* the standard error of a binary trait's log odds ratio, ~ 1 / sqrt(n phi (1 - phi) 2f(1 - f)),
  as an estimate of the case count;
* names of withheld variants, numbers next to withheld traits, and local paths, in every file.

What counts as recovered (the truth comes from the simulation, never from the release):
a count pinned to one value that is the true one and not the value the rounding published
(learning the published value is no gain); a suppressed or withheld small count (cases or
controls of a withheld trait, a difference of counts) proven to be >= 1 and <= the suppression
threshold; any withheld variant named; the exact small count written next to a withheld trait.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from gwas.assoc.results import t_test_p
from gwas.publish.disclosure import DisclosureRules, protect_counts

RULES = DisclosureRules()  # the defaults the session's release was made with
HALF = RULES.round_to / 2


def _rounded(c: float) -> float:
    return float(protect_counts(np.array([c], dtype=np.float64), RULES)[0])


# --- reading the release ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def release(published):
    """{relative path: decoded text} of every file; Parquet as CSV of its decoded table."""
    out, _ = published
    texts = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        if path.suffix == ".parquet":
            text = pq.read_table(path).to_pandas().to_csv(index=False) + data.decode("latin-1")
        else:
            text = data.decode("utf-8" if path.suffix != ".png" else "latin-1", errors="replace")
        texts[str(path.relative_to(out))] = text
    return texts


def _precision(text: str) -> float:
    """Half a unit of the last digit written: the value is known to within this."""
    return 0.5 * 10.0 ** Decimal(text).as_tuple().exponent if text not in ("NA", "#NA") else math.nan


@pytest.fixture(scope="module")
def rows(published):
    """Every published row of every per-variant table: trait, source, contig, position, af,
    af_delta (known to within), n (published), and from Parquet allele_count, beta, se, nlp."""
    out, _ = published
    summary = json.loads((out / "publish.json").read_text())
    frames = []
    for t in summary["traits"]:
        if t["withheld"] is not None:
            continue
        stem, name = t["stem"], t["name"]
        p = pq.read_table(out / "parquet" / f"{stem}.parquet").to_pandas()
        frames.append(pd.DataFrame({
            "trait": name, "source": "parquet", "contig": p["chromosome"], "position": p["base_pair_location"],
            "af": p["effect_allele_frequency"], "af_delta": 1e-9 * p["effect_allele_frequency"],
            "n": p["n"].astype(float), "allele_count": p["allele_count"].astype(float), "beta": p["beta"],
            "se": p["standard_error"], "nlp": p["neg_log10_p_value"], "n_cases": p["n_cases"].astype(float),
            "n_controls": p["n_controls"].astype(float)}))
        texts = [("gwas-ssf", f"{stem}.tsv.gz", "\t", "chromosome", "base_pair_location", "effect_allele_frequency",
                  "n"),
                 ("regenie", f"{stem}.regenie.gz", " ", "CHROM", "GENPOS", "A1FREQ", "N"),
                 ("plink2", f"{stem}.glm.{'logistic' if t['type'] == 'binary' else 'linear'}.gz", "\t", "#CHROM",
                  "POS", "A1_FREQ", "OBS_CT")]
        for source, file, sep, chrom, pos, af, n in texts:
            table = pd.read_csv(out / source / file, sep=sep, dtype=str, keep_default_na=False)
            # numeric chromosome codes: GWAS-SSF's (X 23, Y 24, MT 25) and plink's (X 23, Y 24, MT 26)
            codes = {"23": "X", "24": "Y", "25": "MT"} if source == "gwas-ssf" else {"23": "X", "24": "Y", "26": "MT"}
            contig = table[chrom].replace(codes)
            ok = ~table[af].isin(["NA", "#NA"])
            frames.append(pd.DataFrame({
                "trait": name, "source": source, "contig": contig[ok], "position": table.loc[ok, pos].astype(int),
                "af": table.loc[ok, af].astype(float), "af_delta": table.loc[ok, af].map(_precision),
                "n": pd.to_numeric(table.loc[ok, n], errors="coerce")}))
    return pd.concat(frames, ignore_index=True)


# --- the truth, from the simulation ----------------------------------------------------------

@pytest.fixture(scope="module")
def truth(cohort):
    """(trait-level {name: {n, n_cases, n_controls}}, per-row {(trait, contig, position): (ac, n_called)})."""
    traits = {e["name"]: {k: e.get(k) for k in ("n", "n_cases", "n_controls")} for e in cohort.metadata["traits"]}
    index = {(c, int(p)): v for v, (c, p) in enumerate(zip(cohort.variants["contig"], cohort.variants["position"]))}
    per_row = {}
    for name, y in cohort.traits.items():
        g = cohort.dosage[:, np.isfinite(y)]
        called = np.isfinite(g)
        ac, nc = np.where(called, g, 0.0).sum(axis=1), called.sum(axis=1)
        for key, v in index.items():
            per_row[(name, *key)] = (float(ac[v]), int(nc[v]))
    return traits, per_row


# --- the attacks -----------------------------------------------------------------------------

def allele_count_candidates(af: float, delta: float, n_pub: float) -> set[tuple[int, int]]:
    """(n', allele count) pairs with n' near the published n (from 3 % or 3 rounding steps below
    it, for missing calls, to one step above) and an integer allele count within af ± delta."""
    below = max(3 * RULES.round_to, math.ceil(0.03 * n_pub))
    found = set()
    for n2 in range(max(1, int(n_pub) - below), int(n_pub) + RULES.round_to + 1):
        lo, hi = 2 * n2 * (af - delta), 2 * n2 * (af + delta)
        for ac in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1):
            found.add((n2, ac))
    return found


def af_attack(rows: pd.DataFrame, per_row: dict) -> tuple[pd.DataFrame, int]:
    """(rows where the attack pinned the exact allele count, not the published one, and got it
    right; rows where it claimed an answer at all)."""
    leaked, claimed = [], 0
    for r in rows[np.isfinite(rows["af"]) & np.isfinite(rows["n"])].itertuples(index=False):
        found = allele_count_candidates(r.af, r.af_delta, r.n)
        if len(found) != 1:
            continue
        claimed += 1
        (n2, ac2), = found
        ac, nc = per_row[(r.trait, r.contig, int(r.position))]
        if ac2 == ac and (ac2 != _rounded(ac) or n2 != _rounded(nc)):
            leaked.append((r.source, r.trait, r.contig, r.position, ac2, n2))
    return pd.DataFrame(leaked, columns=["source", "trait", "contig", "position", "allele_count", "n_called"]), claimed


def test_allele_frequency_gives_back_no_count(rows, truth):
    _, per_row = truth
    leaked, claimed = af_attack(rows, per_row)
    assert len(rows) > 2000 and claimed > 0  # the attack ran on every format and did answer
    assert leaked.empty, (f"{len(leaked)} of {len(rows)} rows give back their exact allele count and called n "
                          f"through AF x 2n', e.g.\n{leaked.groupby('source').head(2)}")


def df_attack(r: pd.DataFrame, n_covariates: int) -> tuple[set, np.ndarray]:
    """t = beta / SE (float64), then the n' (near the published n) whose Student t p with
    n' - k - 1 df (k + 1 = covariates + intercept + genotype) matches the published -log10 p:
    (n' that match to 1e-9 on some row, best n' of each row)."""
    t = (r["beta"] / r["se"]).to_numpy()
    n_pub = int(r["n"].iloc[0])
    tries = np.arange(n_pub - 3 * RULES.round_to, n_pub + 3 * RULES.round_to + 1)
    error = np.array([np.abs(t_test_p(t, n2 - n_covariates - 2)[1] - r["nlp"].to_numpy()) for n2 in tries])
    best = tries[error.argmin(axis=0)]
    exact = error.min(axis=0) <= 1e-9 * np.maximum(r["nlp"].to_numpy(), 1.0)
    return set(best[exact].tolist()), best


def _linear_rows(rows):
    return rows[(rows["source"] == "parquet") & rows["trait"].isin(["ldl", "bmi"]) & np.isfinite(rows["nlp"])]


def test_linear_p_values_give_back_no_n(rows, truth, published):
    out, _ = published
    covariates = json.loads((out / "publish.json").read_text())["source"]["covariates"]
    traits, _ = truth
    for name, r in _linear_rows(rows).groupby("trait"):
        guesses, best = df_attack(r, len(covariates))
        n_true, n_pub = traits[name]["n"], int(r["n"].iloc[0])
        assert guesses  # the attack does find the df the published p-values were computed with
        assert not (n_true in guesses and n_true != n_pub), \
            f"{name}: the p-values give back n = {n_true} (published {n_pub}) on {int((best == n_true).sum())} rows"


def _trait_counts(published, release) -> dict:
    """Every count the release gives per trait, from every place that gives one:
    {trait: {count: set of values, None = written as suppressed}} and upper bounds from reasons."""
    out, _ = published
    got = defaultdict(lambda: defaultdict(set))
    summary = json.loads(release["publish.json"])
    for t in summary["traits"]:
        for k in ("n", "n_cases", "n_controls"):
            if k in t and (t[k] is not None or t["type"] == "binary" or k == "n"):
                got[t["name"]][k].add(t[k])
        for m in re.finditer(r"fewer than (\d+) (cases|controls)", t["withheld"] or ""):
            got[t["name"]][f"n_{m.group(2)}_below"].add(int(m.group(1)))
        for m in re.finditer(r"(?<!than )\b(\d+) (cases|controls)", t["withheld"] or ""):  # counts written in reasons
            got[t["name"]][f"n_{m.group(2)}"].add(int(m.group(1)))
        if t["withheld"] is None:
            meta = yaml.safe_load(release[f"gwas-ssf/{t['stem']}.tsv.gz-meta.yaml"])["samples"][0]
            for k, m in (("n", "sample_size"), ("n_cases", "case_count"), ("n_controls", "control_count")):
                if m in meta:
                    got[t["name"]][k].add(meta[m])
            p = pq.read_table(out / "parquet" / f"{t['stem']}.parquet").to_pandas()
            for k in ("n", "n_cases", "n_controls"):
                got[t["name"]][k].update(None if pd.isna(v) else int(v) for v in p[k].unique())
    # the report's traits table: trait, category, type, test, n, cases, controls, ...
    for row in re.findall(r"<tr>(.*?)</tr>", release.get("report.html", "")):
        cells = [re.sub("<.*?>", "", c) for c in re.findall(r"<td>(.*?)</td>", row)]
        if len(cells) >= 7 and cells[0] in got:
            for k, v in zip(("n", "n_cases", "n_controls"), cells[4:7]):
                if v.isdigit():
                    got[cells[0]][k].add(int(v))
                elif v == "suppressed":
                    got[cells[0]][k].add(None)
    return got


def _interval(values: set) -> tuple[float, float]:
    """What the published values say about a count: [lo, hi] (integers)."""
    lo, hi = 0.0, math.inf
    for v in values:
        if v is None:                                       # suppressed: at most the threshold
            hi = min(hi, RULES.suppress_at_or_below)
        else:                                               # rounded: [v - r/2, v + r/2)
            lo, hi = max(lo, math.ceil(v - HALF)), min(hi, math.ceil(v + HALF) - 1)
    return lo, hi


def solve(n, cases, controls) -> dict:
    """Intervals narrowed by n = cases + controls until nothing changes."""
    n, cases, controls = list(n), list(cases), list(controls)
    for _ in range(10):
        n[0], n[1] = max(n[0], cases[0] + controls[0]), min(n[1], cases[1] + controls[1])
        cases[0], cases[1] = max(cases[0], n[0] - controls[1]), min(cases[1], n[1] - controls[0])
        controls[0], controls[1] = max(controls[0], n[0] - cases[1]), min(controls[1], n[1] - cases[0])
    return {"n": tuple(n), "n_cases": tuple(cases), "n_controls": tuple(controls)}


def complement_problems(got: dict, traits: dict, binary: list[str]) -> set[str]:
    """Each binary trait's counts narrowed by n = cases + controls, with its own n and with the n of
    every other trait on the same samples; what that recovers."""
    problems = set()
    for name in binary:
        own = {k: _interval(got[name][k]) for k in ("n", "n_cases", "n_controls")}
        for k in ("cases", "controls"):
            for bound in got[name][f"n_{k}_below"]:
                own[f"n_{k}"] = (own[f"n_{k}"][0], min(own[f"n_{k}"][1], bound - 1))
        hypotheses = [own["n"]] + [_interval(got[other]["n"]) for other in got
                                   if other != name and traits[other]["n"] == traits[name]["n"] and got[other]["n"]]
        for n in hypotheses:
            derived = solve(n, own["n_cases"], own["n_controls"])
            for k, (lo, hi) in derived.items():
                true = traits[name][k]
                small = true <= RULES.suppress_at_or_below or true < RULES.min_trait_cases
                if lo > hi:
                    problems.add(f"{name} {k}: published counts contradict each other {dict(got[name])}")
                elif lo == hi == true and true != _rounded(true):
                    problems.add(f"{name} {k}: exactly {true} from {derived} (n from {n})")
                elif small and k != "n" and lo >= 1:
                    problems.add(f"{name} {k}: a small count (true {true}) shown to be in [{lo}, {hi}] from {n}")
    return problems


def test_complementary_counts_and_traits_sharing_samples(published, release, truth):
    traits, _ = truth
    got = _trait_counts(published, release)
    binary = [e["name"] for e in json.loads(release["publish.json"])["traits"] if e["type"] == "binary"]
    assert "rare_disease" in binary and "skipped trait" in binary
    problems = complement_problems(got, traits, binary)
    assert not problems, "\n".join(sorted(problems))


def test_the_attacks_catch_what_the_release_used_to_publish(rows, truth, cohort):
    """The attacks are not blind: fed what publishing used to write — the scan's exact allele
    frequency and p-values, and a withheld trait's n and controls — each recovers counts."""
    from gwas.results.store import open_results

    traits, per_row = truth
    store = open_results(cohort.root).read(columns=["contig", "position", "trait", "allele_frequency", "neg_log10_p"])
    exact = store.set_index(["trait", "contig", "position"])
    parquet = rows[rows["source"] == "parquet"]
    key = pd.MultiIndex.from_arrays([parquet["trait"], parquet["contig"], parquet["position"]])
    old = parquet.assign(af=exact.loc[key, "allele_frequency"].to_numpy(), af_delta=0.0,
                         nlp=exact.loc[key, "neg_log10_p"].to_numpy())
    leaked, _ = af_attack(old, per_row)
    assert len(leaked) > len(old) / 3
    guesses, _ = df_attack(_linear_rows(old).query("trait == 'bmi'"), 4)
    assert guesses == {traits["bmi"]["n"]} != {760}
    got = {"rare_disease": defaultdict(set, n={800}, n_cases={None}, n_controls={795})}
    assert "rare_disease n_cases: a small count (true 6) shown to be in [1, 7] from (798, 802)" in \
        complement_problems(got, traits, ["rare_disease"])


def test_differences_of_rounded_allele_counts(rows, truth):
    """ldl (every sample) minus bmi (samples with a BMI): the allele count of the samples without a
    BMI, bounded by the published (rounded) counts and by the AF attack where its count is not the
    published one (an AF that gives back the rounded count says nothing more)."""
    _, per_row = truth
    parquet = rows[rows["source"] == "parquet"]
    bounds = {}
    for r in parquet.itertuples(index=False):
        lo, hi = r.allele_count - HALF, r.allele_count + HALF  # the rounding interval (fractional dosages)
        found = allele_count_candidates(r.af, r.af_delta, r.n)
        if len(found) == 1 and next(iter(found))[1] != r.allele_count:  # AF says more than the rounded count
            (_, ac), = found
            lo, hi = max(lo, ac), min(hi, ac)
        bounds[(r.trait, r.contig, r.position)] = (lo, hi)
    leaked = []
    for (trait, contig, position), (lo_a, hi_a) in bounds.items():
        if trait != "ldl" or ("bmi", contig, position) not in bounds:
            continue
        lo_b, hi_b = bounds[("bmi", contig, position)]
        lo, hi = lo_a - hi_b, hi_a - lo_b
        true = per_row[("ldl", contig, position)][0] - per_row[("bmi", contig, position)][0]
        if lo > 0 and hi <= RULES.suppress_at_or_below and lo - 1e-9 <= true <= hi + 1e-9:
            leaked.append((contig, position, lo, hi, true))
    assert len(bounds) > 500
    assert not leaked, f"{len(leaked)} variants: allele count of the samples without BMI in [1, 7], e.g. {leaked[:3]}"


def test_standard_errors_estimate_cases_only_roughly(rows, truth):
    """Var(log OR) ~ 1 / (n phi (1 - phi) 2f(1 - f)) (no covariate effect, Hardy-Weinberg): the median
    over variants estimates phi, the case fraction. Genotype sampling, covariates and the fit's
    weights blur it: it misses the true case count by more than the rounding does (see README)."""
    traits, _ = truth
    for name in ("250.2", "411.2"):
        r = rows[(rows["source"] == "parquet") & (rows["trait"] == name)]
        f, n = r["af"].to_numpy(), r["n"].to_numpy()
        v = np.median(1.0 / (r["se"].to_numpy() ** 2 * 2 * n * f * (1 - f)))
        cases = n[0] * (1 - math.sqrt(max(1 - 4 * v, 0.0))) / 2
        assert abs(cases - traits[name]["n_cases"]) > HALF, (name, cases, traits[name]["n_cases"])


def test_withheld_variants_are_never_named(rows, release, cohort):
    published_ids = set(rows["contig"].astype(str) + ":" + rows["position"].astype(str))
    variants = cohort.variants
    never = {int(p): c for c, p, in zip(variants["contig"], variants["position"]) if f"{c}:{p}" not in published_ids}
    never_ids = {v for c, p, v in zip(variants["contig"], variants["position"], variants["variant_id"])
                 if f"{c}:{p}" not in published_ids and v != "."}
    assert len(never) >= 20 and len(never_ids) >= 15  # the rare and monomorphic variants
    named = []
    for path, text in release.items():
        if path.endswith(".png"):
            continue
        named += [(path, m) for m in set(re.findall(r"\brs\d+\b", text)) & never_ids]
        for line in text.splitlines():
            tokens = set(re.findall(r"(?<![\w.])(\w[\w.]*)(?![\w.])", line, re.ASCII))
            named += [(path, line[:80]) for tok in tokens if tok.isdigit() and never.get(int(tok)) in tokens]
    assert not named, f"{len(named)} mentions of withheld variants, e.g. {named[:3]}"


def _records(path: str, text: str):
    """Pieces of a file that belong together: JSON objects (flattened), HTML table rows, lines."""
    if path.endswith(".json"):  # each object's own scalars; an object under a key, with the key
        scalar = lambda d: {k: v for k, v in d.items() if not isinstance(v, (dict, list))}  # noqa: E731
        stack = [json.loads(text)]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                yield json.dumps(scalar(item))
                yield from (json.dumps({k: scalar(v)}) for k, v in item.items() if isinstance(v, dict))
                stack.extend(item.values())
            elif isinstance(item, list):
                yield json.dumps([v for v in item if not isinstance(v, (dict, list))])
                stack.extend(item)
    elif path.endswith(".html"):
        yield from re.findall(r"<tr>.*?</tr>", text)
    else:
        yield from text.splitlines()


def test_withheld_trait_counts_written_nowhere(release, truth):
    """The exact small count of a withheld trait (6 cases; 3 cases in the scan's own reason) is in
    no record that names the trait."""
    traits, _ = truth
    secrets = {name: {v for v in (t["n_cases"], t["n_controls"]) if v is not None}
               for name, t in traits.items() if name in ("rare_disease", "skipped trait")}
    found = []
    for path, text in release.items():
        if path.endswith((".png", ".svg", ".parquet")):
            continue
        for record in _records(path, text):
            for name, values in secrets.items():
                if name in record:
                    numbers = {int(m) for m in re.findall(r"(?<![\w.])\d+(?![\w.])", record, re.ASCII)}
                    found += [(path, name, v, record[:120]) for v in values & numbers]
    assert not found, found


def test_no_local_paths(release, published, cohort):
    out, _ = published
    paths = {str(cohort.root), str(cohort.root.resolve()), str(out.parent), str(out.resolve().parent),
             str(Path.home()), os.getcwd(), "/tmp/"}
    found = [(path, p) for path, text in release.items() for p in paths if p in text]
    assert not found, found
