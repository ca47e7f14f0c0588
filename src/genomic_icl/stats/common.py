"""Small helpers shared by the statistics modules: the prompt key, the models'
order of first appearance, the SD of bootstrap replicates, the z-tests and how a
p-value is printed (:func:`p_display`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

KEY = ["function", "n_shots", "trial"]


def models_in_order(df: pd.DataFrame) -> list[str]:
    """The models of ``df`` in their order of first appearance (the tables' row order)."""
    return list(pd.unique(df["model"]))


def order_key(scored: pd.DataFrame):
    """A ``sort_values`` key that sorts ``model`` by :func:`models_in_order` of
    ``scored`` and every other column by value."""
    order = {m: i for i, m in enumerate(models_in_order(scored))}

    def key(col: pd.Series) -> pd.Series:
        return col.map(order) if col.name == "model" else col

    return key


def replicate_sd(x: np.ndarray) -> float:
    """ddof=1 SD of the finite replicates (NaN with fewer than 2)."""
    x = x[np.isfinite(x)]
    return float(np.std(x, ddof=1)) if len(x) >= 2 else float("nan")


def z_one_sided(estimate: float, se: float) -> tuple[float, float]:
    """One-sided z-test of estimate > 0: (z, 1 - Phi(z)); NaN when se is not > 0."""
    if not se > 0:
        return (float("nan"), float("nan"))
    z = estimate / se
    return (float(z), float(sps.norm.sf(z)))


def z_test(a: float, se_a: float, b: float, se_b: float) -> tuple[float, float]:
    """One-sided z-test of a > b with independent SEs: (z, 1 - Phi(z))."""
    return z_one_sided(a - b, math.sqrt(se_a**2 + se_b**2))


# Normal- and t-tail p-values below this print as "< 1e-10": the tail of a reference
# distribution that far out says nothing the data can back (the approximation, not
# the evidence, sets the digits).
TAIL_FLOOR = 1e-10


def z_two_sided(estimate: float, se: float) -> tuple[float, float, float]:
    """z-test of estimate = 0 in both directions: (p above = 1 - Phi(z), p below =
    Phi(z), two-sided p = 2 min of the two); NaN when se is not > 0."""
    z, above = z_one_sided(estimate, se)
    if not math.isfinite(z):
        return (float("nan"),) * 3
    below = float(sps.norm.cdf(z))
    return (above, below, min(1.0, 2 * min(above, below)))


def resampling_floor(replicates: int, sides: int = 1) -> float:
    """The smallest p a bootstrap p of the form sides * (k + 1) / (R + 1) can take:
    sides / (R + 1)."""
    return sides / (int(replicates) + 1)


def p_display(p: float, floor: float = TAIL_FLOOR) -> str:
    """A p-value as a table prints it for reading: 2 significant digits, or
    "< floor" at or below ``floor`` (the resampling floor of a bootstrap p,
    :func:`resampling_floor`, or :data:`TAIL_FLOOR` for a normal or t tail). The
    numeric p stays in its own column for machines; this is the ``*_display`` one."""
    if p is None or not np.isfinite(p):
        return ""
    if p <= floor * (1 + 1e-9):
        return f"< {floor:.2g}"
    return f"{p:.2g}"


def with_p_display(
    table: pd.DataFrame, columns: Sequence[str], floor: float = TAIL_FLOOR
) -> pd.DataFrame:
    """``table`` with a text column ``{col}_display`` (:func:`p_display`) after each
    numeric p column of ``columns``."""
    out = table.copy()
    for col in columns:
        disp = [p_display(v, floor) for v in out[col]]
        out.insert(out.columns.get_loc(col) + 1, f"{col}_display", disp)
    return out
