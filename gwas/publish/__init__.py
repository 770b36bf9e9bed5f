"""Publishing summary statistics from a results store: what a hub may release.

:func:`gwas.publish.run.publish` (CLI ``hubscan publish``) applies disclosure control
(:mod:`gwas.publish.disclosure`) and writes GWAS-SSF v1.0 (:mod:`gwas.publish.ssf`), REGENIE- and
plink2-style text and Parquet (:mod:`gwas.publish.text`), plots (:mod:`gwas.publish.plots`) and an
HTML report (:mod:`gwas.publish.report`), all into one folder that appears whole or not at all.
"""

#: output formats besides plots and the report
FORMATS = ("gwas-ssf", "regenie", "plink2", "parquet")
