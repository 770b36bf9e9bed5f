"""Which phecodes each distinct ICD code in the records maps to, and which codes map to none.

Works on the distinct ``(family, code)`` pairs of the records (tens of thousands at most), not on
events. A code matches the map exactly; if it does not and ``parent_fallback`` is on, its nearest
ancestor in the map is used (the code shortened one character at a time, not below three
characters: a five-character HES code ``M0690`` falls back to ``M069``). PheWAS and PheTK match
exactly only; turn the fall-back off to reproduce them. Codes that match nothing are reported
(:attr:`Resolution.unmapped`, with their event counts), never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from phenotypes.phecodes.maps import PhecodeMap


@dataclass
class Resolution:
    pairs: pd.DataFrame      # family, code, phecode (rolled up), matched ("exact"/"parent")
    unmapped: pd.DataFrame   # family, code, n_events (most frequent first)
    report: dict


def resolve_codes(code_counts: pd.DataFrame, pmap: PhecodeMap, parent_fallback: bool = True) -> Resolution:
    """``code_counts``: (family, code, n_events) of the records' ICD codes."""
    by_code: dict[tuple[str, str], list[str]] = {}
    for family, code, phecode in zip(pmap.pairs["family"].tolist(), pmap.pairs["code"].tolist(),
                                     pmap.pairs["phecode"].tolist()):
        by_code.setdefault((family, code), []).append(phecode)
    rows, unmapped = [], []
    n_exact = n_parent = 0
    for family, code, n in code_counts[["family", "code", "n_events"]].itertuples(index=False):
        target, how = by_code.get((family, code)), "exact"
        if target is None and parent_fallback:
            c = code[:-1]
            while len(c) >= 3 and target is None:
                target = by_code.get((family, c))
                c = c[:-1]
            how = "parent"
        if target is None:
            unmapped.append((family, code, int(n)))
            continue
        if how == "exact":
            n_exact += int(n)
        else:
            n_parent += int(n)
        rows.extend((family, code, p, how) for p in target)
    pairs = pd.DataFrame(rows, columns=["family", "code", "phecode", "matched"])
    miss = pd.DataFrame(unmapped, columns=["family", "code", "n_events"]).sort_values(
        ["n_events", "family", "code"], ascending=[False, True, True], kind="stable").reset_index(drop=True)
    report = {"distinct_codes": int(len(code_counts)), "events": int(code_counts["n_events"].sum()),
              "events_exact": n_exact, "events_parent_fallback": n_parent,
              "events_unmapped": int(miss["n_events"].sum()), "distinct_codes_unmapped": int(len(miss))}
    return Resolution(pairs, miss, report)
