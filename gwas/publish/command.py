"""Publish a results store (``hubscan gwas`` / ``hubscan phewas`` output) as files a hub can release:
GWAS-SSF v1.0 (gzipped TSV + -meta.yaml + md5, for the GWAS Catalog), REGENIE- and plink2-style
text, Parquet, Manhattan/QQ/PheWAS/regional plots (PNG + SVG) and an HTML report.

Disclosure control comes first: counts of 7 or fewer suppressed and the rest rounded to 5
(NHS / OpenSAFELY practice), variants with possibly fewer than 8 minor-allele carriers and binary
traits with fewer than 20 cases or controls withheld; controls published as n - cases, allele
frequencies from the rounded counts; disclosure/ lists the rules applied and what was withheld
(variants counted by reason, never named).
The output folder appears whole or not at all; on bad input nothing is written.
"""

from hubscan.options import add_output

HELP = "summary statistics a hub can release: GWAS-SSF, REGENIE/plink2 text, Parquet, plots, report"


def add_arguments(parser) -> None:
    from gwas.publish.disclosure import DisclosureRules
    from gwas.publish import FORMATS

    parser.add_argument("results", metavar="RESULTS", help="results store folder (a finished GWAS or PheWAS scan)")
    add_output(parser, "publication folder (created; replaced whole if it holds an earlier publication)")
    parser.add_argument("--genome-build", metavar="BUILD", help="GRCh37 or GRCh38 (default: from the results store)")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help=f"comma-separated among {', '.join(FORMATS)} (default all)")
    parser.add_argument("--effect", choices=["auto", "beta", "odds-ratio"], default="auto",
                        help="GWAS-SSF effect column: auto = odds_ratio for binary traits, beta otherwise")
    parser.add_argument("--p-format", choices=["p", "neg-log10"], default="p",
                        help="GWAS-SSF p column: p_value (exact text below 1e-308) or neg_log_10_p_value")
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="date in the GWAS-SSF metadata (default today, UTC)")
    parser.add_argument("--no-plots", action="store_true", help="skip plots and the HTML report")
    parser.add_argument("--hit-p", type=float, default=5e-8, help="regional plot around a lead with p at most this")
    parser.add_argument("--region-window", type=int, default=250_000, metavar="BP", help="regional plot half-width")
    parser.add_argument("--phewas-variants", type=int, default=5, help="PheWAS plots for this many top variants")
    d = DisclosureRules()
    g = parser.add_argument_group("disclosure control")
    g.add_argument("--suppress-at-or-below", type=int, default=d.suppress_at_or_below, metavar="N",
                   help=f"suppress counts of N or fewer (default {d.suppress_at_or_below})")
    g.add_argument("--round-to", type=int, default=d.round_to, metavar="N",
                   help=f"round other counts to the nearest N (default {d.round_to}; 1 = no rounding)")
    g.add_argument("--min-carriers", type=int, default=d.min_carriers, metavar="N",
                   help=f"withhold variants that may have fewer than N minor-allele carriers (default {d.min_carriers})")
    g.add_argument("--min-trait-cases", type=int, default=d.min_trait_cases, metavar="N",
                   help=f"withhold binary traits with fewer than N cases or controls (default {d.min_trait_cases})")


def run(args) -> int:
    from gwas.publish.disclosure import DisclosureRules
    from gwas.publish.run import PublishOptions, publish

    rules = DisclosureRules(suppress_at_or_below=args.suppress_at_or_below, round_to=args.round_to,
                            min_carriers=args.min_carriers, min_trait_cases=args.min_trait_cases)
    options = PublishOptions(rules=rules, formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
                             effect=args.effect, p_format=args.p_format, genome_build=args.genome_build,
                             date=args.date, plots=not args.no_plots, hit_p=args.hit_p,
                             region_window=args.region_window, phewas_variants=args.phewas_variants)
    result = publish(args.results, args.out, options)
    print(f"{result.out}: {result.traits_published} traits published ({result.traits_withheld} withheld), "
          f"{result.variants_published} variant rows, {result.rows_withheld} rows withheld, {result.files} files")
    return 0
