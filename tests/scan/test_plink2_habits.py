"""plink2/REGENIE habits of `hubscan gwas`, each against plink2 --glm on the same .bed: the same
samples (--keep FID IID / --remove IID), variants (--extract, --exclude, --chr lists with and without
'chr', --mac), and results (categorical covariates one-hot, ids joined FID_IID); REGENIE option
names give the same files as hubscan's.

Data: 400 samples x 900 variants on chromosomes 1-3 (a third rare, for --mac), no missing calls
(plink2 drops missing calls where hubscan mean-imputes), a quantitative trait with missing values,
two numeric covariates and a three-level site. plink2 prints 6 significant digits: values agree to
its printed precision (tests/assoc/test_plink2.py's printed_tolerance). The tested allele: the .bed exported by plink2 as
BGEN (ref-last, its default, and ref-first) and read with --ref-last (the default) / --ref-first."""

import subprocess

import numpy as np
import pandas as pd
import pytest

from gwas.qc.from_store import BED_MAGIC, pack_bed
from gwas.results import open_results
from hubscan.cli import main
from tests.assoc.test_plink2 import printed_tolerance

N, M = 400, 900


@pytest.fixture(scope="module")
def data(tmp_path_factory, plink2):
    rng = np.random.default_rng(20)
    root = tmp_path_factory.mktemp("habits")
    freq = np.where(np.arange(M) % 3 == 0, rng.uniform(0.002, 0.03, M), rng.uniform(0.05, 0.5, M))
    g = rng.binomial(2, freq[:, None], size=(M, N)).astype(np.int8)
    fids, iids = [f"F{i // 2}" for i in range(N)], [f"I{i}" for i in range(N)]
    (root / "d.fam").write_text("".join(f"{f} {i} 0 0 0 -9\n" for f, i in zip(fids, iids)))
    chrom = np.repeat([1, 2, 3], M // 3)
    (root / "d.bim").write_text("".join(f"{c}\tv{v}\t0\t{1000 + v * 100}\tA\tG\n" for v, c in enumerate(chrom)))
    (root / "d.bed").write_bytes(BED_MAGIC + pack_bed(g))
    site = rng.choice(["north", "south", "east"], N)
    cov = rng.standard_normal((N, 2))
    q = 0.4 * g[1] + cov @ [0.5, -0.2] + (site == "east") * 0.7 + rng.standard_normal(N)
    q[rng.random(N) < 0.1] = np.nan
    pd.DataFrame({"#FID": fids, "IID": iids, "q": q}).to_csv(root / "pheno.txt", sep="\t", index=False,
                                                            float_format="%.17g", na_rep="NA")
    pd.DataFrame({"#FID": fids, "IID": iids, "c1": cov[:, 0], "c2": cov[:, 1], "site": site}).to_csv(
        root / "covar.txt", sep="\t", index=False, float_format="%.17g")
    (root / "keep.txt").write_text("#FID\tIID\n" + "".join(f"{fids[i]}\t{iids[i]}\n" for i in range(0, 360)))
    (root / "remove.txt").write_text("".join(f"{iids[i]}\n" for i in range(0, 400, 9)))
    # the same samples for plink2, which (v2.00a3.5) matches an IID-only line only where FID = IID
    (root / "remove-fid.txt").write_text("".join(f"{fids[i]} {iids[i]}\n" for i in range(0, 400, 9)))
    (root / "extract.txt").write_text("".join(f"v{v}\n" for v in range(M) if v % 4 != 1))
    (root / "exclude.txt").write_text("".join(f"v{v}\n" for v in range(0, M, 10)))
    assert main(["ingest", str(root / "d.bed"), "--out", str(root / "store")]) == 0
    return root


def run_plink2(plink2, root, name, *args, source=("--bfile", "d"), pheno=None, result="q.glm.linear", glm=()):
    out = root / name
    done = subprocess.run([plink2, source[0], str(root / source[1]), "--pheno", str(pheno or root / "pheno.txt"),
                           "--glm", "hide-covar", "omit-ref", *glm, *args, "--threads", "1", "--out", str(out)],
                          capture_output=True, text=True, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout[-3000:]
    frame = pd.read_csv(f"{out}.{result}", sep="\t")
    return frame[frame["TEST"] == "ADD"].reset_index(drop=True)


def run_hubscan(root, name, *args):
    out = root / name
    argv = ["gwas", "--genotype-store", str(root / "store"), "--out", str(out), "--threads", "2", *args]
    assert main(argv) == 0
    return open_results(out).read(traits=["q"]).sort_values("variant_index").reset_index(drop=True), out


def agree(ours: pd.DataFrame, theirs: pd.DataFrame):
    """Same variants in the same order, same n, beta/SE/p to plink2's printed precision (ALT tested:
    plink2 with 'omit-ref')."""
    assert ours.variant_id.tolist() == theirs["ID"].tolist()
    assert (theirs["A1"] == theirs["ALT"]).all() and (ours.alt == theirs["ALT"]).all()
    assert (ours.n.to_numpy() == theirs["OBS_CT"].to_numpy()).all()
    for mine, col in [("beta", "BETA"), ("standard_error", "SE"), ("p_value", "P")]:
        a, b = ours[mine].to_numpy(), theirs[col].to_numpy(dtype=float)
        ok = np.isfinite(b)   # NA in plink2 (a variant constant in the analysed samples): NaN in ours
        assert (np.isfinite(a) == ok).all() and ok.mean() > 0.9, mine
        assert (np.abs(a[ok] - b[ok]) <= printed_tolerance(b[ok])).all(), \
            (mine, np.max(np.abs(a[ok] - b[ok]) / printed_tolerance(b[ok])))


def test_samples_and_variant_filters_match_plink2(data, plink2):
    """--keep (FID IID with header) and --remove (IID only), --extract and --exclude, --chr as a
    list with 'chr' against plink2's 1,3, --mac: plink2's samples, variants and results."""
    common = ["--keep", str(data / "keep.txt"), "--extract", str(data / "extract.txt"), "--exclude",
              str(data / "exclude.txt"), "--mac", "12"]
    theirs = run_plink2(plink2, data, "p-filters", "--covar", str(data / "covar.txt"), "--covar-name", "c1,c2",
                        *common, "--remove", str(data / "remove-fid.txt"), "--chr", "1,3")
    ours, _ = run_hubscan(data, "h-filters", "--phenotypes", str(data / "pheno.txt"), "--covariate",
                          str(data / "covar.txt"), "--covariate-names", "c1,c2", *common, "--remove",
                          str(data / "remove.txt"), "--chr", "chr1", "--chr", "chr3")
    assert 100 < len(theirs) < 500 and set(ours.contig) == {"1", "3"}
    agree(ours, theirs)
    # ranges and 'chr' on plink2's side too
    theirs = run_plink2(plink2, data, "p-range", "--covar", str(data / "covar.txt"), "--covar-name", "c1,c2",
                        "--chr", "chr2-3", "--mac", "12")
    ours, _ = run_hubscan(data, "h-range", "--phenotypes", str(data / "pheno.txt"), "--covariate",
                          str(data / "covar.txt"), "--covariate-names", "c1,c2", "--chr", "2-3", "--mac", "12")
    agree(ours, theirs)


def test_categorical_covariate_matches_plink2(data, plink2):
    """A text covariate with three levels: plink2 codes it as categorical by itself; hubscan with
    --catCovarList, reference = first level in natural order (east), named in results.json."""
    theirs = run_plink2(plink2, data, "p-cat", "--covar", str(data / "covar.txt"))
    ours, out = run_hubscan(data, "h-cat", "--phenotypes", str(data / "pheno.txt"), "--covariate",
                            str(data / "covar.txt"), "--catCovarList", "site")
    agree(ours, theirs)
    meta = open_results(out).metadata
    assert meta["covariates"] == ["c1", "c2", "site=north", "site=south"]
    assert meta["categorical_covariates"] == {"site": {"reference": "east", "levels": ["east", "north", "south"]}}


def test_regenie_option_names_give_the_same_files(data):
    """--phenoFile --phenoColList --covarFile --covarColList --catCovarList --bsize --minMAC --chrList
    (REGENIE) and --pheno --pheno-name --covar --covar-name --maf (plink2) are hubscan's options."""
    _, ours = run_hubscan(data, "h-own", "--phenotypes", str(data / "pheno.txt"), "--trait", "q", "--covariate",
                          str(data / "covar.txt"), "--covariate-names", "c1,site", "--categorical-covariates", "site",
                          "--block-size", "100", "--mac", "5", "--chr", "1,2", "--min-maf", "0.01")
    _, regenie = run_hubscan(data, "h-regenie", "--qt", "--phenoFile", str(data / "pheno.txt"), "--phenoColList", "q",
                             "--covarFile", str(data / "covar.txt"), "--covarColList", "c1,site", "--catCovarList",
                             "site", "--bsize", "100", "--minMAC", "5", "--chrList", "1,2", "--minMAF", "0.01")
    _, plink = run_hubscan(data, "h-plink2", "--pheno", str(data / "pheno.txt"), "--pheno-name", "q", "--covar",
                           str(data / "covar.txt"), "--covar-name", "c1,site", "--catCovarList", "site",
                           "--bsize", "100", "--mac", "5", "--chr", "1-2", "--maf", "0.01")

    def files(out):
        return {p.relative_to(out): p.read_bytes() for p in sorted(out.glob("trait=*/*.parquet"))}

    assert len(files(ours)) == 6 and files(regenie) == files(ours) and files(plink) == files(ours)


def test_id_delim_joins_fid_and_iid_as_plink2(data, plink2, tmp_path):
    """A VCF whose sample ids are FID_IID (plink2 --export vcf writes them so, as REGENIE's BGEN
    example has them): hubscan --id-delim _ matches them with FID IID files, as plink2 --id-delim _
    does; without it the error suggests the option."""
    done = subprocess.run([plink2, "--bfile", str(data / "d"), "--chr", "2", "--export", "vcf", "bgz",
                           "--out", str(tmp_path / "joined")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert main(["ingest", str(tmp_path / "joined.vcf.gz"), "--out", str(tmp_path / "store")]) == 0
    theirs = run_plink2(plink2, data, "p-delim", "--covar", str(data / "covar.txt"), "--covar-name", "c1,c2",
                        "--id-delim", "_", "--keep", str(data / "keep.txt"), source=("--vcf", str(tmp_path / "joined.vcf.gz")))
    common = ["gwas", "--genotype-store", str(tmp_path / "store"), "--phenotypes", str(data / "pheno.txt"),
              "--covariate", str(data / "covar.txt"), "--covariate-names", "c1,c2", "--keep", str(data / "keep.txt")]
    assert main([*common, "--id-delim", "_", "--out", str(tmp_path / "h")]) == 0
    ours = open_results(tmp_path / "h").read(traits=["q"]).sort_values("variant_index").reset_index(drop=True)
    agree(ours, theirs)
    assert main([*common, "--out", str(tmp_path / "h2")]) == 1


def test_bad_habits_refused(data, capsys):
    base = ["gwas", "--genotype-store", str(data / "store"), "--phenotypes", str(data / "pheno.txt"),
            "--covariate", str(data / "covar.txt"), "--covariate-names", "c1,c2", "--out", str(data / "never")]
    for extra, code, message in [(["--chr", "5"], 1, "--chr 5: no such contig"),
                                 (["--chr", "3-1"], 2, "not a range of numbered chromosomes"),
                                 (["--keep", str(data / "none.txt")], 1, "keep list .*none.txt does not exist"),
                                 (["--exclude", str(data / "none.txt")], 1, "exclude list .*none.txt does not exist"),
                                 (["--catCovarList", "sex"], 2, "categorical covariate\\(s\\) sex not in"),
                                 (["--mac", "100000"], 1, "no variant of .* passes the variant filters"),
                                 (["--id-delim", "ab"], 2, "id_delim must be one character"),
                                 (["--bt"], 2, "--bt: trait\\(s\\) q are not binary")]:
        assert main([*base, *extra]) == code, extra
        import re

        assert re.search(message, capsys.readouterr().err), extra
    assert not (data / "never").exists()


def test_missing_variant_ids_named_as_plink2_does(plink2, tmp_path):
    """VCF records with ID '.' get chrom:pos:ref:alt at ingest, the contig as the input names it:
    the ids plink2 gives them with --set-missing-var-ids @:#:$r:$a --output-chr chrM (plink2 writes
    '2' for 'chr2' without it); present ids are kept, and the new ids can be selected."""
    import pysam

    from gwas.store.reader import GenotypeStore

    rng = np.random.default_rng(4)
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr2,length=1000000>", "##contig=<ID=chr10,length=1000000>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"s{i}" for i in range(20))]
    for k, (chrom, pos, vid, ref, alt) in enumerate([("chr2", 100, ".", "A", "G"), ("chr2", 250, "rs7", "C", "T"),
                                                     ("chr2", 300, ".", "AT", "A"), ("chr10", 50, ".", "G", "GCC")]):
        calls = ["/".join(map(str, rng.integers(0, 2, 2))) for _ in range(20)]
        lines.append(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t.\tGT\t" + "\t".join(calls))
    (tmp_path / "x.vcf").write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(tmp_path / "x.vcf"), str(tmp_path / "x.vcf.gz"))
    done = subprocess.run([plink2, "--vcf", str(tmp_path / "x.vcf.gz"), "--set-missing-var-ids", "@:#:$r:$a",
                           "--output-chr", "chrM", "--make-just-pvar", "--out", str(tmp_path / "p")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    pvar = [ln.split("\t") for ln in (tmp_path / "p.pvar").read_text().splitlines() if not ln.startswith("#")]
    assert main(["ingest", str(tmp_path / "x.vcf.gz"), "--out", str(tmp_path / "store")]) == 0
    store = GenotypeStore(tmp_path / "store")
    ids = store.variant_field("variant_id").tolist()
    assert ids == [row[2] for row in pvar] == ["chr2:100:A:G", "rs7", "chr2:300:AT:A", "chr10:50:G:GCC"]
    assert store.variant_field("variant_id_mask").tolist() == [True, False, True, True]
    assert store.select_variants(ids=["chr2:300:AT:A"]).tolist() == [2]


def scan_bgen_export(data, plink2, root, export, order):
    """plink2 --export bgen-1.2 of the .bed (``export``: its extra modifiers) ingested with
    ``order`` (``[]`` = the default) and scanned with the covariates c1, c2 on chromosome 1."""
    name = "-".join([*export, *order]).strip("-") or "default"
    done = subprocess.run([plink2, "--bfile", str(data / "d"), "--chr", "1", "--export", "bgen-1.2", *export,
                           "id-paste=iid", "--out", str(root / f"x-{name}")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert main(["ingest", str(root / f"x-{name}.bgen"), *order, "--out", str(root / f"s-{name}")]) == 0
    argv = ["gwas", "--genotype-store", str(root / f"s-{name}"), "--phenotypes", str(data / "pheno.txt"),
            "--covariate", str(data / "covar.txt"), "--covariate-names", "c1,c2", "--out", str(root / f"h-{name}")]
    assert main(argv) == 0
    return open_results(root / f"h-{name}").read(traits=["q"]).sort_values("variant_index").reset_index(drop=True)


def test_tested_allele_of_bgen_and_bed_as_plink2(data, plink2, tmp_path):
    """The same genotypes from the .bed and from BGEN exported by plink2 (ref-last, its default, and
    ref-first): read in the order they were written (--ref-last, the default; --ref-first), every
    scan tests A1 and gives plink2 --glm's results on the .bed; read in the other order, the alleles
    swap and beta changes sign (SE and p unchanged). The store records the order."""
    from gwas.store.reader import GenotypeStore

    theirs = run_plink2(plink2, data, "p-allele", "--covar", str(data / "covar.txt"), "--covar-name", "c1,c2",
                        "--chr", "1")
    assert len(theirs) == M // 3
    for export, order in [([], []), ([], ["--ref-last"]), (["ref-first"], ["--ref-first"])]:
        agree(scan_bgen_export(data, plink2, tmp_path, export, order), theirs)
    swapped = scan_bgen_export(data, plink2, tmp_path, [], ["--ref-first"])
    assert GenotypeStore(tmp_path / "s-ref-first").root.attrs["allele_order"] == "ref-first"
    assert GenotypeStore(tmp_path / "s-default").root.attrs["allele_order"] == "ref-last"
    assert (swapped.alt == theirs["REF"]).all() and (swapped.ref == theirs["ALT"]).all()
    flipped = theirs.assign(BETA=-theirs["BETA"], A1=theirs["REF"], ALT=theirs["REF"])
    agree(swapped, flipped)
    # the .bed itself with --ref-first: A1 becomes REF, A2 the tested allele
    assert main(["ingest", str(data / "d.bed"), "--ref-first", "--out", str(tmp_path / "bed-first")]) == 0
    assert main(["gwas", "--genotype-store", str(tmp_path / "bed-first"), "--phenotypes", str(data / "pheno.txt"),
                 "--covariate", str(data / "covar.txt"), "--covariate-names", "c1,c2", "--chr", "1",
                 "--out", str(tmp_path / "h-bed-first")]) == 0
    agree(open_results(tmp_path / "h-bed-first").read(traits=["q"]).sort_values("variant_index")
          .reset_index(drop=True), flipped)


def test_allele_order_refused_where_the_format_names_ref(data, tmp_path, capsys):
    """VCF, .pgen and Hail name REF: --ref-first/--ref-last there is a usage error (exit 2)."""
    import pysam

    (tmp_path / "x.vcf").write_text("##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type=String,"
                                    "Description=\"g\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\n"
                                    "1\t5\t.\tA\tG\t.\t.\t.\tGT\t0/1\n")
    pysam.tabix_compress(str(tmp_path / "x.vcf"), str(tmp_path / "x.vcf.gz"))
    for flag in ("--ref-first", "--ref-last"):
        assert main(["ingest", str(tmp_path / "x.vcf.gz"), flag, "--out", str(tmp_path / "s")]) == 2
        assert f"{flag} applies to BGEN and PLINK .bed input only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse: the two are exclusive
        main(["ingest", str(data / "d.bed"), "--ref-first", "--ref-last", "--out", str(tmp_path / "s")])
    assert stop.value.code == 2
    assert not (tmp_path / "s" / "_SUCCESS").exists()


def test_plink2_flavour_text_read_alike_by_plink2_and_hubscan(data, plink2, tmp_path):
    """A binary trait written by `hubscan phenotypes --text` (the plink2 flavour: #FID IID, 1/2, NA)
    is read by plink2 with no coding flag and by `hubscan gwas` with no --phenotype-coding: the same
    cases and controls (plink2's log, our results.json) and plink2 --glm no-firth's logistic results
    (hubscan --binary-test wald): n per variant and the OR to plink2's printed precision. (SE and p
    are not compared here: plink2's logistic fit stops earlier than ours, by up to 3e-5 relative in
    SE at 400 samples; tests/assoc/test_plink2.py compares them at 2,000.)"""
    import re
    import shutil

    from phenotypes.matrix.io import TraitMatrix, write_text

    rng = np.random.default_rng(8)
    fam = [line.split() for line in (data / "d.fam").read_text().splitlines()]
    iids = [f[1] for f in fam]
    subprocess.run([plink2, "--bfile", str(data / "d"), "--snp", "v1", "--export", "A", "--out", str(tmp_path / "g")],
                   check=True, capture_output=True)  # variant v1's A1 counts, from plink2 itself
    g1 = np.array([int(ln.split("\t")[-1]) for ln in (tmp_path / "g.raw").read_text().splitlines()[1:]])
    case = (rng.random(len(iids)) < 1 / (1 + np.exp(-(-0.5 + 0.6 * g1)))).astype(float)
    case[rng.random(len(iids)) < 0.1] = np.nan
    write_text(tmp_path / "b.txt", TraitMatrix(np.array(iids, dtype=object), ["b"], case[:, None], ["binary"]))
    assert (tmp_path / "b.txt").read_text().splitlines()[1].split("\t")[2] in ("1", "2", "NA")
    for ext in ("bed", "bim"):  # plink2 matches FID and IID: a copy whose FID is the IID, as the file's
        shutil.copy(data / f"d.{ext}", tmp_path / f"e.{ext}")
    (tmp_path / "e.fam").write_text("".join(f"{i} {i} 0 0 0 -9\n" for i in iids))
    theirs = run_plink2(plink2, tmp_path, "p-bin", "--chr", "1", source=("--bfile", "e"), pheno=tmp_path / "b.txt",
                        result="b.glm.logistic", glm=("no-firth", "allow-no-covars"))
    log = (tmp_path / "p-bin.log").read_text()
    cases, controls = (int(x) for x in re.search(r"binary phenotype loaded \((\d+) cases?, (\d+) controls?\)", log).groups())
    assert cases == np.nansum(case == 1) and controls == np.nansum(case == 0)
    out = tmp_path / "h-bin"
    assert main(["gwas", "--genotype-store", str(data / "store"), "--phenotypes", str(tmp_path / "b.txt"),
                 "--binary-test", "wald", "--min-cases", "10", "--chr", "1", "--threads", "2", "--out", str(out)]) == 0
    res = open_results(out)
    row = res.traits.set_index("name").loc["b"]
    assert (row["type"], row["n_cases"], row["n_controls"]) == ("binary", cases, controls)
    ours = res.read(traits=["b"]).sort_values("variant_index").reset_index(drop=True)
    assert ours.variant_id.tolist() == theirs["ID"].tolist() and (ours.alt == theirs["A1"]).all()
    assert (ours.n.to_numpy() == theirs["OBS_CT"].to_numpy()).all()
    assert ((ours.n_cases == cases) & (ours.n_controls == controls)).all()
    ok = (theirs["ERRCODE"] == ".").to_numpy()
    assert ok.mean() > 0.9
    odds = theirs.loc[ok, "OR"].to_numpy()
    assert (np.abs(np.exp(ours.beta[ok].to_numpy()) - odds) <= printed_tolerance(odds)).all()
