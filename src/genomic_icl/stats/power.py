"""Power of per-task claims: trials a one-sided test of a task's accuracy needs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps


def trials_needed(
    p0: float,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    exact: bool = True,
    m_max: int = 10_000,
) -> int:
    """Trials m a one-sided one-sample test of a task's accuracy (H0: p = p0 vs
    H1: p = p0 + effect) needs for the given power.

    ``exact=False``: normal approximation
    m = ((z_{1-a} sqrt(p0 q0) + z_{pow} sqrt(p1 q1)) / effect)^2, rounded up.
    ``exact=True``: smallest m whose exact binomial test (reject when
    k >= c, P0(k >= c) <= alpha) reaches the power."""
    p1 = p0 + effect
    if not (0 <= p0 < 1 and 0 < p1 <= 1 and effect > 0):
        raise ValueError("need 0 <= p0 < p0 + effect <= 1")
    za, zb = sps.norm.ppf(1 - alpha), sps.norm.ppf(power)
    approx = ((za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p1 * (1 - p1))) / effect) ** 2
    m_norm = max(1, math.ceil(approx))
    if not exact:
        return m_norm
    for m in range(1, m_max + 1):
        if exact_power(m, p0, p1, alpha) >= power:
            return m
    return -1


def trials_needed_stable(
    p0: float, effect: float, alpha: float = 0.05, power: float = 0.8, horizon: int | None = None
) -> int:
    """The m from which the exact one-sided binomial test's power stays at or above
    ``power`` for every larger m up to ``horizon`` (default: 4x the normal
    approximation's m + 50). Exact-test power zig-zags in m (the critical value
    moves in whole trials), so the first m reaching the power
    (:func:`trials_needed`) can be followed by an m that falls short; this one is
    not. -1 when the power is still short at the horizon."""
    p1 = p0 + effect
    first = trials_needed(p0, effect, alpha, power, exact=True)
    if first < 0:
        return -1
    horizon = horizon or 4 * trials_needed(p0, effect, alpha, power, exact=False) + 50
    short = [m for m in range(first, horizon + 1) if exact_power(m, p0, p1, alpha) < power]
    if short and short[-1] == horizon:
        return -1
    return short[-1] + 1 if short else first


def exact_power(m: int, p0: float, p1: float, alpha: float = 0.05) -> float:
    """Power of the one-sided exact binomial test of p = p0 vs p1 > p0 with m trials."""
    k = np.arange(m + 2)
    tail0 = sps.binom.sf(k - 1, m, p0)  # P0(K >= k)
    c = int(k[np.argmax(tail0 <= alpha)]) if (tail0 <= alpha).any() else m + 1
    return float(sps.binom.sf(c - 1, m, p1))


def power_table(
    effect: float = 0.25,
    alpha: float = 0.05,
    power: float = 0.8,
    m_current: int = 8,
    baselines: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5),
) -> pd.DataFrame:
    """Power note for per-task claims: for each baseline accuracy p0 and the chosen
    effect, the trials m a one-sided test needs (normal approximation; exact
    binomial: first m reaching the power, ``m_exact``, and m from which the power
    stays there, ``m_exact_stable``, which is the one to plan with), the power the
    current m has, and the current resolution 1/m."""
    rows = []
    for p0 in baselines:
        if p0 + effect > 1:
            continue
        rows.append(
            {
                "p0": p0,
                "p1": p0 + effect,
                "effect": effect,
                "alpha": alpha,
                "power": power,
                "m_normal": trials_needed(p0, effect, alpha, power, exact=False),
                "m_exact": trials_needed(p0, effect, alpha, power, exact=True),
                "m_exact_stable": trials_needed_stable(p0, effect, alpha, power),
                "m_current": m_current,
                "power_at_m_current": exact_power(m_current, p0, p0 + effect, alpha),
                "resolution_at_m_current": 1.0 / m_current,
                "test": "one-sided one-sample test of a task's accuracy vs p0; m_normal: "
                "normal approximation; exact binomial test: m_exact the first m whose "
                "power reaches the target, m_exact_stable the m from which it stays "
                "there (exact power zig-zags in m; checked to 4 m_normal + 50), "
                "power_at_m_current at the configured m",
            }
        )
    return pd.DataFrame(rows)
