"""Paper Fig. 5: log-linear fits of accuracy on log2 n, and their coefficients
against model size."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from genomic_icl.figure_registry import families
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


def loglinear_fits(ctx: FigureContext) -> None:
    """(a) accuracy vs log2 n with each model's fitted line a0 + a1 log2 n; (b, c) a0
    and a1 (+-SE) against parameters per family, when sizes are known (paper Fig. 5).
    The legend gives the one-sided p of a1 > 0 from the paper's fit over the k shot
    counts (df = k-2) and, with ``clustered`` (clustered_fits.tsv), from the
    trial-level regression with SEs clustered by function (df = functions - 1).
    Tables: ``accuracy``, ``fits``, optionally ``clustered``; entry: ``models``, the
    fits shown (default: every row of ``fits``)."""
    from genomic_icl.stats import p_display

    accuracy, fits = ctx.table("accuracy"), ctx.table("fits")
    clustered = ctx.optional_table("clustered")
    models = ctx.models
    if models:
        fits = fits[fits["model"].isin(models)]
    models = list(fits["model"])
    trial_p = (
        dict(zip(clustered["model"], clustered["p_value"], strict=True))
        if clustered is not None
        else {}
    )
    meta = ctx.meta
    sized = fits.merge(meta, on="model")
    sized = sized[sized["params"].notna() & ~sized["reference"].astype(bool)]
    # coefficients against size need a family of two sized models (one is a dot)
    panels = 3 if (sized.groupby("family").size() >= 2).any() else 1
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            1, panels, figsize=(FULL_WIDTH if panels > 1 else COLUMN_WIDTH, 2.4), squeeze=False
        )
        ax = axes[0][0]
        ns = np.array(sorted(accuracy["n_shots"].unique()), float)
        k = len(ns)
        grid = np.geomspace(ns[0], ns[-1], 200)
        for i, r in enumerate(fits.itertuples()):
            sub = accuracy[accuracy["model"] == r.model].sort_values("n_shots")
            st = series_style(i)
            ax.plot(
                sub["n_shots"],
                sub["accuracy"],
                linestyle="none",
                marker=st["marker"],
                color=st["color"],
            )
            line = r.a0 + r.a1 * np.log2(grid)
            line[(line < 0) | (line > 1)] = np.nan  # an accuracy line stops at 0 and 100 %
            ax.plot(
                grid,
                line,
                linestyle=st["linestyle"],
                color=st["color"],
                label=f"{r.model}: a1 = {100 * r.a1:.1f} pp, p = {p_display(r.p_value)}"
                + (f" / {p_display(trial_p[r.model])}" if r.model in trial_p else ""),
            )
        log2_axis(ax, ns)
        pct_axis(ax)
        ax.set_ylim(-0.02, 1.04)
        # below the axes: inside, the legend hid points (the oracle's n = 1)
        ax.legend(frameon=False, fontsize=4.8, loc="upper left", bbox_to_anchor=(0.0, -0.3), ncol=1)
        ax.set_title("(a) accuracy = a0 + a1 log2(n)")
        if panels > 1:
            for j, (coef, lab) in enumerate([("a0", "a0 (%)"), ("a1", "a1 (pp per doubling)")]):
                ax = axes[0][j + 1]
                for i, fam in enumerate(families(meta)):
                    sub = sized[sized["family"] == fam].sort_values("params")
                    if sub.empty:
                        continue
                    yerr = sub["a1_se"] if coef == "a1" else None
                    ax.errorbar(sub["params"], sub[coef], yerr=yerr, label=fam, **series_style(i))
                ax.set_xscale("log")
                ax.set_xlabel("parameters (log scale)")
                pct_axis(ax, lab)
                ax.set_title(f"({'bc'[j]}) {coef} vs size")
                ax.legend(frameon=False)
        sub = accuracy[accuracy["model"].isin(models)]
        footnote(
            fig,
            models,
            sub["n_shots"],
            m_text(sub, ctx.n_functions),
            f"a1 in pp per doubling of n; p: one-sided t-test a1 > 0 of the OLS over the {k} "
            f"shot counts (df = {k - 2})"
            + (
                " / of the trial-level OLS, SEs clustered by function (df = functions - 1)"
                if trial_p
                else ""
            )
            + "; a1 error bars: +-1 SE of the shot-count fit; fitted lines end at 0 and 100 %",
        )
        save(fig, ctx.png, ctx.pdf)
