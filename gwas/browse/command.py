"""Build a PheWeb-style results browser from a release folder (``hubscan publish`` output): a
static site with a home page (traits, top hits, search), trait pages (Manhattan, QQ with λGC, top
variants, downloads), variant pages (PheWAS by category) and region pages. Only the release's
files are read. Serve the folder with any static web server, or add --serve PORT (127.0.0.1).
"""

from hubscan.options import add_output

HELP = "a PheWeb-style results browser (static site) from a release folder"


def add_arguments(parser) -> None:
    from gwas.browse.build import BrowseOptions

    d = BrowseOptions()
    parser.add_argument("release", metavar="RELEASE", help="release folder written by `hubscan publish`")
    add_output(parser, "site folder (created; replaced whole if it holds an earlier site)")
    parser.add_argument("--serve", type=int, metavar="PORT",
                        help="after building, serve the site on http://127.0.0.1:PORT until interrupted")
    parser.add_argument("--phecode-info", metavar="FILE",
                        help="CSV/TSV with phecode and category columns: categories for phecode_* traits the "
                             "release gives none (e.g. phecode_definitions1.2.csv, the demo's phecode_info.csv)")
    parser.add_argument("--ld", metavar="FILE",
                        help="LD reference colouring region pages: a PLINK --r2 table (CHR_A BP_A SNP_A CHR_B BP_B "
                             "SNP_B R2, e.g. plink --r2 --ld-window-r2 0), pairs matched by position")
    parser.add_argument("--points", type=int, default=d.points,
                        help=f"Manhattan points kept unbinned per trait (default {d.points})")
    parser.add_argument("--peak-p", type=float, default=d.peak_p, help=f"top-hit p-value (default {d.peak_p:g})")
    parser.add_argument("--peak-window", type=int, default=d.peak_window, metavar="BP",
                        help=f"one top hit per this many bp each side (default {d.peak_window})")
    parser.add_argument("--chunk-rows", type=int, default=d.chunk_rows, metavar="N",
                        help=f"(variant, trait) rows per variant data file, whole variants (default {d.chunk_rows})")
    parser.add_argument("--chunk-bp", type=int, default=d.chunk_bp, metavar="BP",
                        help=f"LD data files cover this many bp; region pages show at most 60 times it "
                             f"(default {d.chunk_bp})")
    parser.add_argument("--spill-bp", type=int, default=d.spill_bp, metavar="BP",
                        help=f"build bucket width, a multiple of --chunk-bp; memory grows with it (default {d.spill_bp})")
    parser.add_argument("--no-release-files", action="store_true",
                        help="do not put the release's files under downloads/release/")


def run(args) -> int:
    from gwas.browse.build import BrowseOptions, build_site

    options = BrowseOptions(points=args.points, peak_p=args.peak_p, peak_window=args.peak_window,
                            chunk_rows=args.chunk_rows, chunk_bp=args.chunk_bp, spill_bp=args.spill_bp, phecode_info=args.phecode_info,
                            copy_release=not args.no_release_files, ld=args.ld)
    result = build_site(args.release, args.out, options)
    print(f"{result.out}: {result.traits} traits, {result.variants} variants, {result.rows} rows, "
          f"{result.chunks} variant files")
    if args.serve is not None:
        from gwas.browse.serve import make_server

        server = make_server(result.out, args.serve)
        print(f"serving {result.out} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
