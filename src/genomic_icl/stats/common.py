"""Small helpers shared by the statistics modules: the prompt key, the models'
order of first appearance, the SD of bootstrap replicates and the one-sided z-test."""

from __future__ import annotations

import math

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
