"""Accuracy broken down by a property of the prompt or the function (BitLoad, the
target's BitDiversity) with joint-bootstrap SEs, and per task with Wilson intervals."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from genomic_icl.stats.bootstrap import correct_matrix, joint_design, joint_draws
from genomic_icl.stats.common import KEY, models_in_order, replicate_sd

# ---------------------------------------------------------------------------
# breakdowns by a property of the prompt or the function
# ---------------------------------------------------------------------------


def varies_within_function(scored: pd.DataFrame, by: str) -> bool:
    """Whether ``by`` is a property of the trial (it varies among one function's
    prompts at one n, e.g. ``target_diversity``) rather than of the function
    (``bit_load``, ``category``)."""
    return bool((scored.groupby(["n_shots", "function"])[by].nunique() > 1).any())


BREAKDOWN_ESTIMATORS = {
    True: "pooled over prompts: correct prompts / prompts of the level (a trial property)",
    False: "mean over the level's functions of per-function means (a function property)",
}


def breakdown_table(
    scored: pd.DataFrame,
    by: str,
    replicates: int = 5000,
    seed: int = 0,
    pooled: bool | None = None,
    resample_trials: bool = True,
) -> pd.DataFrame:
    """Accuracy per (model, n_shots, ``by``) -- e.g. ``bit_load`` or ``target_diversity``.

    A property of the trial (``pooled``; default: when ``by`` varies within a
    function, as the target's BitDiversity does) pools the prompts: accuracy is the
    share of the level's prompts answered correctly, so a function with one such
    trial weighs one trial. A property of the function (BitLoad) keeps the headline
    metric's weighting: the mean over the level's functions of their per-function
    means. SEs from the joint cluster bootstrap by function (the draws of
    :func:`joint_bootstrap`, the statistic recomputed on the level's resampled
    prompts). Columns: model, n_shots, ``by``, accuracy, se, n_functions, n_prompts,
    estimator."""
    tables = breakdown_tables(scored, replicates, seed, {by: pooled}, resample_trials)
    return tables[BREAKDOWN_TABLES.get(by, by)]


BREAKDOWN_TABLES = {"bit_load": "bitload"}  # column -> table name, where they differ


def _breakdown_columns(by: str) -> list[str]:
    return ["model", "n_shots", by, "accuracy", "se", "n_functions", "n_prompts", "estimator"]


def _breakdown_point(scored: pd.DataFrame, by: str, pooled: bool) -> pd.DataFrame:
    """Point estimates of :func:`breakdown_table` per (model, n_shots, level)."""
    keys = ["model", "n_shots", by]
    per_f = scored.groupby([*keys, "function"], sort=False)["correct"].agg(["mean", "size"])
    g = per_f.groupby(level=keys, sort=False)
    out = pd.DataFrame(
        {
            "n_functions": g.size(),
            "n_prompts": g["size"].sum(),
            "cluster_mean": g["mean"].mean(),
        }
    )
    pooled_mean = scored.groupby(keys, sort=False)["correct"].mean()
    out["accuracy"] = pooled_mean.reindex(out.index) if pooled else out["cluster_mean"]
    return out.reset_index()


def _breakdown_replicates(
    scored: pd.DataFrame,
    props: Mapping[str, bool],
    replicates: int,
    seed: int,
    resample_trials: bool,
) -> dict[str, dict[tuple[str, int, object], np.ndarray]]:
    """Replicates of every breakdown of ``props`` ({column: pooled}) from one joint
    draw: {column: {(model, n, level): (R,) replicate accuracies}}."""
    models = models_in_order(scored)
    funcs, design = joint_design(scored)
    for by in props:
        if (scored.groupby(KEY)[by].nunique() > 1).any():
            raise ValueError(
                f"breakdown by {by!r}: it differs between models on the same prompt; a "
                "breakdown needs a property of the prompt or the function"
            )
    prep = {}
    for n, keys in design.items():
        cell = scored[scored["n_shots"] == n].drop_duplicates(["function", "trial"])
        idx = pd.MultiIndex.from_frame(keys[["function", "trial"]])
        y = correct_matrix(scored, keys, n, models)
        have = [i for i, m in enumerate(models) if not np.isnan(y[:, i]).all()]
        y = y[:, have].astype(np.float32)
        per = {}
        for by, pooled in props.items():
            level = cell.set_index(["function", "trial"])[by].reindex(idx).to_numpy()
            order = np.argsort(level, kind="stable")  # a level is a slice of the sorted prompts
            lv, first, cnt = np.unique(level[order], return_index=True, return_counts=True)
            if pooled:
                scale = np.ones(len(keys), np.float32)
            else:  # each function's trials in a level carry total weight 1
                size = pd.Series(level).groupby([keys["_f"].to_numpy(), level]).transform("size")
                scale = (1.0 / size.to_numpy()).astype(np.float32)
            reps = np.empty((replicates, len(have), len(lv)))
            per[by] = (order, lv, first, cnt, scale[order], y[order], reps)
        prep[n] = (have, per)
    for n, rows, counts in joint_draws(design, len(funcs), replicates, seed, resample_trials):
        for order, _lv, first, cnt, scale, y, reps in prep[n][1].values():
            w = counts[:, order] * scale
            for j, (s0, c) in enumerate(zip(first, cnt, strict=True)):
                ws = w[:, s0 : s0 + c]
                den = ws.sum(axis=1, dtype=float)[:, None]
                with np.errstate(invalid="ignore", divide="ignore"):
                    reps[rows, :, j] = (ws @ y[s0 : s0 + c]) / den
    out: dict[str, dict] = {by: {} for by in props}
    for n, (have, per) in prep.items():
        for by, (_o, lv, _f, _c, _s, _y, reps) in per.items():
            for k, i in enumerate(have):
                for j, level in enumerate(lv):
                    out[by][(models[i], n, level)] = reps[:, k, j]
    return out


def breakdown_tables(
    scored: pd.DataFrame,
    replicates: int = 5000,
    seed: int = 0,
    props: Mapping[str, bool | None] | None = None,
    resample_trials: bool = True,
) -> dict[str, pd.DataFrame]:
    """Accuracy by each property of ``props`` ({column: pooled or None for automatic};
    default: BitLoad and the target's BitDiversity) with SEs from one joint draw (see
    :func:`breakdown_table`), keyed by table name (:data:`BREAKDOWN_TABLES`, else the
    column name)."""
    props = dict(props or {"bit_load": None, "target_diversity": None})
    pooled = {
        by: varies_within_function(scored, by) if p is None else bool(p) for by, p in props.items()
    }
    if scored.empty:
        return {
            BREAKDOWN_TABLES.get(by, by): pd.DataFrame(columns=_breakdown_columns(by))
            for by in props
        }
    reps = _breakdown_replicates(scored, pooled, replicates, seed, resample_trials)
    order = {m: i for i, m in enumerate(models_in_order(scored))}
    out = {}
    for by, pool in pooled.items():
        t = _breakdown_point(scored, by, pool)
        t["se"] = [
            replicate_sd(reps[by][(m, int(n), lv)])
            for m, n, lv in t[["model", "n_shots", by]].itertuples(index=False)
        ]
        t["estimator"] = BREAKDOWN_ESTIMATORS[pool]
        t["n_shots"] = t["n_shots"].astype(int)
        if pd.api.types.is_numeric_dtype(t[by]):
            t[by] = t[by].astype(int)
        out[BREAKDOWN_TABLES.get(by, by)] = (
            t.assign(_o=t["model"].map(order))
            .sort_values(["_o", "n_shots", by])[_breakdown_columns(by)]
            .reset_index(drop=True)
        )
    return out


# ---------------------------------------------------------------------------
# per task
# ---------------------------------------------------------------------------


def wilson_interval(
    k: np.ndarray, n: np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (two-sided, level 1-alpha)."""
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    z = sps.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def per_task_table(scored: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per (model, n_shots, function): accuracy over its m trials with a Wilson
    interval (level 1-alpha). Columns: model, n_shots, function, category, bit_load,
    n_trials, n_correct, accuracy, wilson_lo, wilson_hi."""
    cols = {"category": "first"} if "category" in scored else {}
    if "bit_load" in scored:
        cols["bit_load"] = "first"
    g = (
        scored.groupby(["model", "n_shots", "function"], sort=False)
        .agg(
            n_trials=("correct", "size"),
            n_correct=("correct", "sum"),
            **{c: (c, how) for c, how in cols.items()},
        )
        .reset_index()
    )
    g["n_correct"] = g["n_correct"].astype(int)
    g["accuracy"] = g["n_correct"] / g["n_trials"]
    lo, hi = wilson_interval(g["n_correct"], g["n_trials"], alpha)
    g["wilson_lo"], g["wilson_hi"] = lo, hi
    order = [
        "model",
        "n_shots",
        "function",
        *cols,
        "n_trials",
        "n_correct",
        "accuracy",
        "wilson_lo",
        "wilson_hi",
    ]
    return g[order]
