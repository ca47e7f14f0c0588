"""The bit convention: a symbol value is an int 0..255 whose bit 0 is the leftmost
and most significant bit.

numpy is imported where it is used: planning imports this module (through
:mod:`genomic_icl.functions`) where only Snakemake is installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

N_BITS = 8
N_SYMBOLS = 1 << N_BITS
ALL_INPUTS: np.ndarray  # every value 0..255 (int64), made on first use (__getattr__)


def to_str(x: int) -> str:
    """Render a value as its 8 bits, bit 0 first: ``to_str(128) == "10000000"``."""
    return format(int(x), "08b")


def from_str(s: str) -> int:
    """Parse 8 characters of ``0``/``1`` (bit 0 first) into an int."""
    if len(s) != N_BITS or set(s) - {"0", "1"}:
        raise ValueError(f"expected 8 characters of 0/1, got {s!r}")
    return int(s, 2)


def to_array(x: np.ndarray | int) -> np.ndarray:
    """Values -> array of shape ``(..., 8)`` of 0/1 (uint8), bit 0 first."""
    import numpy as np

    x = np.asarray(x, dtype=np.int64)
    return ((x[..., None] >> (N_BITS - 1 - np.arange(N_BITS))) & 1).astype(np.uint8)


def from_array(b: np.ndarray) -> np.ndarray:
    """Array of shape ``(..., 8)`` of 0/1 -> int64 values."""
    import numpy as np

    return (np.asarray(b, dtype=np.int64) * (1 << np.arange(N_BITS - 1, -1, -1))).sum(axis=-1)


def __getattr__(name: str) -> Any:
    """``ALL_INPUTS`` (every value 0..255, int64), made on first use."""
    if name != "ALL_INPUTS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import numpy as np

    globals()[name] = value = np.arange(N_SYMBOLS, dtype=np.int64)
    return value
