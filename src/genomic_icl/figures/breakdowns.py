"""Paper Fig. 4 and Figs. 7-10: accuracy broken down by BitLoad / BitDiversity."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd

from genomic_icl.figures.context import FigureContext
from genomic_icl.figures.style import (
    COLUMN_WIDTH,
    FULL_WIDTH,
    RC,
    footnote,
    heatmap,
    pct_axis,
    pct_label,
    prompts_text,
    save,
    series_style,
)

_BY_LABEL = {
    "bit_load": "BitLoad of the function",
    "target_diversity": "BitDiversity of the target",
}


def _estimator(breakdown: pd.DataFrame) -> str:
    """The breakdown table's estimator in a few words (its ``estimator`` column)."""
    if "estimator" in breakdown and len(breakdown):
        return str(breakdown["estimator"].iloc[0]).split(":")[0]
    return "mean over functions of per-function means"


def breakdown_comparison(ctx: FigureContext) -> None:
    """Accuracy against ``by`` (bit_load or target_diversity) for a few models at the
    largest n (paper Fig. 4: Qwen3-14B vs Evo2-40B at n = 128), with bootstrap SEs.
    Table: ``breakdown``; entry: ``by``, ``models``."""
    breakdown, by, models = ctx.table("breakdown"), ctx.value("by"), ctx.value("models")
    n = int(breakdown["n_shots"].max())
    b = breakdown[(breakdown["n_shots"] == n) & breakdown["model"].isin(models)]
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, COLUMN_WIDTH * 0.72))
        for i, model in enumerate(models):
            sub = b[b["model"] == model].sort_values(by)
            ax.errorbar(sub[by], sub["accuracy"], yerr=sub["se"], label=model, **series_style(i))
        ax.set_xlabel(_BY_LABEL.get(by, by))
        pct_axis(ax, f"accuracy at n = {n} (%)")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False)
        counts = b.groupby(by)["n_functions"].first()
        extra = "functions per level: " + ", ".join(f"{k}: {v}" for k, v in counts.items())
        have = sorted(int(v) for v in counts.index)
        empty = [v for v in range(have[0], have[-1] + 1) if v not in have] if have else []
        if empty:
            extra += f" (none at {', '.join(map(str, empty))})"
        mtxt = prompts_text(b["n_prompts"], ctx.trials)
        footnote(
            fig,
            list(models),
            [n],
            mtxt,
            f"{extra}; {_estimator(b)}; error bars: +-1 SE (cluster bootstrap by function)",
        )
        save(fig, ctx.png, ctx.pdf)


def breakdown_heatmaps(ctx: FigureContext) -> None:
    """Accuracy by ``by`` (x) and n (y), one greyscale heatmap panel per model with the
    value printed in each cell (paper Figs. 7-10). Each column's label gives what its
    cells rest on (functions, or prompts per cell when the level is a trial
    property); a level between the smallest and the largest that no prompt has is
    drawn as a blank column marked "none", and the footnote names it and gives the
    range of the cells' bootstrap SEs. Table: ``breakdown``; entry: ``by``,
    ``models``, ``title``."""
    breakdown, by, title = ctx.table("breakdown"), ctx.value("by"), ctx.title
    models = [m for m in ctx.value("models") if m in set(breakdown["model"])]
    k = max(1, len(models))
    ncol = min(k, 3 if k > 4 else k)
    nrow = math.ceil(k / ncol)
    shown = breakdown[breakdown["model"].isin(models)]
    present = sorted(int(v) for v in shown[by].unique())
    levels = list(range(present[0], present[-1] + 1)) if present else []
    empty = [v for v in levels if v not in present]
    ns = sorted(breakdown["n_shots"].unique())
    pooled = "pooled" in _estimator(breakdown)
    counts = shown.groupby(by)["n_prompts" if pooled else "n_functions"]
    lo, hi = counts.min(), counts.max()

    def level_label(v: int) -> str:
        if v in empty:
            return f"{v}\nnone"
        a, b = int(lo.loc[v]), int(hi.loc[v])
        return f"{v}\n{a if a == b else f'{a}-{b}'}"

    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            nrow,
            ncol,
            figsize=(FULL_WIDTH if ncol > 1 else COLUMN_WIDTH, 0.25 * len(ns) * nrow + 0.9),
            squeeze=False,
            layout="constrained",
        )
        im = None
        for ax, model in zip(axes.flat, models, strict=False):
            sub = breakdown[breakdown["model"] == model]
            grid = sub.pivot(index="n_shots", columns=by, values="accuracy").reindex(
                index=ns, columns=levels
            )
            im = heatmap(ax, grid.to_numpy(float))
            ax.set_xticks(range(len(levels)), [level_label(v) for v in levels], fontsize=5)
            ax.set_yticks(range(len(ns)), [str(v) for v in ns])
            ax.set_title(model, fontsize=6.5)
            ax.set_xlabel(_BY_LABEL.get(by, by), fontsize=6)
            ax.set_ylabel("n")
        for ax in list(axes.flat)[len(models) :]:
            ax.axis("off")
        if title:
            fig.suptitle(title, fontsize=7.5)
        if im is not None:
            cb = fig.colorbar(im, ax=axes, shrink=0.6, pad=0.02)
            cb.set_label("accuracy (%)")
            cb.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(pct_label))
        footnote(
            fig,
            models,
            ns,
            prompts_text(breakdown["n_prompts"], ctx.trials, "prompts per cell (varies)"),
            f"cell: accuracy in % ({_estimator(breakdown)}); under each level: "
            + ("prompts per cell (min-max over n)" if pooled else "functions in the level")
            + f"; SE of a cell {100 * shown['se'].min():.1f}-{100 * shown['se'].max():.1f} pp "
            "(joint cluster bootstrap, bitload/target_diversity.tsv); "
            + (f"none at {by.replace('_', ' ')} = {', '.join(map(str, empty))}; " if empty else "")
            + "blank: no prompts",
        )
        save(fig, ctx.png, ctx.pdf)
