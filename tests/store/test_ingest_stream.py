"""The single-pass local ingest of bgzipped VCFs (:mod:`gwas.ingest.stream`) against the two-pass
path (plan, then parts): the same store array for array (values, shapes, chunks, attributes),
for several files, multi-allelic records straddling parts, parts of several chunks and inputs
shorter than a chunk; a run stopped after a written part resumes and converts only the others."""

import numpy as np
import pytest
import zarr

from gwas.ingest import run, sources
from gwas.io import bgzf
from gwas.io.vcf.writer import BgzfWriter

HEAD = ("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
        "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"d\">\n##contig=<ID=2,length=5000>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td\n")


def _vcfs(tmp_path, seed=4, n_files=2, records=150):
    rng = np.random.default_rng(seed)
    paths = []
    for f in range(n_files):
        lines = []
        for i in range(records):
            k = int(rng.choice([1, 1, 2, 3]))
            alts = ",".join("CGT"[:k])
            calls = "\t".join(f"{rng.integers(0, k + 1)}|{rng.integers(0, k + 1)}" if rng.random() > 0.05 else "./."
                              for _ in range(4))
            if i % 4 == 0:
                calls = "\t".join(c + ":" + ",".join(f"{rng.uniform(0, 2):.2f}" for _ in range(k))
                                  for c in calls.split("\t"))
            chrom = str(1 + 2 * f + (i >= records // 2))
            lines.append(f"{chrom}\t{10 + i}\t{'rs%d' % i if i % 3 else '.'}\tA\t{alts}\t.\t.\t.\t"
                         f"{'GT:DS' if i % 4 == 0 else 'GT'}\t{calls}\n")
        path = tmp_path / f"in{f}.vcf.gz"
        with BgzfWriter(path, 1) as w:
            w.write((HEAD + "".join(lines)).encode())
        paths.append(path)
    return paths


def _same(a, b):
    ga, gb = zarr.open_group(str(a), mode="r", zarr_format=2), zarr.open_group(str(b), mode="r", zarr_format=2)
    assert sorted(ga.array_keys()) == sorted(gb.array_keys())
    assert dict(ga.attrs) == dict(gb.attrs)
    for k in ga.array_keys():
        x, y = ga[k], gb[k]
        assert (x.shape, x.chunks, x.dtype, dict(x.attrs)) == (y.shape, y.chunks, y.dtype, dict(y.attrs)), k
        np.testing.assert_array_equal(x[:], y[:], err_msg=k)


@pytest.mark.parametrize("variants_chunk,chunks_per_part,records", [(16, 1, 150), (10, 3, 150), (1000, 1, 40)])
def test_single_pass_equals_two_pass(tmp_path, monkeypatch, variants_chunk, chunks_per_part, records):
    paths = _vcfs(tmp_path, records=records)
    assert run.streamable(paths, None) and not run.streamable(paths, object())
    monkeypatch.setattr(bgzf, "BATCH_BYTES", 900)  # many batches, records met in small spans
    monkeypatch.setattr(sources, "SUB_BLOCK_GENOTYPES", 4 * 7)
    one = run.ingest(paths, tmp_path / "one", variants_chunk=variants_chunk, samples_chunk=3,
                     chunks_per_part=chunks_per_part, threads=2)
    with monkeypatch.context() as m:
        m.setattr(run, "streamable", lambda *a: False)
        two = run.ingest(paths, tmp_path / "two", variants_chunk=variants_chunk, samples_chunk=3,
                         chunks_per_part=chunks_per_part, threads=2)
    assert (one.n_variants, one.n_samples, one.parts_total) == (two.n_variants, two.n_samples, two.parts_total)
    _same(tmp_path / "one", tmp_path / "two")


def test_single_pass_resumes_after_a_failed_part(tmp_path, monkeypatch):
    paths = _vcfs(tmp_path, seed=9)
    with monkeypatch.context() as m:
        m.setattr(run, "streamable", lambda *a: False)
        run.ingest(paths, tmp_path / "two", variants_chunk=20, samples_chunk=3)
    store_part = run._store_part

    def failing(store, args, part, block, *threads):
        if part[0] == "part-000004":
            raise RuntimeError("disk full")
        return store_part(store, args, part, block, *threads)

    with monkeypatch.context() as m:
        m.setattr(run, "_store_part", failing)
        with pytest.raises(RuntimeError, match="disk full"):
            run.ingest(paths, tmp_path / "one", variants_chunk=20, samples_chunk=3)
    assert not (tmp_path / "one" / "_SUCCESS").exists()
    again = run.ingest(paths, tmp_path / "one", variants_chunk=20, samples_chunk=3)
    assert again.parts_run < again.parts_total
    _same(tmp_path / "one", tmp_path / "two")
    assert run.ingest(paths, tmp_path / "one", variants_chunk=20, samples_chunk=3).parts_run == 0
