"""The evolving-genome corpus: determinism, documented properties, independence from the tasks."""

import ast
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from genomic_icl import corpus
from genomic_icl.corpus import CorpusRecipe

SMALL = CorpusRecipe(seed=7, chromosomes=6, length=8192)


def test_same_seed_same_bytes(tmp_path):
    a = corpus.write_fasta(SMALL, tmp_path / "a.fa.gz")
    b = corpus.write_fasta(SMALL, tmp_path / "b.fa.gz")
    assert a.read_bytes() == b.read_bytes()
    c = corpus.write_fasta(CorpusRecipe(seed=8, chromosomes=6, length=8192), tmp_path / "c.fa.gz")
    assert c.read_bytes() != a.read_bytes()


def test_chromosome_depends_on_seed_and_index_only():
    bigger = CorpusRecipe(seed=7, chromosomes=50, length=8192)
    assert np.array_equal(corpus.chromosome(SMALL, 3), corpus.chromosome(bigger, 3))
    assert not np.array_equal(corpus.chromosome(SMALL, 3), corpus.chromosome(SMALL, 4))


def test_fasta_round_trip_alphabet_and_length(tmp_path):
    path = corpus.write_fasta(SMALL, tmp_path / "c.fa")
    text = path.read_text()
    headers = [line for line in text.splitlines() if line.startswith(">")]
    assert len(headers) == SMALL.chromosomes
    body = "".join(line for line in text.splitlines() if not line.startswith(">"))
    assert set(body) == set("ACGT")
    records = corpus.read_fasta(path)
    assert [r.size for r in records] == [SMALL.length] * SMALL.chromosomes
    assert np.array_equal(records[2], corpus.chromosome(SMALL, 2))
    gz = corpus.write_fasta(SMALL, tmp_path / "c.fa.gz")
    assert gzip.decompress(gz.read_bytes()).decode() == text


def test_composition_drifts_along_chromosomes():
    seq = np.concatenate([corpus.chromosome(SMALL, i) for i in range(SMALL.chromosomes)])
    comp = corpus.composition(seq, window=1024)
    gc = comp[:, 1] + comp[:, 2]
    # i.i.d. sampling would give an SD of about 0.016 between 1 kb windows
    assert gc.std() > 0.05
    flat = CorpusRecipe(seed=7, chromosomes=6, length=8192, drift_sigma=0.0)
    flat_seq = corpus.chromosome(flat, 0)
    assert (corpus.composition(flat_seq)[:, 1:3].sum(1)).std() < gc.std()


def test_repeats_and_reverse_complements_are_measurable():
    rich = corpus.summarize(SMALL)
    none = CorpusRecipe(
        seed=7,
        chromosomes=6,
        length=8192,
        tandem_per_kb=0,
        duplication_per_kb=0,
        hairpin_per_kb=0,
        transposon_per_kb=0,
    )
    bare = corpus.summarize(none)
    assert rich["repeat_fraction_k16"] > 5 * bare["repeat_fraction_k16"]
    assert rich["revcomp_fraction_k16"] > 5 * bare["revcomp_fraction_k16"]
    # CpG depletion, as in vertebrate genomes
    assert rich["cpg_obs_exp"] < 0.6


def test_tandem_arrays_have_diverged_copies():
    rng = np.random.default_rng(0)
    r = CorpusRecipe(divergence_max=0.2, low_complexity_prob=0.0)
    context = rng.integers(0, 4, 4000).astype(np.uint8)
    found = False
    for _ in range(50):
        arr = corpus._tandem_array(rng, r, context)
        for p in range(7, 65):
            if arr.size >= 6 * p:
                same = (arr[p:] == arr[:-p]).mean()
                if 0.55 < same < 0.99:  # periodic but not exact
                    found = True
    assert found


def test_local_duplications_land_near_their_source():
    only_dups = dict(
        seed=7,
        chromosomes=4,
        length=8192,
        tandem_per_kb=0,
        hairpin_per_kb=0,
        transposon_per_kb=0,
        duplication_per_kb=4,
        duplication_length_max=256,
        divergence_max=0.0,
        point_mutation_rate=0.0,
        indel_rate=0.0,
    )

    def near_repeats(**kw):
        r = CorpusRecipe(**only_dups, **kw)
        chroms = [corpus.chromosome(r, i) for i in range(r.chromosomes)]
        return np.mean([corpus.repeat_fraction(c, 16, max_distance=512) for c in chroms])

    distant = near_repeats()
    local = near_repeats(duplication_local_fraction=1.0, duplication_local_gap=50)
    # only forward copies count (half are reverse complements); distant ones rarely
    # fall within 512 bp of their source
    assert local > 0.06 and local > 4 * distant


def test_recipes_without_local_duplications_keep_their_bytes():
    # the digest of this chromosome before local duplications existed
    chrom = corpus.chromosome(SMALL, 1)
    assert hashlib.sha256(chrom.tobytes()).hexdigest()[:16] == "06be36301b41e0df"
    local = CorpusRecipe(seed=7, chromosomes=6, length=8192, duplication_local_fraction=0.5)
    assert not np.array_equal(corpus.chromosome(SMALL, 1), corpus.chromosome(local, 1))


def test_revcomp():
    s = corpus.from_text("AACGTTG")
    assert corpus.to_text(corpus.revcomp(s)) == "CAACGTT"


def test_unknown_recipe_key_is_rejected():
    with pytest.raises(ValueError, match="unknown corpus recipe keys"):
        CorpusRecipe.from_mapping({"period": 17})


def test_corpus_is_built_without_task_code():
    """The generator never sees the task functions, encodings or prompt layout."""
    src = Path(corpus.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not any(name.startswith("genomic_icl") for name in imported), imported
    for word in ("prompt", "functions", "learners", "sep", "shots"):
        assert f"import {word}" not in src and f"{word}." not in src
