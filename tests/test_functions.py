"""The task suite: worked examples of every primitive, descriptors, distinctness."""

import subprocess
import sys

import numpy as np
import pytest

from genomic_icl import bits
from genomic_icl.functions import (
    CATEGORIES,
    COMPOSITIONS,
    FUNCTION_NAMES,
    PRIMITIVE_NAMES,
    PRIMITIVES,
    Function,
    _primitive_code,
    bit_diversity,
    check_distinct,
    get_function,
)

A, B, C, D = "10110001", "11010111", "10011001", "00100000"
# (primitive, input, expected output), computed by hand from the definitions in
# docs/protocol.md §2.
EXAMPLES = [
    ("identity", A, A),
    ("flip_bits", A, "01001110"),
    ("flip_bits", B, "00101000"),
    ("invert_prefix", A, "01000001"),
    ("invert_prefix", B, "00100111"),
    ("invert_suffix", A, "10111110"),
    ("invert_suffix", B, "11011000"),
    ("xor_with_s0", A, "00000000"),
    ("xor_with_s0", B, "00000000"),
    ("rotl1", A, "01100011"),
    ("rotl1", B, "10101111"),
    ("rotr1", A, "11011000"),
    ("rotr1", B, "11101011"),
    ("double_rotl", A, "11000110"),
    ("double_rotl", B, "01011111"),
    ("double_rotr", A, "01101100"),
    ("double_rotr", B, "11110101"),
    ("shift_left_zero", A, "01100010"),
    ("shift_left_zero", B, "10101110"),
    ("shift_right_zero", A, "01011000"),
    ("shift_right_zero", B, "01101011"),
    ("reverse_bits", A, "10001101"),
    ("reverse_bits", B, "11101011"),
    ("swap_halves", A, "00011011"),
    ("swap_halves", B, "01111101"),
    ("swap_pairs", A, "01110010"),
    ("swap_pairs", B, "11101011"),
    ("mirror_half", A, "10111101"),
    ("mirror_half", B, "11011011"),
    ("left_half", A, "10110000"),
    ("left_half", B, "11010000"),
    ("right_half", A, "00000001"),
    ("right_half", B, "00000111"),
    ("keep_even_positions", A, "10100000"),
    ("keep_even_positions", B, "10000010"),
    ("keep_odd_positions", A, "00010001"),
    ("keep_odd_positions", B, "01010101"),
    ("edge_mask", A, "10000001"),
    ("edge_mask", D, "00000000"),
    ("center_mask", A, "00110000"),
    ("center_mask", B, "01010110"),
    ("spread_first_bit", A, "11111111"),
    ("spread_first_bit", D, "00000000"),
    ("spread_last_bit", A, "11111111"),
    ("spread_last_bit", D, "00000000"),
    ("alternating_start_one", A, "00011011"),
    ("alternating_start_one", B, "01111101"),
    ("alternating_start_zero", A, "11100100"),
    ("alternating_start_zero", B, "10000010"),
    ("ones_if_palindrome", A, "00000000"),
    ("ones_if_palindrome", C, "11111111"),
    ("parity_fill", A, "00000000"),
    ("parity_fill", D, "11111111"),
    ("majority", A, "11111111"),  # 4-4 tie gives ones
    ("majority", B, "11111111"),
    ("majority", D, "00000000"),
    ("minority", A, "00000000"),  # 4-4 tie gives zeros
    ("minority", B, "00000000"),
    ("minority", D, "11111111"),
    # compositions: a>b is b(a(x)); xor_with_s0 reads the ORIGINAL input
    ("flip_bits>xor_with_s0", A, "11111111"),
    ("rotl1>spread_first_bit", A, "00000000"),
    ("shift_left_zero>parity_fill", D, "11111111"),
    ("invert_prefix>reverse_bits", A, "10000010"),
]


@pytest.mark.parametrize(("name", "x", "expected"), EXAMPLES)
def test_worked_example(name, x, expected):
    assert bits.to_str(get_function(name).apply(bits.from_str(x))[0]) == expected


def test_every_primitive_has_a_worked_example():
    covered = {name for name, _, _ in EXAMPLES}
    assert set(PRIMITIVE_NAMES) - {"meta_constant"} <= covered


def test_meta_constant_outputs_its_constant():
    f = get_function("meta_constant")
    assert (f.table(constant=0b00101101) == 0b00101101).all()
    assert f.uses_constant and f.bit_load == 0


def test_suite_shape_and_names():
    assert len(PRIMITIVE_NAMES) == 30 and len(COMPOSITIONS) == 70
    assert list(_primitive_code()) == list(PRIMITIVES)  # code for each name, in order
    assert len(set(FUNCTION_NAMES)) == 100
    for name in COMPOSITIONS:
        a, b = name.split(">")
        assert a in PRIMITIVE_NAMES and b in PRIMITIVE_NAMES
        f = get_function(name)
        assert f.n_primitives == 2 and f.category == "composition"
        assert (f.table() == get_function(b).apply(get_function(a).table())).all() or (
            "xor_with_s0" in name
        )
    assert {get_function(p).category for p in PRIMITIVE_NAMES} == set(CATEGORIES) - {"composition"}


def test_all_functions_distinct():
    check_distinct()


def test_distinctness_check_catches_duplicates():
    undo = Function("rotr1>rotl1", ("rotr1", "rotl1"))  # not in the suite: equals identity
    with pytest.raises(ValueError, match="'identity' and 'rotr1>rotl1' agree"):
        check_distinct([get_function("identity"), get_function("rotl1"), undo])


def test_bit_load():
    assert get_function("identity").bit_load == 8
    assert get_function("edge_mask").bit_load == 2
    assert get_function("left_half").bit_load == 4
    assert get_function("spread_first_bit").bit_load == 1
    assert get_function("xor_with_s0").bit_load == 0
    assert get_function("mirror_half").bit_load == 4
    assert get_function("shift_left_zero>shift_left_zero").bit_load == 6
    assert get_function("parity_fill").bit_load == 8


def test_bit_diversity():
    assert bit_diversity(0).item() == 0 and bit_diversity(255).item() == 0
    assert list(bit_diversity(np.array([0b1, 0b11, 0b111, 0b1111, 0b11111]))) == [1, 2, 3, 4, 3]


def test_unknown_function_named():
    with pytest.raises(KeyError, match="rotl9"):
        get_function("rotl9")


def test_cli_functions_table():
    out = subprocess.run(
        [sys.executable, "-m", "genomic_icl.cli", "functions"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "name\tcategory\tn_primitives\tbit_load"
    assert len(out) == 101
    assert out[1:][FUNCTION_NAMES.index("edge_mask")] == "edge_mask\tmasking\t1\t2"
    assert "flip_bits>xor_with_s0\tcomposition\t2\t0" in out
