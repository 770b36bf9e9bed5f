"""gwas.scan.inputs.catalogue_text (csv module, no pandas) against the pandas reader it replaces
(phenotypes.matrix.catalogue.read_catalogue): the same text values, exactly."""

import subprocess
import sys

import pytest

from gwas.scan.inputs import _catalogue_text_pandas, catalogue_text
from phenotypes.matrix.catalogue import Catalogue

BINARY = {"cases": 60, "controls": 900, "excluded": 3, "excluded_sex": 0, "missing": 1}


def written_catalogue(path):
    """A catalogue as `hubscan phenotypes` writes it, with awkward definitions."""
    cat = Catalogue()
    cat.add("250.2", "binary", "phecode1.2", "Type 2 diabetes", BINARY)
    cat.add("ldl", "quantitative", "measurement", 'LOINC 13457-7 "LDL", mg/dL\twith a tab', {}, [1.0, 2.5, None])
    cat.add("custom_1", "binary", "custom", "", BINARY)
    cat.add("x_na", "binary", "custom", "NA", BINARY)
    cat.add("x_num", "binary", "custom", "1.5", BINARY)
    cat.write(path)
    return path


def test_written_catalogue_same_as_pandas(tmp_path):
    path = written_catalogue(tmp_path / "catalogue.tsv")
    fast = catalogue_text(path)
    assert fast == _catalogue_text_pandas(path)
    assert fast["ldl"]["definition"] == 'LOINC 13457-7 "LDL", mg/dL\twith a tab'
    assert "definition" not in fast["x_na"] and fast["custom_1"]["definition"] == ""


@pytest.mark.parametrize("text", [
    "name\tsource\tcategory\na\tphecode1.2\tNA\nb\tNA\t\nc\t1.5\tTrue\nNA\tcustom\tx\n",  # mixed: text columns
    "name\tsource\tcategory\na\t1\tTrue\nb\t2.5\tFalse\n",        # numbers and booleans: not text for pandas
    "name\tsource\na\tNA\nb\tNA\n",                               # all missing
    "name\tsource\tdefinition\na\t\t\nb\tx\n",                    # ragged row
    "name\tsource\tdefinition\r\na\tphecodeX\t\"q\"\"uoted\"\r\n\r\nb\tcustom\t7\r\n",  # CRLF, quoting, blank line
])
def test_edge_cases_same_as_pandas(tmp_path, text):
    path = tmp_path / "catalogue.tsv"
    path.write_bytes(text.encode())
    assert catalogue_text(path) == _catalogue_text_pandas(path)


def test_no_pandas_import(tmp_path):
    path = written_catalogue(tmp_path / "catalogue.tsv")
    code = ("import sys; from gwas.scan.inputs import catalogue_text; "
            f"catalogue_text({str(path)!r}); assert 'pandas' not in sys.modules, 'pandas imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
