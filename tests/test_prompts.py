"""Trials and prompts: layout, decoding back to bits, symbol sets, determinism."""

import hashlib

import numpy as np
import pytest

from genomic_icl.functions import FUNCTION_NAMES, get_function
from genomic_icl.io import write_table
from genomic_icl.prompts import (
    GENOMIC,
    LINGUISTIC,
    Encoding,
    build_prompt,
    decode,
    draw_trial,
    encode_bits,
    prompt_table,
)

DNA = Encoding("genomic", GENOMIC)
DIGITS = Encoding("linguistic", LINGUISTIC)


def parse_prompt(prompt: str, sym0: str, sym1: str, sep: str):
    """Split a prompt back into demonstrations and query, decoding every symbol."""
    chunks = prompt.split(sep)
    demos = [(decode(c[:8], sym0, sym1), decode(c[8:], sym0, sym1)) for c in chunks[:-1]]
    return demos, decode(chunks[-1], sym0, sym1)


def test_spec_example_layout():
    # the example of docs/protocol.md §3: reverse_bits, 0->A 1->T SEP->G
    f = get_function("reverse_bits")
    xs = np.array([0b00011100, 0b01000000])
    prompt = build_prompt(xs, f.apply(xs), 0b11000000, "A", "T", "G")
    assert prompt == "AAATTTAAAATTTAAAGATAAAAAAAAAAAATAGTTAAAAAA"
    assert encode_bits(f.apply(0b11000000)[0], "A", "T") == "AAAAAATT"


@pytest.mark.parametrize("n", [1, 2, 16, 128])
@pytest.mark.parametrize("enc", [DNA, DIGITS])
def test_every_prompt_decodes_to_its_function(n, enc):
    table = prompt_table(FUNCTION_NAMES, n, 3, enc, seed=7)
    assert len(table) == 300
    for row in table.itertuples():
        assert len({row.sym0, row.sym1, row.sep}) == 3
        assert {row.sym0, row.sym1, row.sep} <= set(enc.alphabet)
        assert set(row.prompt) <= {row.sym0, row.sym1, row.sep}
        assert len(row.prompt) == 16 * n + n + 8
        demos, query = parse_prompt(row.prompt, row.sym0, row.sym1, row.sep)
        assert len(demos) == n and query == row.query
        xs = [x for x, _ in demos]
        assert len(set(xs)) == n, "demonstration inputs are distinct"
        assert query not in xs, "the query lies outside the demonstrations"
        f = get_function(row.function)
        constant = max(row.constant, 0)
        assert all(f.apply(x, constant)[0] == y for x, y in demos)
        assert f.apply(query, constant)[0] == row.target_bits
        assert decode(row.target, row.sym0, row.sym1) == row.target_bits
        assert list(row.demo_inputs) == xs and list(row.demo_outputs) == [y for _, y in demos]
        assert (row.constant >= 0) == (row.function == "meta_constant")


def test_symbols_cover_each_alphabet_and_roles_vary():
    table = prompt_table(FUNCTION_NAMES, 4, 8, DIGITS, seed=1)
    assert set(table["sep"]) == set(LINGUISTIC)
    assert set(table["sym0"]) == set(LINGUISTIC)
    dna = prompt_table(FUNCTION_NAMES, 4, 8, DNA, seed=1)
    assert set(dna["sep"]) == set(GENOMIC)


def test_forms_share_trials():
    a = prompt_table(FUNCTION_NAMES, 8, 4, DNA, seed=3)
    b = prompt_table(FUNCTION_NAMES, 8, 4, DIGITS, seed=3)
    for col in ["function", "trial", "query", "target_bits", "constant"]:
        assert (a[col] == b[col]).all()
    assert (a["demo_inputs"].map(tuple) == b["demo_inputs"].map(tuple)).all()
    # the same rank (in alphabet order) stands for 0, 1 and SEP in both forms
    for ra, rb in zip(a.itertuples(), b.itertuples(), strict=True):
        rank_a = np.argsort(np.argsort([GENOMIC.index(s) for s in (ra.sym0, ra.sym1, ra.sep)]))
        rank_b = np.argsort(np.argsort([LINGUISTIC.index(s) for s in (rb.sym0, rb.sym1, rb.sep)]))
        assert (rank_a == rank_b).all()


def test_custom_alphabet_and_bad_alphabets():
    table = prompt_table(["rotl1"], 2, 2, Encoding("letters", "xyz"), seed=0)
    assert set("".join(table["prompt"])) <= set("xyz")
    with pytest.raises(ValueError, match="3 distinct"):
        Encoding("two", "AC")
    with pytest.raises(ValueError, match="3 distinct"):
        Encoding("dup", "AAC")


def _digest(tmp_path, name, table):
    path = tmp_path / name
    write_table(table, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_config_same_bytes(tmp_path):
    a = _digest(tmp_path, "a.parquet", prompt_table(FUNCTION_NAMES, 16, 8, DNA, seed=5))
    b = _digest(tmp_path, "b.parquet", prompt_table(FUNCTION_NAMES, 16, 8, DNA, seed=5))
    c = _digest(tmp_path, "c.parquet", prompt_table(FUNCTION_NAMES, 16, 8, DNA, seed=6))
    assert a == b != c


def test_raising_m_or_adding_functions_keeps_existing_prompts():
    small = prompt_table(["rotl1", "majority"], 16, 4, DNA, seed=5)
    more_trials = prompt_table(["identity", "rotl1", "majority"], 16, 12, DNA, seed=5)
    for row in small.itertuples():
        match = more_trials[
            (more_trials.function == row.function) & (more_trials.trial == row.trial)
        ]
        assert match["prompt"].item() == row.prompt and match["target"].item() == row.target


def test_draw_trial_rejects_bad_n():
    with pytest.raises(ValueError, match="1..255"):
        draw_trial(0, "rotl1", 256, 0)
    assert len(draw_trial(0, "rotl1", 255, 0).demo_inputs) == 255


def test_decode_marks_foreign_symbols_invalid():
    assert decode("ACACACAC", "A", "C") == 0b01010101
    assert decode("ACACACAG", "A", "C") == -1
    assert decode("ACAC", "A", "C") == -1
