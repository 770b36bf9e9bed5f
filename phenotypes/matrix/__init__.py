"""Outputs: the sample x trait matrix (Parquet, NaN masks), the trait catalogue and the
plink2/REGENIE text layout (written and read)."""

from phenotypes.matrix.io import (BINARY, QUANTITATIVE, ParquetMatrixWriter, TextMatrixWriter, TraitMatrix, read_matrix,
                                  read_text, write_text)

__all__ = ["BINARY", "QUANTITATIVE", "ParquetMatrixWriter", "TextMatrixWriter", "TraitMatrix", "read_matrix", "read_text",
           "write_text"]
