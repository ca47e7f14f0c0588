"""The bit convention: a symbol value is an int 0..255 whose bit 0 is the leftmost
and most significant bit."""

from __future__ import annotations

import numpy as np

N_BITS = 8
N_SYMBOLS = 1 << N_BITS
_WEIGHTS = 1 << np.arange(N_BITS - 1, -1, -1)


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
    x = np.asarray(x, dtype=np.int64)
    return ((x[..., None] >> (N_BITS - 1 - np.arange(N_BITS))) & 1).astype(np.uint8)


def from_array(b: np.ndarray) -> np.ndarray:
    """Array of shape ``(..., 8)`` of 0/1 -> int64 values."""
    return (np.asarray(b, dtype=np.int64) * _WEIGHTS).sum(axis=-1)


ALL_INPUTS = np.arange(N_SYMBOLS, dtype=np.int64)
