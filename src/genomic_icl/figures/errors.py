"""Paper Fig. 6 and 11: understandable mistakes and predictions of BitDiversity 0."""

from __future__ import annotations

import matplotlib.pyplot as plt

from genomic_icl.figures.context import FigureContext
from genomic_icl.figures.style import (
    COLUMN_WIDTH,
    FULL_WIDTH,
    RC,
    footnote,
    log2_axis,
    pct_axis,
    present,
    prompts_text,
    save,
    series_style,
)


def mistakes_vs_shots(ctx: FigureContext) -> None:
    """Understandable mistakes vs n (paper Fig. 6): (a) share of all prompts, (b) share
    of the wrong answers that equal the query output of another function consistent
    with every demonstration. Table: ``mistakes``;
    entry: ``models``."""
    mistakes = ctx.table("mistakes")
    models = present(ctx.models, mistakes)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH * 0.75, 2.3))
        for i, model in enumerate(models):
            sub = mistakes[mistakes["model"] == model].sort_values("n_shots")
            axes[0].plot(sub["n_shots"], sub["share_of_prompts"], label=model, **series_style(i))
            axes[1].plot(sub["n_shots"], sub["share_of_errors"], label=model, **series_style(i))
        for ax, lab in zip(
            axes,
            ["understandable mistakes (% of prompts)", "understandable (% of wrong answers)"],
            strict=True,
        ):
            log2_axis(ax, mistakes["n_shots"])
            pct_axis(ax, lab)
            ax.set_ylim(bottom=0)
        axes[0].legend(frameon=False, fontsize=5)
        sub = mistakes[mistakes["model"].isin(models)]
        mtxt = prompts_text(sub["n_prompts"], ctx.trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "understandable: a valid wrong answer equal to the query output of another of "
            "the 100 functions consistent with all demonstrations",
        )
        save(fig, ctx.png, ctx.pdf)


def diversity_zero(ctx: FigureContext) -> None:
    """Share of predictions with BitDiversity 0 (all-0 or all-1) vs n, per model, with
    the true share of such targets as a thick grey line (paper Fig. 11). Table: ``div0``; entry:
    ``models``."""
    div0 = ctx.table("div0")
    models = present(ctx.models, div0)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, COLUMN_WIDTH * 0.72))
        for i, model in enumerate(models):
            sub = div0[div0["model"] == model].sort_values("n_shots")
            ax.errorbar(
                sub["n_shots"],
                sub["pred_share"],
                yerr=sub["pred_share_se"] if "pred_share_se" in sub else None,
                label=model,
                elinewidth=0.6,
                **series_style(i),
            )
        true = div0[div0["model"].isin(models)].groupby("n_shots")["true_share"].mean()
        ax.plot(
            true.index,
            true.values,
            color="0.7",
            linewidth=2.5,
            zorder=0,
            label="true share (targets)",
        )
        log2_axis(ax, div0["n_shots"])
        pct_axis(ax, "predictions with BitDiversity 0 (%)")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize=5)
        sub = div0[div0["model"].isin(models)]
        mtxt = prompts_text(sub["n_prompts"], ctx.trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "invalid predictions count as not BitDiversity 0; error bars: +-1 SE (two-stage "
            "cluster bootstrap by function, exact; diversity_zero.tsv)",
        )
        save(fig, ctx.png, ctx.pdf)
