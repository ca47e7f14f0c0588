"""Accuracy against the number of demonstrations (paper Fig. 2a/2b and the overall
figure), with the published curves and the paired test against the baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd

from genomic_icl.figures.context import FigureContext
from genomic_icl.figures.style import (
    COLUMN_WIDTH,
    RC,
    footnote,
    format_n,
    log2_axis,
    m_text,
    pct_axis,
    present,
    save,
    series_style,
)


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def match_reference(
    models: Sequence[str], reference: pd.DataFrame, mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map pipeline model names to published (Table 4) names: an explicit
    ``mapping`` first, then case/punctuation-insensitive equality
    (``evo2_40b`` <-> ``Evo2-40B``)."""
    pub = list(pd.unique(reference["model"]))
    out = {}
    for m in models:
        if mapping and m in mapping and mapping[m] in pub:
            out[m] = mapping[m]
            continue
        hits = [p for p in pub if _norm(p) == _norm(m)]
        if not hits:  # e.g. evo2_1b_base -> Evo2-1B, Qwen3-14B-Base -> Qwen3-14B
            hits = [
                p
                for p in pub
                if _norm(m).startswith(_norm(p)) and not _norm(m)[len(_norm(p)) :][:1].isdigit()
            ]
            hits = sorted(hits, key=lambda p: -len(_norm(p)))[:1]
        if hits:
            out[m] = hits[0]
    return out


def draw_lines(
    ax: plt.Axes,
    accuracy: pd.DataFrame,
    models: Sequence[str],
    labels: dict | None = None,
    start: int = 0,
) -> None:
    """One line per model of ``accuracy`` against n, with +-1 SE bars when the table
    has them; series styles from ``start``."""
    for i, model in enumerate(models):
        sub = accuracy[accuracy["model"] == model].sort_values("n_shots")
        if sub.empty:
            continue
        yerr = sub["se"] if "se" in sub else None
        ax.errorbar(
            sub["n_shots"],
            sub["accuracy"],
            yerr=yerr,
            label=(labels or {}).get(model, model),
            elinewidth=0.6,
            **series_style(start + i),
        )


def paired_significant(paired: pd.DataFrame | None, a: str, b: str) -> dict[int, float] | None:
    """{n: A - B} for the n where the paired test (``paired.tsv``) separates models a
    and b, i.e. its percentile CI excludes 0 (either stored order); None when the
    table holds no comparison of the two."""
    if paired is None or paired.empty:
        return None
    for x, y, sign in ((a, b, 1.0), (b, a, -1.0)):
        sub = paired[(paired["model_a"] == x) & (paired["model_b"] == y)]
        if len(sub):
            sep = sub[(sub["ci_lo"] > 0) | (sub["ci_hi"] < 0)]
            return {
                int(n): sign * d for n, d in zip(sep["n_shots"], sep["difference"], strict=True)
            }
    return None


def mark_separated(
    ax: plt.Axes, accuracy: pd.DataFrame, model: str, ns: Sequence[int], i: int
) -> None:
    """A star above (model, n) for each n of ``ns``: the paired test separates it
    from the baseline there."""
    sub = accuracy[(accuracy["model"] == model) & accuracy["n_shots"].isin(list(ns))]
    top = sub["accuracy"] + (sub["se"] if "se" in sub else 0)
    ax.scatter(
        sub["n_shots"],
        top + 0.012,
        marker="*",
        s=14,
        color=series_style(i)["color"],
        zorder=5,
        lw=0,
    )


def accuracy_vs_shots(ctx: FigureContext) -> None:
    """Accuracy (percent) against n on a log2 axis, one line per model with
    bootstrap-SE error bars (paper Fig. 2). ``reference``: published curves
    (``model, n_shots, accuracy`` fractions, e.g. Table 4) overlaid as thin open
    markers for the models they match. ``baseline`` (e.g. ``mode``) is drawn as a
    dotted line without markers; with ``paired`` (paired.tsv) a star marks each n
    where the paired test separates a model from the baseline (95 % paired CI
    excludes 0), since overlapping +-1 SE bars say nothing about a paired
    difference. Tables: ``accuracy``, optionally ``paired``; entry: ``models``,
    ``title``, ``baseline``."""
    accuracy, paired = ctx.table("accuracy"), ctx.optional_table("paired")
    baseline, reference, title = ctx.baseline, ctx.reference, ctx.title
    models = present(ctx.models, accuracy)
    width = COLUMN_WIDTH
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(width, width * 0.72))
        main = [m for m in models if m != baseline]
        draw_lines(ax, accuracy, main)
        if baseline is not None and baseline in set(accuracy["model"]):
            b = accuracy[accuracy["model"] == baseline].sort_values("n_shots")
            ax.errorbar(
                b["n_shots"],
                b["accuracy"],
                yerr=b.get("se"),
                color="0.5",
                linestyle=":",
                marker="",
                label=f"{baseline} (baseline)",
            )
        extra = ""
        if baseline is not None and baseline in set(accuracy["model"]) and paired is not None:
            notes = []
            for i, model in enumerate(main):
                sep = paired_significant(paired, model, baseline)
                if sep is None:
                    notes.append(f"{model}: no paired comparison with {baseline}")
                    continue
                mark_separated(ax, accuracy, model, list(sep), i)
                above = [n for n, d in sep.items() if d > 0]
                below = [n for n, d in sep.items() if d < 0]
                notes.append(
                    f"{model} vs {baseline}: above at n = {format_n(above) if above else 'none'}"
                    f", below at n = {format_n(below) if below else 'none'}"
                )
            extra = (
                f"*: paired test separates the model from {baseline} (95% paired cluster "
                f"bootstrap CI of the difference excludes 0, paired.tsv); " + "; ".join(notes)
            )
        if reference is not None and not reference.empty:
            match = match_reference(main, reference, ctx.reference_map)
            for i, model in enumerate(main):
                if model not in match:
                    continue
                r = reference[reference["model"] == match[model]].sort_values("n_shots")
                st = series_style(i)
                ax.plot(
                    r["n_shots"],
                    r["accuracy"],
                    color=st["color"],
                    marker=st["marker"],
                    markerfacecolor="white",
                    linestyle=(0, (1, 2)),
                    linewidth=0.6,
                    label=f"{match[model]} (published)",
                )
            if match:
                extra += ("; " if extra else "") + (
                    "open markers: published Table 4 (Breslow et al. 2025)"
                )
        log2_axis(ax, accuracy["n_shots"])
        pct_axis(ax)
        ax.set_ylim(bottom=0)
        if title:
            ax.set_title(title)
        ax.legend(frameon=False, ncol=2 if len(models) > 4 else 1, loc="upper left")
        sub = accuracy[accuracy["model"].isin(models)]
        footnote(
            fig,
            models,
            sub["n_shots"],
            m_text(sub, ctx.n_functions),
            "error bars: +-1 SE (two-stage cluster bootstrap)" + (f"; {extra}" if extra else ""),
        )
        save(fig, ctx.png, ctx.pdf)


def published_table4() -> pd.DataFrame:
    """The published Table 4 curves (fractions), for the optional overlay."""
    from genomic_icl.stats import load_table4

    return load_table4()
