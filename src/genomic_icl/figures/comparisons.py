"""Comparisons across models: per-task accuracy (heatmap, two models against each
other) and paired differences."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd

from genomic_icl.figures.context import FigureContext
from genomic_icl.figures.style import (
    COLUMN_WIDTH,
    FULL_WIDTH,
    RC,
    counts_text,
    footnote,
    heatmap,
    log2_axis,
    pct_axis,
    pct_label,
    present,
    prompts_text,
    save,
    series_style,
)


def task_heatmap(ctx: FigureContext) -> None:
    """Per-task accuracy at the largest n: functions (rows, in the table's order) x
    models (columns), greyscale with values printed. Table: ``per_task``; entry:
    ``models``."""
    per_task = ctx.table("per_task")
    n = int(per_task["n_shots"].max())
    t = per_task[per_task["n_shots"] == n]
    models = present(ctx.models, t)
    funcs = list(pd.unique(t["function"]))
    grid = (
        t.pivot(index="function", columns="model", values="accuracy")
        .reindex(index=funcs, columns=models)
        .to_numpy(float)
    )
    with plt.rc_context(RC):
        h = 0.11 * len(funcs) + 1.2
        fig, ax = plt.subplots(
            figsize=(min(FULL_WIDTH, 1.6 + 0.45 * len(models)), h), layout="constrained"
        )
        im = heatmap(ax, grid)
        ax.invert_yaxis()
        ax.set_xticks(range(len(models)), models, rotation=45, ha="left", rotation_mode="anchor")
        ax.set_yticks(range(len(funcs)), funcs, fontsize=4.2)
        ax.xaxis.tick_top()
        ax.tick_params(axis="x", labelsize=5.5)
        cb = fig.colorbar(im, ax=ax, shrink=0.3, pad=0.02)
        cb.set_label("accuracy (%)")
        cb.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(pct_label))
        footnote(
            fig,
            models,
            [n],
            counts_text(t["n_trials"]) + " trials per cell",
            f"{len(funcs)} functions; per-cell Wilson intervals in per_task.tsv",
        )
        save(fig, ctx.png, ctx.pdf)


def paired_differences(ctx: FigureContext) -> None:
    """Accuracy difference A - B vs n on shared prompts with paired cluster bootstrap
    CIs, one line per pair: ``pairs`` when given (a pair stored as (B, A) is drawn
    negated), else the first 8 pairs of the table. Table: ``paired``;
    entry: ``pairs``."""
    paired, pairs = ctx.table("paired"), ctx.pairs
    have = set(paired[["model_a", "model_b"]].itertuples(index=False, name=None))
    wanted = [tuple(p) for p in pairs if tuple(p) in have or tuple(p)[::-1] in have]
    if not wanted:
        wanted = list(
            pd.unique(pd.Series(list(zip(paired["model_a"], paired["model_b"], strict=True))))
        )[:8]
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, COLUMN_WIDTH * 0.72))
        for i, (a, b) in enumerate(wanted):
            flip = (a, b) not in have
            x, y = (b, a) if flip else (a, b)
            sub = paired[(paired["model_a"] == x) & (paired["model_b"] == y)]
            sub = sub.sort_values("n_shots")
            sign = -1.0 if flip else 1.0
            d = sign * sub["difference"]
            lo, hi = (-sub["ci_hi"], -sub["ci_lo"]) if flip else (sub["ci_lo"], sub["ci_hi"])
            jitter = 2 ** ((i - (len(wanted) - 1) / 2) * 0.04)
            ax.errorbar(
                sub["n_shots"] * jitter,
                d,
                yerr=[d - lo, hi - d],
                label=f"{a} - {b}",
                **series_style(i),
            )
        ax.axhline(0, color="0.6", linewidth=0.6)
        log2_axis(ax, paired["n_shots"])
        pct_axis(ax, "accuracy difference (pp)")
        ax.legend(frameon=False, fontsize=5)
        models = list(dict.fromkeys(m for p in wanted for m in p))
        footnote(
            fig,
            models,
            paired["n_shots"],
            prompts_text(paired["n_pairs"], ctx.trials, "paired prompts per point"),
            "error bars: 95% paired two-stage cluster bootstrap CI",
        )
        save(fig, ctx.png, ctx.pdf)


def task_comparison(ctx: FigureContext) -> None:
    """Per-task accuracy of two models at the largest n against each
    other, one point per function (size = how many functions share the point), with the
    diagonal; the footnote gives a two-sided sign test over the tasks where they differ
    (:func:`genomic_icl.stats.sign_test`, the test of ``sign_test.tsv``; the paper's
    per-task comparison of Qwen3-14B and Evo2-40B at n = 128). Table: ``per_task``;
    entry: ``models`` (the first two)."""
    from genomic_icl.stats import sign_test

    per_task = ctx.table("per_task")
    a, b = ctx.value("models")[:2]
    n = int(per_task["n_shots"].max())
    t = per_task[per_task["n_shots"] == n]
    wide = t.pivot(index="function", columns="model", values="accuracy")[[a, b]].dropna()
    pts = wide.groupby([a, b]).size().reset_index(name="k")
    signs = sign_test(wide[a], wide[b])
    wins_a, wins_b, p = signs.wins_a, signs.wins_b, signs.p_value
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH * 0.85, COLUMN_WIDTH * 0.85))
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.6, linestyle="--")
        ax.scatter(
            pts[a],
            pts[b],
            s=6 + 10 * pts["k"],
            facecolor="0.3",
            edgecolor="black",
            linewidth=0.4,
            alpha=0.8,
        )
        for r in pts[pts["k"] > 1].itertuples(index=False):
            ax.annotate(
                str(r.k), (r[0], r[1]), fontsize=4.5, ha="center", va="center", color="white"
            )
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.05, 1.05)
        ax.set_aspect("equal")
        pct_axis(ax, f"{b}: task accuracy at n = {n} (%)")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(pct_label))
        ax.set_xlabel(f"{a}: task accuracy at n = {n} (%)")
        footnote(
            fig,
            [a, b],
            [n],
            counts_text(t["n_trials"]) + " trials per task",
            f"{len(wide)} tasks; {a} higher on {wins_a}, {b} on {wins_b}, tied "
            f"{len(wide) - wins_a - wins_b}; two-sided sign test p = {p:.2g}; "
            "point size/number: tasks at that point",
        )
        save(fig, ctx.png, ctx.pdf)
