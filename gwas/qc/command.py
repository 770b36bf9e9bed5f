"""Genetic QC and population structure with Hail: sample QC (call rate, heterozygosity), variant QC
(call rate, MAF, HWE), genetic sex against recorded sex, relatedness (PC-Relate) with a maximal
unrelated set, and HWE-normalised PCA of LD-pruned common variants (related samples projected).

Writes sample_qc.tsv, pcs.tsv (FID IID PC1.. for the scans, plink2 and REGENIE), failed_samples.tsv,
failed_variants.tsv, variant_qc.tsv.gz, related_pairs.tsv, pca_variants.txt, qc.json and a report/
with plots. Thresholds default to common GWAS practice (see gwas/qc/thresholds.py).
"""

from hubscan.options import add_output, add_spark, make_paths_absolute, spark_overrides

HELP = "genetic QC with Hail: sample/variant QC, sex check, relatedness, principal components"


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FILE",
                        help="genotypes: VCF (.vcf.gz, several files allowed), BGEN, PLINK .bed or a Hail .mt")
    add_output(parser, "QC folder (created)")
    parser.add_argument("--sample-file", metavar="FILE", help="Oxford .sample with the BGEN's sample ids")
    parser.add_argument("--sex-file", metavar="FILE",
                        help="recorded sex per sample (TSV/CSV/.sample with a sample id column and --sex-column)")
    parser.add_argument("--sex-column", default="sex", help="column of --sex-file with the sex codes (default sex)")
    parser.add_argument("--labels", metavar="FILE", help="sample labels (population, hub) to colour the PC plots")
    parser.add_argument("--label-column", metavar="NAME", help="column of --labels to use")
    from gwas.qc.thresholds import QcThresholds

    d = QcThresholds()
    t = parser.add_argument_group("thresholds")
    t.add_argument("--min-sample-call-rate", type=float, default=d.min_sample_call_rate)
    t.add_argument("--het-sd", type=float, default=d.het_sd, help="heterozygosity outlier: SDs from the mean")
    t.add_argument("--min-variant-call-rate", type=float, default=d.min_variant_call_rate)
    t.add_argument("--min-maf", type=float, default=d.min_maf)
    t.add_argument("--min-hwe-p", type=float, default=d.min_hwe_p)
    t.add_argument("--min-kinship", type=float, default=d.min_kinship, help="related above (default 3rd degree)")
    t.add_argument("--pca-min-maf", type=float, default=d.pca_min_maf)
    t.add_argument("--ld-r2", type=float, default=d.ld_r2)
    t.add_argument("--pcs", type=int, default=d.n_pcs, help=f"principal components (default {d.n_pcs})")
    add_spark(parser)


def run(args) -> int:
    from gwas.qc.run import run_qc
    from gwas.qc.thresholds import QcThresholds
    from hubscan.errors import ConfigError
    from hubscan.files import prepare_output_dir
    from hubscan.runtime.spark import spark_for_run

    if bool(args.labels) != bool(args.label_column):
        raise ConfigError("--labels and --label-column go together")
    thresholds = QcThresholds(min_sample_call_rate=args.min_sample_call_rate, het_sd=args.het_sd,
                              min_variant_call_rate=args.min_variant_call_rate, min_maf=args.min_maf,
                              min_hwe_p=args.min_hwe_p, min_kinship=args.min_kinship, pca_min_maf=args.pca_min_maf,
                              ld_r2=args.ld_r2, n_pcs=args.pcs)
    make_paths_absolute(args, "inputs", "sample_file", "sex_file", "labels", "out")
    out = prepare_output_dir(args.out)
    with spark_for_run(out, args.spark_conf, spark_overrides(args), with_hail=True):
        result = run_qc(args.inputs, out, thresholds, sample_file=args.sample_file, sex_file=args.sex_file,
                        sex_column=args.sex_column, labels_file=args.labels, label_column=args.label_column)
    print(f"{result.out}: {result.n_samples} samples ({result.n_failed_samples} fail), {result.n_variants} variants "
          f"({result.n_failed_variants} fail), {result.n_related_pairs} related pairs, "
          f"{result.n_unrelated} unrelated, PCs from {result.n_pca_variants} variants")
    return 0
