"""Table builders: the groups of tables one workflow rule writes, and every table at
once (:func:`compute_all`, for tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from genomic_icl.stats.bootstrap import JointBootstrap, accuracy_table, joint_bootstrap
from genomic_icl.stats.breakdowns import breakdown_tables, per_task_table
from genomic_icl.stats.comparisons import (
    family_means_table,
    paired_table,
    scaling_table,
    vs_baseline_table,
)
from genomic_icl.stats.fits import clustered_fit_table, fit_table, fits_vs_size
from genomic_icl.stats.loss import LOSS_TABLE_NAMES, loss_tables
from genomic_icl.stats.mistakes import diversity_zero_table, mistakes_table
from genomic_icl.stats.power import power_table

TABLE_NAMES = (
    "accuracy",
    "fits",
    "clustered_fits",
    "fits_vs_size",
    "vs_mode",
    "scaling",
    "family_means",
    "bitload",
    "target_diversity",
    "per_task",
    "mistakes",
    "diversity_zero",
    "paired",
    "power",
    *LOSS_TABLE_NAMES,
)


def accuracy_tables(
    accuracy: pd.DataFrame,
    meta: pd.DataFrame,
    baseline: str = "mode",
    alpha: float = 0.05,
    boot: JointBootstrap | None = None,
) -> dict[str, pd.DataFrame]:
    """Tables computed from the accuracy table and the joint bootstrap's replicates
    (``boot``; without it, SEs of differences treat the models as independent):
    fits, fits_vs_size, vs_mode, scaling, family_means."""
    fits = fit_table(accuracy)
    return {
        "fits": fits,
        "fits_vs_size": fits_vs_size(fits, meta, accuracy, boot),
        "vs_mode": vs_baseline_table(accuracy, baseline, alpha, boot),
        "scaling": scaling_table(accuracy, meta, boot),
        "family_means": family_means_table(accuracy, meta, boot, baseline, alpha),
    }


def trial_tables(
    scored: pd.DataFrame, trials: int, power: Mapping | None = None, alpha: float = 0.05
) -> dict[str, pd.DataFrame]:
    """Tables computed from trial-level results without bootstrap: clustered_fits,
    per_task, mistakes, diversity_zero, power."""
    power = dict(power or {})
    return {
        "clustered_fits": clustered_fit_table(scored),
        "per_task": per_task_table(scored, alpha),
        "mistakes": mistakes_table(scored),
        "diversity_zero": diversity_zero_table(scored),
        "power": power_table(
            effect=power.get("effect", 0.25),
            alpha=power.get("alpha", 0.05),
            power=power.get("power", 0.8),
            m_current=trials,
        ),
    }


def compute_all(
    scored: pd.DataFrame,
    meta: pd.DataFrame,
    replicates: int = 5000,
    seed: int = 0,
    trials: int | None = None,
    baseline: str = "mode",
    alpha: float = 0.05,
    comparisons: Iterable | str = "all",
    power: Mapping | None = None,
) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLE_NAMES` from the scored results of all models."""
    boot = joint_bootstrap(scored, replicates, seed)
    acc = accuracy_table(scored, boot=boot)
    m = trials or int(scored.groupby(["model", "n_shots", "function"]).size().max())
    out = {
        "accuracy": acc,
        **accuracy_tables(acc, meta, baseline, alpha, boot),
        **trial_tables(scored, m, power, alpha),
        **breakdown_tables(scored, replicates, seed),
        "paired": paired_table(scored, comparisons, replicates, seed, boot),
        **loss_tables(scored, replicates, seed),
    }
    return {k: out[k] for k in TABLE_NAMES}
