"""The HTML report of a publication: run metadata, traits (protected counts), disclosure summary,
files, and the plots (linked PNG, SVG beside them). One self-describing page, no scripts."""

from __future__ import annotations

import html
from pathlib import Path

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:1em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
img{max-width:100%;border:1px solid #eee;margin:4px 0}.note{color:#555;font-size:13px}"""


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _count(trait: dict, key: str) -> str:
    """A published count, 'suppressed', or '' where it does not apply or the trait is withheld
    (a withheld trait publishes no count)."""
    if trait["withheld"] is not None or key not in trait or (key != "n" and trait.get("type") != "binary"):
        return ""
    return "suppressed" if trait[key] is None else str(trait[key])


def write_report(path: Path, summary: dict, plots: dict[str, list[str]]) -> Path:
    """``summary`` is the publish.json content; ``plots`` maps a section title to PNG paths
    relative to the report."""
    source = summary["source"]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>hubscan publication: "
             f"{html.escape(source['job'])}</title><style>{STYLE}</style></head><body>",
             f"<h1>Summary statistics ({html.escape(source['job'])})</h1>",
             "<h2>Run</h2>",
             _table(["field", "value"], [["scan software", source.get("created_by")],
                                         ["published by", summary["created_by"]],
                                         ["genome build", summary["genome_build"]],
                                         ["date", summary["date"]],
                                         ["variants scanned", source.get("n_variants")],
                                         ["covariates", ", ".join(source.get("covariates") or [])],
                                         ["software", ", ".join(f"{k} {v}" for k, v in
                                                                sorted((source.get("software") or {}).items()))]]),
             "<h2>Traits</h2>",
             _table(["trait", "category", "type", "test", "n", "cases", "controls", "variants published",
                     "λGC", "lead -log10 p", "status"],
                    [[t["name"], t.get("category") or "other", t.get("type"), t.get("test"), _count(t, "n"),
                      _count(t, "n_cases"), _count(t, "n_controls"),
                      t.get("variants_published", ""),
                      "" if t.get("lambda_gc") is None else f"{t['lambda_gc']:.3f}",
                      "" if t.get("lead_neg_log10_p") is None else f"{t['lead_neg_log10_p']:.2f}",
                      "published" if t["withheld"] is None else f"withheld: {t['withheld']}"]
                     for t in summary["traits"]]),
             "<h2>Disclosure control</h2>"]
    rules = summary["disclosure"]["rules"]
    parts.append(f"<p class='note'>Counts of {rules['suppress_at_or_below']} or fewer are suppressed and the others "
                 f"rounded to the nearest {rules['round_to']}; controls are n minus cases of the published counts, "
                 "and both are suppressed when either is small; allele frequencies are the rounded allele count "
                 "over twice the rounded called samples; variants that may have fewer than "
                 f"{rules['min_carriers']} minor-allele carriers are withheld (counted, not named); traits with "
                 f"fewer than {rules['min_trait_cases']} cases, controls or samples are withheld with no count. "
                 "Every rule and its parameters: disclosure/disclosure.json.</p>")
    withheld = [[trait, reason, count] for trait, reasons in summary["disclosure"]["variants_withheld"].items()
                for reason, count in reasons.items()]
    parts.append(_table(["trait", "variants withheld because", "variants"], withheld) if withheld
                 else "<p>No variant withheld.</p>")
    parts.append("<h2>Files</h2>")
    parts.append(_table(["file", "md5"], [[f, m] for f, m in sorted(summary["files"].items())]))
    for section, images in plots.items():
        if images:
            parts.append(f"<h2>{html.escape(section)}</h2>")
            parts.extend(f"<p><a href='{html.escape(p)}'><img src='{html.escape(p)}' alt='{html.escape(p)}'></a>"
                         f"<br><span class='note'>{html.escape(p)} (SVG: {html.escape(p[:-4])}.svg)</span></p>"
                         for p in images)
    parts.append("</body></html>\n")
    path.write_text("\n".join(parts))
    return path
