"""QC thresholds, defined once (CLI options and the report read them from here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hubscan.errors import ConfigError


@dataclass(frozen=True)
class QcThresholds:
    """Defaults as common GWAS practice (Anderson et al. 2010, Nat Protoc 5:1564; Marees et al. 2018).

    min_sample_call_rate: samples below fail ("call_rate"). het_sd: samples whose autosomal
    heterozygosity rate (n_het / n_called) is more than this many SDs from the mean of the samples
    passing call rate fail ("heterozygosity"). min_variant_call_rate, min_maf, min_hwe_p: variants
    below fail ("call_rate", "maf", "hwe"; HWE exact test on autosomes only).
    female_f, male_f: X-chromosome inbreeding F below which genetic sex is female / above which male
    (Hail impute_sex). min_kinship: pairs with PC-Relate kinship above are related (0.0442 = 2^-4.5,
    the third-degree boundary; KING, Manichaikul et al. 2010). pca_min_maf, ld_r2, ld_window_bp:
    the PCA and relatedness variant set: autosomal variants passing call rate with MAF >= pca_min_maf,
    LD-pruned to r² < ld_r2 within ld_window_bp (HWE is not applied there: ancestry-informative
    variants depart from HWE in a structured sample). n_pcs: principal components reported.
    """

    min_sample_call_rate: float = 0.97
    het_sd: float = 4.0
    min_variant_call_rate: float = 0.95
    min_maf: float = 0.01
    min_hwe_p: float = 1e-6
    female_f: float = 0.2
    male_f: float = 0.8
    min_kinship: float = 0.0442
    pca_min_maf: float = 0.05
    ld_r2: float = 0.2
    ld_window_bp: int = 500_000
    n_pcs: int = 10

    def __post_init__(self) -> None:
        for name in ("min_sample_call_rate", "min_variant_call_rate", "min_maf", "min_hwe_p", "pca_min_maf",
                     "ld_r2", "min_kinship"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")
        if self.het_sd <= 0:
            raise ConfigError(f"het_sd must be positive, got {self.het_sd}")
        if not self.female_f < self.male_f:
            raise ConfigError(f"female_f ({self.female_f}) must be below male_f ({self.male_f})")
        if self.n_pcs < 1 or self.ld_window_bp < 1:
            raise ConfigError("n_pcs and ld_window_bp must be positive")

    def to_dict(self) -> dict:
        return asdict(self)


#: KING kinship boundaries (Manichaikul et al. 2010): kinship above each value -> that degree.
DEGREE_BOUNDS = ((0.354, "duplicate/MZ twin"), (0.177, "first degree"), (0.0884, "second degree"),
                 (0.0442, "third degree"))


def degree(kinship: float) -> str:
    """Relationship degree of a kinship coefficient (KING boundaries)."""
    for bound, name in DEGREE_BOUNDS:
        if kinship > bound:
            return name
    return "unrelated"
