"""The task suite: 30 primitives on 8-bit symbols and the 100 functions built from them
(docs/protocol.md §2). A composition ``a>b`` applies ``a`` then ``b``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from genomic_icl import bits

if TYPE_CHECKING:
    import numpy as np

    # A primitive maps (original input bits, current bits, constant bits) -> new bits,
    # all arrays of shape (N, 8); only xor_with_s0 reads the original input and only
    # meta_constant reads the constant.
    Primitive = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

# The 30 primitives and their categories, in the suite's order; their code is
# _primitive_code(), which imports numpy: planning reads the names alone, where only
# Snakemake may be installed.
PRIMITIVES: dict[str, str] = {
    "identity": "trivial",
    "flip_bits": "bitwise",
    "invert_prefix": "bitwise",
    "invert_suffix": "bitwise",
    "xor_with_s0": "bitwise",
    "rotl1": "structural",
    "rotr1": "structural",
    "double_rotl": "structural",
    "double_rotr": "structural",
    "shift_left_zero": "structural",
    "shift_right_zero": "structural",
    "reverse_bits": "structural",
    "swap_halves": "structural",
    "swap_pairs": "structural",
    "mirror_half": "structural",
    "left_half": "masking",
    "right_half": "masking",
    "keep_even_positions": "masking",
    "keep_odd_positions": "masking",
    "edge_mask": "masking",
    "center_mask": "masking",
    "spread_first_bit": "masking",
    "spread_last_bit": "masking",
    "alternating_start_one": "pattern",
    "alternating_start_zero": "pattern",
    "ones_if_palindrome": "pattern",
    "parity_fill": "aggregation",
    "majority": "aggregation",
    "minority": "aggregation",
    "meta_constant": "trivial",
}


@cache
def _primitive_code() -> dict[str, Primitive]:
    """Each primitive's code, by name (the keys of :data:`PRIMITIVES`)."""
    import numpy as np

    even = np.array([1, 0, 1, 0, 1, 0, 1, 0], dtype=np.uint8)
    odd = 1 - even
    edge = np.array([1, 0, 0, 0, 0, 0, 0, 1], dtype=np.uint8)

    def fill(mask: np.ndarray) -> np.ndarray:
        """A boolean per row -> all-ones or all-zeros rows."""
        return np.repeat(mask.astype(np.uint8)[:, None], 8, axis=1)

    def invert_range(cur: np.ndarray, lo: int, hi: int) -> np.ndarray:
        out = cur.copy()
        out[:, lo:hi] ^= 1
        return out

    def shift(cur: np.ndarray, left: bool) -> np.ndarray:
        out = np.zeros_like(cur)
        if left:
            out[:, :-1] = cur[:, 1:]
        else:
            out[:, 1:] = cur[:, :-1]
        return out

    def halves(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.concatenate([left, right], axis=1)

    return {
        "identity": lambda s, c, k: c,
        "flip_bits": lambda s, c, k: 1 - c,
        "invert_prefix": lambda s, c, k: invert_range(c, 0, 4),
        "invert_suffix": lambda s, c, k: invert_range(c, 4, 8),
        "xor_with_s0": lambda s, c, k: s ^ c,
        "rotl1": lambda s, c, k: np.roll(c, -1, axis=1),
        "rotr1": lambda s, c, k: np.roll(c, 1, axis=1),
        "double_rotl": lambda s, c, k: np.roll(c, -2, axis=1),
        "double_rotr": lambda s, c, k: np.roll(c, 2, axis=1),
        "shift_left_zero": lambda s, c, k: shift(c, left=True),
        "shift_right_zero": lambda s, c, k: shift(c, left=False),
        "reverse_bits": lambda s, c, k: c[:, ::-1].copy(),
        "swap_halves": lambda s, c, k: halves(c[:, 4:], c[:, :4]),
        "swap_pairs": lambda s, c, k: c[:, [1, 0, 3, 2, 5, 4, 7, 6]],
        "mirror_half": lambda s, c, k: halves(c[:, :4], c[:, 3::-1]),
        "left_half": lambda s, c, k: halves(c[:, :4], np.zeros_like(c[:, 4:])),
        "right_half": lambda s, c, k: halves(np.zeros_like(c[:, :4]), c[:, 4:]),
        "keep_even_positions": lambda s, c, k: c * even,
        "keep_odd_positions": lambda s, c, k: c * odd,
        "edge_mask": lambda s, c, k: c * edge,
        "center_mask": lambda s, c, k: c * (1 - edge),
        "spread_first_bit": lambda s, c, k: np.repeat(c[:, :1], 8, axis=1),
        "spread_last_bit": lambda s, c, k: np.repeat(c[:, 7:], 8, axis=1),
        "alternating_start_one": lambda s, c, k: c ^ even,
        "alternating_start_zero": lambda s, c, k: c ^ odd,
        "ones_if_palindrome": lambda s, c, k: fill((c == c[:, ::-1]).all(axis=1)),
        "parity_fill": lambda s, c, k: fill(c.sum(axis=1) % 2 == 1),
        "majority": lambda s, c, k: fill(c.sum(axis=1) >= 4),
        "minority": lambda s, c, k: fill(c.sum(axis=1) < 4),
        "meta_constant": lambda s, c, k: np.broadcast_to(k, c.shape).copy(),
    }


COMPOSITIONS: tuple[str, ...] = tuple(
    """
flip_bits>xor_with_s0
spread_first_bit>flip_bits spread_last_bit>flip_bits rotl1>spread_first_bit
spread_first_bit>shift_left_zero spread_last_bit>shift_right_zero
spread_first_bit>keep_even_positions spread_last_bit>keep_odd_positions
spread_first_bit>edge_mask spread_last_bit>edge_mask spread_first_bit>center_mask
spread_last_bit>center_mask edge_mask>shift_left_zero edge_mask>shift_right_zero
shift_left_zero>edge_mask edge_mask>flip_bits reverse_bits>edge_mask
shift_left_zero>keep_odd_positions shift_right_zero>keep_even_positions
left_half>flip_bits right_half>flip_bits flip_bits>left_half flip_bits>right_half
flip_bits>mirror_half left_half>reverse_bits right_half>reverse_bits
keep_even_positions>flip_bits keep_odd_positions>flip_bits
flip_bits>keep_even_positions flip_bits>keep_odd_positions
shift_left_zero>keep_even_positions shift_right_zero>keep_odd_positions
keep_even_positions>reverse_bits keep_odd_positions>reverse_bits
center_mask>flip_bits reverse_bits>center_mask shift_left_zero>shift_left_zero
shift_left_zero>flip_bits shift_right_zero>flip_bits flip_bits>shift_left_zero
flip_bits>shift_right_zero shift_left_zero>reverse_bits shift_right_zero>reverse_bits
swap_halves>shift_left_zero swap_halves>shift_right_zero shift_left_zero>swap_halves
shift_right_zero>swap_halves shift_left_zero>parity_fill shift_right_zero>parity_fill
rotl1>shift_left_zero rotl1>shift_right_zero shift_left_zero>rotl1
shift_right_zero>rotl1 shift_left_zero>swap_pairs
flip_bits>reverse_bits rotl1>reverse_bits reverse_bits>rotl1 rotl1>flip_bits
swap_halves>reverse_bits swap_halves>flip_bits double_rotl>flip_bits rotr1>flip_bits
double_rotl>reverse_bits rotl1>swap_halves ones_if_palindrome>flip_bits
invert_prefix>reverse_bits parity_fill>flip_bits swap_pairs>flip_bits
parity_fill>shift_left_zero parity_fill>shift_right_zero
""".split()
)

PRIMITIVE_NAMES: tuple[str, ...] = tuple(PRIMITIVES)
FUNCTION_NAMES: tuple[str, ...] = PRIMITIVE_NAMES + COMPOSITIONS
CATEGORIES: tuple[str, ...] = (
    "bitwise",
    "structural",
    "masking",
    "pattern",
    "aggregation",
    "trivial",
    "composition",
)
CONSTANT_FUNCTION = "meta_constant"


@dataclass(frozen=True)
class Function:
    """One task f: S -> S, a primitive or a composition ``a>b`` (b after a)."""

    name: str
    steps: tuple[str, ...]

    @property
    def category(self) -> str:
        """The primitive's category, or ``composition``."""
        return PRIMITIVES[self.steps[0]] if len(self.steps) == 1 else "composition"

    @property
    def n_primitives(self) -> int:
        """How many primitives the function chains."""
        return len(self.steps)

    @property
    def uses_constant(self) -> bool:
        """Whether the output depends on a per-trial constant (meta_constant)."""
        return CONSTANT_FUNCTION in self.steps

    def apply(self, x: np.ndarray | int, constant: int = 0) -> np.ndarray:
        """Outputs (int64) for inputs ``x``; ``constant`` is meta_constant's value."""
        import numpy as np

        code = _primitive_code()
        x = np.atleast_1d(np.asarray(x, dtype=np.int64))
        orig = bits.to_array(x)
        k = bits.to_array(constant)
        cur = orig
        for step in self.steps:
            cur = code[step](orig, cur, k)
        return bits.from_array(cur)

    def table(self, constant: int = 0) -> np.ndarray:
        """The output for every one of the 256 inputs."""
        return _table(self.name, int(constant))

    @property
    def bit_load(self) -> int:
        """How many input positions can change the output when flipped (docs/protocol.md §2)."""
        return _bit_load(self.name)


@cache
def _table(name: str, constant: int) -> np.ndarray:
    out = get_function(name).apply(bits.ALL_INPUTS, constant)
    out.setflags(write=False)
    return out


@cache
def _bit_load(name: str) -> int:
    table = get_function(name).table()
    return sum(bool((table != table[bits.ALL_INPUTS ^ (1 << (7 - i))]).any()) for i in range(8))


@cache
def get_function(name: str) -> Function:
    """A function by name: one of the 100 of the suite, or any user-defined chain of
    primitives ``p1>p2>...`` (applied left to right). Raises ``KeyError`` naming an
    unknown name or primitive."""
    steps = tuple(name.split(">"))
    unknown = [step for step in steps if step not in PRIMITIVES]
    if unknown:
        what = "function" if len(steps) == 1 else f"primitive {unknown[0]!r} in function"
        raise KeyError(f"unknown {what} {name!r}")
    return Function(name, steps)


def bit_diversity(y: np.ndarray | int) -> np.ndarray:
    """Number of minority bits of each output, ``min(#zeros, #ones)`` (docs/protocol.md §2)."""
    import numpy as np

    ones = bits.to_array(y).sum(axis=-1).astype(np.int64)
    return np.minimum(ones, 8 - ones)


def check_distinct(functions: Iterable[Function] | None = None) -> None:
    """Raise ``ValueError`` if two functions (meta_constant aside) agree on all 256
    inputs; by default checks the 100 functions of the suite."""
    if functions is None:
        functions = [get_function(name) for name in FUNCTION_NAMES]
    seen: dict[bytes, str] = {}
    for f in functions:
        if f.uses_constant:
            continue
        key = f.apply(bits.ALL_INPUTS).tobytes()
        if key in seen:
            raise ValueError(f"functions {seen[key]!r} and {f.name!r} agree on all 256 inputs")
        seen[key] = f.name


def all_tables(names: tuple[str, ...] = FUNCTION_NAMES) -> np.ndarray:
    """Stacked output tables ``(len(names), 256)``; meta_constant's row uses constant 0."""
    import numpy as np

    return np.stack([get_function(n).table() for n in names])
