"""Run in sgkit's own virtual environment (tests/sgkit/make-venv.sh): load hubscan stores with
``sgkit.load_dataset`` (default arguments) and print sgkit's results as JSON on stdout.

    python sgkit_results.py traits.npz STORE [STORE ...]

traits.npz: ``trait`` (samples,) and ``covariates`` (samples, k) float64. Per store: the loaded
fields' dtypes and dimensions; ``variant_stats`` and ``count_call_alleles`` on every variant;
``sample_stats`` and ``hardy_weinberg_test`` on the variants whose calls are all diploid (sgkit
refuses the -2 fill of haploid calls there); ``gwas_linear_regression`` of the trait on ``call_DS``
(or, without it, the ALT counts of ``count_call_alleles``) over the variants without a missing
dosage. NaN is written as null. Uses only numpy, xarray and sgkit (no hubscan code).
"""

import json
import sys
import warnings

import numpy as np
import sgkit

warnings.simplefilter("ignore")  # merge and consolidated-metadata warnings would only clutter stderr


def values(x) -> list:
    a = np.asarray(x, dtype=np.float64)
    return np.where(np.isnan(a), None, a).tolist()


def results(path: str, trait: np.ndarray, covariates: np.ndarray) -> dict:
    ds = sgkit.load_dataset(path)
    out = {"fields": {v: {"dtype": str(ds[v].dtype), "dims": list(ds[v].dims)} for v in ds.data_vars}}
    vs = sgkit.variant_stats(ds, merge=False).compute()
    out["variant_stats"] = {k: values(vs[k]) for k in ("variant_n_called", "variant_call_rate", "variant_n_het",
                                                      "variant_n_hom_ref", "variant_n_hom_alt")}
    out["variant_stats"]["alt_frequency"] = values(vs["variant_allele_frequency"][:, 1])
    out["alt_allele_count"] = np.asarray(sgkit.count_call_alleles(ds, merge=False)["call_allele_count"][..., 1]).tolist()
    gt = np.asarray(ds["call_genotype"])
    diploid = np.flatnonzero((gt >= -1).all(axis=(1, 2)))
    dip = ds.isel(variants=diploid)
    ss = sgkit.sample_stats(dip, merge=False).compute()
    out["diploid_variants"] = diploid.tolist()
    out["sample_stats"] = {k: values(ss[k]) for k in ("sample_n_called", "sample_call_rate", "sample_n_het",
                                                     "sample_n_hom_ref", "sample_n_hom_alt")}
    out["hwe_p"] = values(sgkit.hardy_weinberg_test(dip, merge=False)["variant_hwe_p_value"])
    if "call_DS" in ds:
        dosage = ds["call_DS"].astype(np.float64)
        out["dosage_source"] = "call_DS"
    else:
        dosage = sgkit.count_call_alleles(ds, merge=False)["call_allele_count"][..., 1].astype(np.float64)
        dosage = dosage.where(~ds["call_genotype_mask"].any("ploidy"))
        out["dosage_source"] = "count_call_alleles"
    dosage = np.asarray(dosage)
    complete = np.flatnonzero(~np.isnan(dosage).any(axis=1) & (np.nanstd(dosage, axis=1) > 0))
    reg = ds.isel(variants=complete)
    reg["dosage"] = (("variants", "samples"), dosage[complete])
    reg["trait"] = (("samples",), trait)
    names = []
    for j in range(covariates.shape[1]):
        reg[f"covariate_{j}"] = (("samples",), covariates[:, j])
        names.append(f"covariate_{j}")
    lr = sgkit.gwas_linear_regression(reg, dosage="dosage", covariates=names, traits=["trait"], merge=False).compute()
    out["regression_variants"] = complete.tolist()
    out["regression"] = {k: values(lr[f"variant_linreg_{k}"][:, 0]) for k in ("beta", "t_value", "p_value")}
    return out


def main() -> None:
    data = np.load(sys.argv[1])
    print(json.dumps({p: results(p, data["trait"], data["covariates"]) for p in sys.argv[2:]}))


if __name__ == "__main__":
    main()
