"""Table builders: the groups of tables one workflow rule writes (each returns
``{table name: DataFrame}`` with exactly the tables :mod:`genomic_icl.table_registry`
lists for it), the rules' writer (:func:`write_tables`), and every table at once
(:func:`compute_all`, for tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from genomic_icl.io import write_tsv
from genomic_icl.stats.bootstrap import JointBootstrap, accuracy_table, joint_bootstrap
from genomic_icl.stats.breakdowns import breakdown_tables, per_task_table
from genomic_icl.stats.comparisons import (
    family_means_table,
    paired_table,
    scaling_table,
    sign_test_table,
    vs_baseline_table,
)
from genomic_icl.stats.fits import clustered_fit_table, fit_table, fits_vs_size
from genomic_icl.stats.loss import loss_tables
from genomic_icl.stats.mistakes import diversity_zero_table, mistakes_table
from genomic_icl.stats.power import power_table
from genomic_icl.table_registry import TABLES, check_built


def bootstrap_tables(scored: pd.DataFrame, boot: JointBootstrap) -> dict[str, pd.DataFrame]:
    """Tables of the joint bootstrap ``boot`` of the scored results itself: accuracy."""
    return {"accuracy": accuracy_table(scored, boot=boot)}


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


def comparison_tables(
    scored: pd.DataFrame,
    comparisons: Iterable | str = "all",
    replicates: int = 5000,
    seed: int = 0,
    boot: JointBootstrap | None = None,
) -> dict[str, pd.DataFrame]:
    """Tables of the compared pairs (``stats.comparisons``: "all" or a list of
    [A, B]): paired (differences on shared prompts, from the joint bootstrap ``boot``)
    and sign_test (the sign test over tasks of the per-task accuracies)."""
    pairs = comparisons if isinstance(comparisons, str) else [tuple(p) for p in comparisons]
    return {
        "paired": paired_table(scored, pairs, replicates, seed, boot),
        "sign_test": sign_test_table(per_task_table(scored), pairs),
    }


def write_tables(builder: str, tables: Mapping[str, pd.DataFrame], outputs: Any) -> None:
    """Write the tables ``builder`` returned, each to the rule output of its name
    (``outputs``: Snakemake's ``output`` or a mapping name -> path), after checking
    they are exactly the tables the registry lists for the builder."""
    check_built(builder, tables)
    paths = dict(outputs.items())
    missing = [name for name in tables if name not in paths]
    if missing:
        raise ValueError(
            f"table builder {builder}: the rule has no output named {', '.join(missing)}"
        )
    for name, table in tables.items():
        write_tsv(table, paths[name])


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
    """Every table of the registry (:data:`genomic_icl.table_registry.TABLES`, in its
    order) from the scored results of all models."""
    boot = joint_bootstrap(scored, replicates, seed)
    first = bootstrap_tables(scored, boot)
    acc = first["accuracy"]
    m = trials or int(scored.groupby(["model", "n_shots", "function"]).size().max())
    built = {
        "bootstrap_tables": first,
        "accuracy_tables": accuracy_tables(acc, meta, baseline, alpha, boot),
        "trial_tables": trial_tables(scored, m, power, alpha),
        "breakdown_tables": breakdown_tables(scored, replicates, seed),
        "comparison_tables": comparison_tables(scored, comparisons, replicates, seed, boot),
        "loss_tables": loss_tables(scored, replicates, seed),
    }
    out: dict[str, pd.DataFrame] = {}
    for builder, tables in built.items():
        check_built(builder, tables)
        out.update(tables)
    return {name: out[name] for name in TABLES}
