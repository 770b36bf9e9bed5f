"""A PheWeb-style results browser for a release (``hubscan publish`` output).

:func:`gwas.browse.build.build_site` (CLI ``hubscan browse``) reads only the release folder
(:mod:`gwas.browse.release`) and writes a static site: home, trait (Manhattan, QQ, top rows),
variant (PheWAS) and region pages, our own JS/CSS in ``assets/``, data as JSON. Serve it with any
static web server, or ``hubscan browse --serve PORT`` (127.0.0.1 only).
"""
