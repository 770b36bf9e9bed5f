"""No sample or patient identifier in any published file or in the logs of the run.

The cohort's ids have fixed shapes (HUBS + 8 digits, PT + 9 digits); every output file is read
(gzip decompressed, Parquet both raw and decoded, PNG/SVG raw) and every id-shaped token checked
against the cohort. The store's _results.json carries some ids on purpose (a trap): the scan finds
them there, so it would find them in an output.
"""

import gzip
import re

import pyarrow.parquet as pq

from gwas.results.store import metadata_path

ID_SHAPE = re.compile(rb"(?:HUBS\d{8}|PT\d{9})")


def _contents(path):
    data = path.read_bytes()
    yield data
    if path.suffix == ".gz":
        yield gzip.decompress(data)
    if path.suffix == ".parquet":
        yield pq.read_table(path).to_pandas().to_csv().encode()


def _ids_in(blobs, ids):
    return {m.decode() for blob in blobs for m in ID_SHAPE.findall(blob)} & ids


def test_scanner_finds_the_trap_in_the_input(cohort):
    ids = set(cohort.sample_ids) | set(cohort.patient_ids)
    assert len(ids) == 1600
    assert len(_ids_in([metadata_path(cohort.root).read_bytes()], ids)) == 6


def test_no_identifier_in_outputs_or_logs(published, cohort):
    out, proc = published
    ids = set(cohort.sample_ids) | set(cohort.patient_ids)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(files) > 50
    for path in files:
        leaked = _ids_in(_contents(path), ids)
        assert not leaked, f"{path.relative_to(out)} holds identifiers {sorted(leaked)[:3]}"
    assert "DEBUG" in proc.stderr or "INFO" in proc.stderr  # the logs really were captured
    assert not _ids_in([proc.stdout.encode(), proc.stderr.encode()], ids)
