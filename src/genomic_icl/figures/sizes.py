"""Paper Fig. 2c, 2d and 3: size-matched pairs, family means, accuracy against size."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from genomic_icl.figure_registry import families
from genomic_icl.figures.accuracy import draw_lines
from genomic_icl.figures.context import FigureContext
from genomic_icl.figures.style import (
    COLUMN_WIDTH,
    FULL_WIDTH,
    RC,
    footnote,
    log2_axis,
    m_text,
    pct_axis,
    save,
    series_style,
)


def pairs_vs_shots(ctx: FigureContext) -> None:
    """Size-matched pairs (paper Fig. 2c): one panel per pair, accuracy vs n with SEs.
    Table: ``accuracy``; entry: ``pairs``."""
    accuracy = ctx.table("accuracy")
    pairs = [tuple(p) for p in ctx.value("pairs")]
    k = max(1, len(pairs))
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            1,
            k,
            figsize=(min(FULL_WIDTH, COLUMN_WIDTH * 0.62 * k + 0.4), 2.3),
            sharey=True,
            squeeze=False,
        )
        for ax, pair in zip(axes[0], pairs, strict=False):
            draw_lines(ax, accuracy, pair)
            log2_axis(ax, accuracy["n_shots"])
            ax.set_title(" vs ".join(pair), fontsize=6.5)
            ax.legend(frameon=False, loc="upper left")
        pct_axis(axes[0][0])
        models = [m for p in pairs for m in p]
        sub = accuracy[accuracy["model"].isin(models)]
        footnote(
            fig,
            models,
            sub["n_shots"],
            m_text(sub, ctx.n_functions),
            "size-matched pairs; error bars: +-1 SE (two-stage cluster bootstrap)",
        )
        save(fig, ctx.png, ctx.pdf)


def family_means(ctx: FigureContext) -> None:
    """Mean accuracy of each family's models vs n, with the mode baseline (paper
    Fig. 2d). ``means`` is the family-means table
    (:func:`genomic_icl.stats.family_means_table`), whose SEs come from the joint
    bootstrap; without it the means and SEs (sqrt(sum se^2)/k, as if the models were
    independent) are computed here. Tables: ``accuracy``, optionally ``means``; entry:
    ``baseline``."""
    from genomic_icl.stats import family_means_table

    accuracy, means, meta = ctx.table("accuracy"), ctx.optional_table("means"), ctx.meta
    baseline = ctx.entry.get("baseline", "mode")
    joint = means is not None
    if means is None:
        means = family_means_table(accuracy, meta, None, baseline or "mode")
    fams = families(meta)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, COLUMN_WIDTH * 0.72))
        shown = []
        for i, fam in enumerate(fams):
            ms = meta[meta["family"] == fam]["model"]
            g = means[means["family"] == fam].sort_values("n_shots")
            ax.errorbar(
                g["n_shots"],
                g["accuracy"],
                yerr=g["se"],
                label=f"{fam} mean ({len(ms)} models)",
                **series_style(i),
            )
            if "direction" in g:  # two-sided: the family mean differs from the baseline
                sep = g[g["direction"].isin(["above", "below"])]
                ax.scatter(
                    sep["n_shots"],
                    sep["accuracy"] + sep["se"] + 0.012,
                    marker="*",
                    s=14,
                    color=series_style(i)["color"],
                    zorder=5,
                    lw=0,
                )
            shown += list(ms)
        if baseline and baseline in set(accuracy["model"]):
            b = accuracy[accuracy["model"] == baseline].sort_values("n_shots")
            ax.errorbar(
                b["n_shots"],
                b["accuracy"],
                yerr=b["se"],
                color="0.55",
                linestyle=":",
                marker="x",
                label=f"{baseline} baseline",
            )
            shown.append(baseline)
        log2_axis(ax, accuracy["n_shots"])
        pct_axis(ax)
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, loc="upper left")
        sub = accuracy[accuracy["model"].isin(shown)]
        footnote(
            fig,
            shown,
            sub["n_shots"],
            m_text(sub, ctx.n_functions),
            "error bars: +-1 SE of the family mean, "
            + (
                "joint cluster bootstrap over the shared prompts"
                if joint
                else "models as independent"
            )
            + f"; *: family mean differs from {baseline} (two-sided z-test of the "
            "difference, SE of the difference from the same bootstrap; family_means.tsv)",
        )
        save(fig, ctx.png, ctx.pdf)


def accuracy_vs_params(ctx: FigureContext) -> None:
    """Accuracy at the largest n against parameter count, one line per
    family, log10 x axis (paper Fig. 3); the legend gives the scaling test's p. Tables:
    ``accuracy``, optionally ``scaling``."""
    accuracy, scaling, meta = ctx.table("accuracy"), ctx.optional_table("scaling"), ctx.meta
    n = int(accuracy["n_shots"].max())
    a = accuracy[accuracy["n_shots"] == n].merge(meta, on="model")
    a = a[~a["reference"].astype(bool) & a["params"].notna()]
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, COLUMN_WIDTH * 0.72))
        for i, fam in enumerate(families(meta)):
            sub = a[a["family"] == fam].sort_values("params")
            if sub.empty:
                continue
            label = fam
            if scaling is not None and not scaling.empty:
                s = scaling[(scaling["family"] == fam) & (scaling["n_shots"] == n)]
                if len(s) and np.isfinite(s["p_value"].iloc[0]):
                    df = int(s["df"].iloc[0])
                    label += (
                        f" (log10 slope: one-sided t, df = {df}, p = {s['p_value'].iloc[0]:.2g})"
                    )
            ax.errorbar(
                sub["params"], sub["accuracy"], yerr=sub["se"], label=label, **series_style(i)
            )
            for r in sub.itertuples():
                ax.annotate(
                    r.model,
                    (r.params, r.accuracy),
                    textcoords="offset points",
                    xytext=(3, -6),
                    fontsize=4.8,
                    color="0.3",
                )
        ax.set_xscale("log")
        ax.set_xlabel("parameters (log scale)")
        pct_axis(ax, f"accuracy at n = {n} (%)")
        ax.legend(frameon=False, loc="upper left")
        footnote(
            fig,
            list(a["model"]),
            [n],
            m_text(a, ctx.n_functions),
            "error bars: +-1 SE (two-stage cluster bootstrap)",
        )
        save(fig, ctx.png, ctx.pdf)
