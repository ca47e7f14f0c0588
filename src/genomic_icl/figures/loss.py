"""In-context loss (beyond the paper): loss against n and its floor, loss per output
position, and the distribution over the valid answers."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from genomic_icl.figures.context import FigureContext
from genomic_icl.figures.style import (
    COLUMN_WIDTH,
    FULL_WIDTH,
    RC,
    footnote,
    log2_axis,
    no_rows,
    pct_axis,
    present,
    prompts_text,
    save,
    series_style,
)


def in_context_loss(ctx: FigureContext) -> None:
    """(a) In-context loss (bits per target symbol) against n, log-log, one line per
    model with +-1 SE (joint cluster bootstrap), the oracle's posterior predictive on
    the same prompts as the floor (thick grey) and ``baseline`` (e.g. mode) dotted; the
    legend gives each model's slope per doubling of n and the one-sided clustered p of
    a fall (``fits``: in_context_loss_fits.tsv). (b) The excess over the floor, log-log,
    with the fitted power law c n^-alpha where one fits (alpha and its bootstrap interval
    in the legend). A model whose loss is the floor (the oracle) is the floor's line.
    Tables: ``in_context_loss``, optionally ``fits``; entry: ``models``, ``baseline``."""
    loss, fits = ctx.table("in_context_loss"), ctx.optional_table("fits")
    baseline = ctx.baseline
    models = present(ctx.models, loss)
    fit = fits.set_index("model") if fits is not None else pd.DataFrame()
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.6))
        if not models:
            for ax in axes:
                no_rows(ax, "log-probabilities")
            footnote(fig, [], [], None)
            save(fig, ctx.png, ctx.pdf)
            return
        sub = loss[loss["model"].isin(models)]
        floor = sub.groupby("n_shots")["oracle_bits_per_symbol"].mean()
        axes[0].plot(
            floor.index,
            floor.values,
            color="0.75",
            linewidth=2.5,
            zorder=0,
            label="oracle posterior predictive (floor)",
        )
        shown = [
            m
            for m in models
            if not np.allclose(loss.loc[loss["model"] == m, "excess_bits_per_symbol"], 0, atol=1e-9)
        ]
        others = [m for m in shown if m != baseline]
        for model in shown:
            cell = loss[loss["model"] == model].sort_values("n_shots")
            if model == baseline:
                kw = {"color": "0.5", "linestyle": ":", "marker": ""}
            else:
                kw = series_style(others.index(model))
            label = model + (" (baseline)" if model == baseline else "")
            row = fit.loc[model] if model in fit.index else None
            slope_label = label
            if row is not None and np.isfinite(row["slope"]):
                slope_label += f": {row['slope']:+.3f} bits/doubling, p = {row['p_value']:.2g}"
            axes[0].errorbar(
                cell["n_shots"],
                cell["bits_per_symbol"],
                yerr=cell["se"],
                label=slope_label,
                elinewidth=0.6,
                **kw,
            )
            power_label = label
            if row is not None and np.isfinite(row["power_exponent"]):
                power_label += (
                    f": alpha = {row['power_exponent']:.3f} "
                    f"[{row['power_ci_low']:.3f}, {row['power_ci_high']:.3f}]"
                )
                if not str(row["power_law"]).startswith("fits"):
                    power_label += " (poor fit)"
            axes[1].errorbar(
                cell["n_shots"],
                cell["excess_bits_per_symbol"],
                yerr=cell["excess_se"],
                label=power_label,
                elinewidth=0.6,
                **kw,
            )
            if row is not None and np.isfinite(row["power_exponent"]):
                ns = cell["n_shots"].to_numpy(float)
                x, y = np.log2(ns), np.log2(cell["excess_bits_per_symbol"].to_numpy(float))
                c = np.mean(y + row["power_exponent"] * x)  # the OLS intercept
                axes[1].plot(
                    ns, 2 ** (c - row["power_exponent"] * x), color=kw["color"], lw=0.5, zorder=0
                )
        for ax, title in zip(
            axes, ("(a) loss and the oracle's floor", "(b) excess over the floor"), strict=True
        ):
            log2_axis(ax, sub["n_shots"])
            ax.set_yscale("log")
            ax.set_title(title)
            ax.legend(frameon=False, fontsize=4.8, loc="lower left")
        axes[0].set_ylabel("in-context loss (bits per target symbol)")
        axes[1].set_ylabel("excess over the oracle (bits per target symbol)")
        mtxt = prompts_text(sub["n_prompts"], ctx.trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "error bars: +-1 SE (joint two-stage cluster bootstrap); slope: trial-level OLS "
            "on log2(n), p: one-sided t-test of a fall, SEs clustered by function "
            "(df = functions - 1); the floor leaves the log axis where it is 0; (b) thin "
            "lines: power law c n^-alpha fitted to the excess (OLS on log-log), alpha's "
            "95 % bootstrap percentile interval in brackets",
        )
        save(fig, ctx.png, ctx.pdf)


def loss_positions(ctx: FigureContext) -> None:
    """Loss per output position (bits of symbol i given the target symbols before it)
    for each model, one line per n (darker = more demonstrations), the oracle's
    posterior predictive on the same prompts as thin dotted lines of the same grey.
    Table: ``positions``; entry: ``models``."""
    positions = ctx.table("positions")
    models = present(ctx.models, positions)
    ncol = max(1, min(len(models), 3))
    nrow = max(1, math.ceil(len(models) / ncol))
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            nrow,
            ncol,
            figsize=(COLUMN_WIDTH * min(ncol, 2), 1.9 * nrow + 0.4),
            squeeze=False,
            sharey=True,
        )
        if not models:
            no_rows(axes[0][0], "per-position log-probabilities")
        ns = sorted(positions["n_shots"].unique())
        greys = np.linspace(0.75, 0.0, len(ns)) if ns else []
        for k, model in enumerate(models):
            ax = axes[k // ncol][k % ncol]
            for n, grey in zip(ns, greys, strict=True):
                cell = positions[(positions["model"] == model) & (positions["n_shots"] == n)]
                cell = cell.sort_values("position")
                c = str(round(float(grey), 3))
                ax.plot(cell["position"], cell["bits"], color=c, marker="o", label=f"n = {n}")
                ax.plot(cell["position"], cell["oracle_bits"], color=c, linestyle=":", lw=0.7)
            ax.set_title(model)
            ax.set_xticks(range(1, 9))
            ax.set_xlabel("output position (1 = first symbol)")
            if k % ncol == 0:
                ax.set_ylabel("bits (symbol | earlier symbols)")
        for k in range(len(models), nrow * ncol):
            axes[k // ncol][k % ncol].set_axis_off()
        if models:
            axes[0][0].legend(frameon=False, fontsize=4.5, ncol=2)
        sub = positions[positions["model"].isin(models)]
        mtxt = prompts_text(sub["n_prompts"], ctx.trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "dotted: the oracle's posterior predictive on the same prompts; SEs in "
            "in_context_loss_positions.tsv",
        )
        save(fig, ctx.png, ctx.pdf)


def answer_distribution(ctx: FigureContext) -> None:
    """From the model's distribution over the 256 valid answers, against n: (a) the
    probability on valid answers, (b) the KL divergence of the renormalised distribution
    from the oracle's posterior predictive (bits per symbol), each +-1 SE (joint
    cluster bootstrap). Table: ``answers``; entry: ``models``."""
    answers = ctx.table("answers")
    models = present(ctx.models, answers)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH * 0.75, 2.3))
        if not models:
            for ax in axes:
                no_rows(ax, "answer log-probabilities")
        for i, model in enumerate(models):
            cell = answers[answers["model"] == model].sort_values("n_shots")
            for ax, col, se in (
                (axes[0], "valid_mass", "valid_mass_se"),
                (axes[1], "kl_bits_per_symbol", "kl_se"),
            ):
                ax.errorbar(
                    cell["n_shots"],
                    cell[col],
                    yerr=cell[se],
                    label=model,
                    elinewidth=0.6,
                    **series_style(i),
                )
        if models:
            log2_axis(axes[0], answers["n_shots"])
            log2_axis(axes[1], answers["n_shots"])
            pct_axis(axes[0], "mass on valid answers (%)")
            axes[0].set_ylim(0, 1.05)
            axes[1].set_ylabel("KL(oracle || model), bits per symbol")
            axes[1].set_ylim(bottom=0)
            axes[0].set_title("(a) probability of a valid answer")
            axes[1].set_title("(b) divergence from the Bayes posterior predictive")
            axes[1].legend(frameon=False, fontsize=5)
        sub = answers[answers["model"].isin(models)]
        mtxt = prompts_text(sub["n_prompts"], ctx.trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "error bars: +-1 SE (joint two-stage cluster bootstrap); KL of the distribution "
            "renormalised over the 256 valid answers",
        )
        save(fig, ctx.png, ctx.pdf)
