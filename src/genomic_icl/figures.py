"""Drawing every figure of the pipeline (docs/protocol.md §7 analogues and the extra
analyses): the plot functions and :func:`draw`, which draws one planned figure with the
plot function its entry in :mod:`genomic_icl.figure_registry` names. Which figures a
config gets is planned there, without matplotlib; only the figure jobs import this
module.

Style: one paper column (3.4 in wide; 7.0 in for full-width figures), greyscale
readable (each series has its own marker and line style besides its grey level),
written as PNG (300 dpi) and PDF with fixed metadata so the bytes do not depend
on the date. Every figure states in a footnote the models, shot counts n and
trials m it shows. Functions take the tables of :mod:`genomic_icl.stats` (or the
accuracy TSV) and write files; they return nothing.
"""

from __future__ import annotations

import inspect
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genomic_icl.figure_registry import FIGURES, families  # noqa: E402

COLUMN_WIDTH = 3.4  # inches, one column of a two-column paper
FULL_WIDTH = 7.0
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (5, 5))]
GREYS = ["0.0", "0.45", "0.25", "0.6", "0.1", "0.35", "0.5", "0.2", "0.55", "0.3"]

RC = {
    "font.size": 7,
    "axes.titlesize": 7.5,
    "axes.labelsize": 7,
    "legend.fontsize": 6,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "axes.linewidth": 0.6,
    "errorbar.capsize": 1.5,
    "savefig.dpi": 300,
    "pdf.fonttype": 42,
    "svg.hashsalt": "genomic-icl",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def style(i: int) -> dict:
    """Plot keywords of the i-th series: grey level, marker and line style."""
    return {
        "color": GREYS[i % len(GREYS)],
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
    }


def _save(fig: plt.Figure, png: str | Path, pdf: str | Path | None) -> None:
    for path in (png, pdf):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, format="png", metadata={"Software": None}, bbox_inches="tight")
    if pdf is not None:
        fig.savefig(
            pdf,
            format="pdf",
            metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
            bbox_inches="tight",
        )
    plt.close(fig)


def _fmt_n(ns: Sequence[int]) -> str:
    ns = sorted({int(n) for n in ns})
    if not ns:
        return "-"
    if len(ns) > 2 and all(b == 2 * a for a, b in zip(ns, ns[1:], strict=False)):
        return f"{ns[0]}..{ns[-1]} (x2)"
    return ",".join(str(n) for n in ns)


def footnote(
    fig: plt.Figure, models: Sequence[str], ns: Sequence[int], m: str | int | None, extra: str = ""
) -> None:
    """State the models, shot counts and trials a figure shows, under the axes."""
    if m is None:
        mtxt = ""
    elif isinstance(m, str) and "trials" not in m:
        mtxt = m  # e.g. "800 prompts per point": the trials per function are not known
    else:
        mtxt = f"m = {m}"
    text = f"models: {', '.join(models)}\nn = {_fmt_n(ns)}; {mtxt}"
    if extra:
        text += f"; {extra}"
    width = int(fig.get_figwidth() * 26)
    text = "\n".join(textwrap.fill(line, width) for line in text.split("\n"))
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.text(0.01, 0.0, text, ha="left", va="top", fontsize=5.2, color="0.2")


def _m_text(table: pd.DataFrame, n_functions: int | None = None) -> str | None:
    """'m' from a table with n_prompts (and optionally the number of functions)."""
    if "n_prompts" not in table or table.empty:
        return None
    p = sorted(set(table["n_prompts"].astype(int)))
    ptxt = "/".join(str(x) for x in p)
    if n_functions:
        ms = sorted({x // n_functions for x in p})
        return f"{'/'.join(map(str, ms))} trials x {n_functions} functions ({ptxt} prompts/point)"
    return f"{ptxt} prompts per point"


def _log2_axis(ax: plt.Axes, ns: Sequence[int]) -> None:
    ns = sorted({int(n) for n in ns})
    ax.set_xscale("log", base=2)
    if ns:
        ax.set_xticks(ns)
        ax.set_xticklabels([str(n) for n in ns])
        ax.set_xlim(ns[0] / 1.3, ns[-1] * 1.3)
    ax.minorticks_off()
    ax.set_xlabel("demonstrations n (log2 scale)")


def _pct_label(v: float, _pos: object = None) -> str:
    """A fraction as a percent tick label without float noise: 0.325 -> '32.5'."""
    return f"{round(100 * v, 6):g}"


def _pct_axis(ax: plt.Axes, label: str = "accuracy (%)") -> None:
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_pct_label))
    ax.set_ylabel(label)


def _present(models: Sequence[str] | None, table: pd.DataFrame) -> list[str]:
    """The requested models (default: all, in table order) that ``table`` holds."""
    held = list(pd.unique(table["model"]))
    return held if models is None else [m for m in models if m in set(held)]


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def match_reference(
    models: Sequence[str], reference: pd.DataFrame, mapping: dict | None = None
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


def _draw_lines(
    ax, accuracy: pd.DataFrame, models: Sequence[str], labels: dict | None = None, start: int = 0
) -> None:
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
            **style(start + i),
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


def _mark_separated(ax, accuracy: pd.DataFrame, model: str, ns: Sequence[int], i: int) -> None:
    """A star above (model, n) for each n of ``ns``: the paired test separates it
    from the baseline there."""
    sub = accuracy[(accuracy["model"] == model) & accuracy["n_shots"].isin(list(ns))]
    top = sub["accuracy"] + (sub["se"] if "se" in sub else 0)
    ax.scatter(
        sub["n_shots"], top + 0.012, marker="*", s=14, color=style(i)["color"], zorder=5, lw=0
    )


def accuracy_vs_shots(
    accuracy: pd.DataFrame,
    png: str,
    pdf: str,
    reference: pd.DataFrame | None = None,
    title: str = "",
    models: Sequence[str] | None = None,
    reference_map: dict | None = None,
    n_functions: int | None = None,
    baseline: str | None = None,
    width: float = COLUMN_WIDTH,
    paired: pd.DataFrame | None = None,
) -> None:
    """Accuracy (percent) against n on a log2 axis, one line per model with
    bootstrap-SE error bars (paper Fig. 2). ``reference``: published curves
    (``model, n_shots, accuracy`` fractions, e.g. Table 4) overlaid as thin open
    markers for the models they match. ``baseline`` (e.g. ``mode``) is drawn as a
    dotted line without markers; with ``paired`` (paired.tsv) a star marks each n
    where the paired test separates a model from the baseline (95 % paired CI
    excludes 0), since overlapping +-1 SE bars say nothing about a paired
    difference."""
    models = _present(models, accuracy)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(width, width * 0.72))
        main = [m for m in models if m != baseline]
        _draw_lines(ax, accuracy, main)
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
                _mark_separated(ax, accuracy, model, list(sep), i)
                above = [n for n, d in sep.items() if d > 0]
                below = [n for n, d in sep.items() if d < 0]
                notes.append(
                    f"{model} vs {baseline}: above at n = {_fmt_n(above) if above else 'none'}"
                    f", below at n = {_fmt_n(below) if below else 'none'}"
                )
            extra = (
                f"*: paired test separates the model from {baseline} (95% paired cluster "
                f"bootstrap CI of the difference excludes 0, paired.tsv); " + "; ".join(notes)
            )
        if reference is not None and not reference.empty:
            match = match_reference(main, reference, reference_map)
            for i, model in enumerate(main):
                if model not in match:
                    continue
                r = reference[reference["model"] == match[model]].sort_values("n_shots")
                st = style(i)
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
        _log2_axis(ax, accuracy["n_shots"])
        _pct_axis(ax)
        ax.set_ylim(bottom=0)
        if title:
            ax.set_title(title)
        ax.legend(frameon=False, ncol=2 if len(models) > 4 else 1, loc="upper left")
        sub = accuracy[accuracy["model"].isin(models)]
        footnote(
            fig,
            models,
            sub["n_shots"],
            _m_text(sub, n_functions),
            "error bars: +-1 SE (two-stage cluster bootstrap)" + (f"; {extra}" if extra else ""),
        )
        _save(fig, png, pdf)


def published_table4() -> pd.DataFrame:
    """The published Table 4 curves (fractions), for the optional overlay."""
    from genomic_icl.stats import load_table4

    return load_table4()


# ---------------------------------------------------------------------------
# helpers on model metadata
# ---------------------------------------------------------------------------


def _meta_frame(meta: pd.DataFrame | None, models: Sequence[str]) -> pd.DataFrame:
    if meta is None:
        return pd.DataFrame(
            {"model": list(models), "family": None, "params": np.nan, "reference": False}
        )
    return meta


def _with_trials(text: str, trials: int | None) -> str:
    """Prefix the configured trials m to a count text when known."""
    return f"{trials} trials per function and n ({text})" if trials else text


def _m_from_counts(counts: Sequence[int]) -> str:
    c = sorted({int(x) for x in counts})
    return "/".join(map(str, c))


# ---------------------------------------------------------------------------
# Fig. 2c, 2d, 3: pairs, family means, scaling
# ---------------------------------------------------------------------------


def pairs_vs_shots(
    accuracy: pd.DataFrame,
    pairs: Sequence[Sequence[str]],
    png: str,
    pdf: str,
    n_functions: int | None = None,
) -> None:
    """Size-matched pairs (paper Fig. 2c): one panel per pair, accuracy vs n with SEs."""
    pairs = [tuple(p) for p in pairs]
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
            _draw_lines(ax, accuracy, pair)
            _log2_axis(ax, accuracy["n_shots"])
            ax.set_title(" vs ".join(pair), fontsize=6.5)
            ax.legend(frameon=False, loc="upper left")
        _pct_axis(axes[0][0])
        models = [m for p in pairs for m in p]
        sub = accuracy[accuracy["model"].isin(models)]
        footnote(
            fig,
            models,
            sub["n_shots"],
            _m_text(sub, n_functions),
            "size-matched pairs; error bars: +-1 SE (two-stage cluster bootstrap)",
        )
        _save(fig, png, pdf)


def family_means(
    accuracy: pd.DataFrame,
    meta: pd.DataFrame,
    png: str,
    pdf: str,
    baseline: str | None = "mode",
    n_functions: int | None = None,
    means: pd.DataFrame | None = None,
) -> None:
    """Mean accuracy of each family's models vs n, with the mode baseline (paper
    Fig. 2d). ``means`` is the family-means table
    (:func:`genomic_icl.stats.family_means_table`), whose SEs come from the joint
    bootstrap; without it the means and SEs (sqrt(sum se^2)/k, as if the models were
    independent) are computed here."""
    from genomic_icl.stats import family_means_table

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
                **style(i),
            )
            if "direction" in g:  # two-sided: the family mean differs from the baseline
                sep = g[g["direction"].isin(["above", "below"])]
                ax.scatter(
                    sep["n_shots"],
                    sep["accuracy"] + sep["se"] + 0.012,
                    marker="*",
                    s=14,
                    color=style(i)["color"],
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
        _log2_axis(ax, accuracy["n_shots"])
        _pct_axis(ax)
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, loc="upper left")
        sub = accuracy[accuracy["model"].isin(shown)]
        footnote(
            fig,
            shown,
            sub["n_shots"],
            _m_text(sub, n_functions),
            "error bars: +-1 SE of the family mean, "
            + (
                "joint cluster bootstrap over the shared prompts"
                if joint
                else "models as independent"
            )
            + f"; *: family mean differs from {baseline} (two-sided z-test of the "
            "difference, SE of the difference from the same bootstrap; family_means.tsv)",
        )
        _save(fig, png, pdf)


def accuracy_vs_params(
    accuracy: pd.DataFrame,
    meta: pd.DataFrame,
    png: str,
    pdf: str,
    n_shots: int | None = None,
    scaling: pd.DataFrame | None = None,
    n_functions: int | None = None,
) -> None:
    """Accuracy at n (default: the largest n) against parameter count, one line per
    family, log10 x axis (paper Fig. 3); the legend gives the scaling test's p."""
    n = int(n_shots or accuracy["n_shots"].max())
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
            ax.errorbar(sub["params"], sub["accuracy"], yerr=sub["se"], label=label, **style(i))
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
        _pct_axis(ax, f"accuracy at n = {n} (%)")
        ax.legend(frameon=False, loc="upper left")
        footnote(
            fig,
            list(a["model"]),
            [n],
            _m_text(a, n_functions),
            "error bars: +-1 SE (two-stage cluster bootstrap)",
        )
        _save(fig, png, pdf)


# ---------------------------------------------------------------------------
# Fig. 4 and 7-10: breakdowns by BitLoad / BitDiversity
# ---------------------------------------------------------------------------

_BY_LABEL = {
    "bit_load": "BitLoad of the function",
    "target_diversity": "BitDiversity of the target",
}


def _estimator(breakdown: pd.DataFrame) -> str:
    """The breakdown table's estimator in a few words (its ``estimator`` column)."""
    if "estimator" in breakdown and len(breakdown):
        return str(breakdown["estimator"].iloc[0]).split(":")[0]
    return "mean over functions of per-function means"


def breakdown_comparison(
    breakdown: pd.DataFrame,
    by: str,
    models: Sequence[str],
    png: str,
    pdf: str,
    n_shots: int | None = None,
    trials: int | None = None,
) -> None:
    """Accuracy against ``by`` (bit_load or target_diversity) for a few models at one n
    (paper Fig. 4: Qwen3-14B vs Evo2-40B at n = 128), with bootstrap SEs."""
    n = int(n_shots or breakdown["n_shots"].max())
    b = breakdown[(breakdown["n_shots"] == n) & breakdown["model"].isin(models)]
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, COLUMN_WIDTH * 0.72))
        for i, model in enumerate(models):
            sub = b[b["model"] == model].sort_values(by)
            ax.errorbar(sub[by], sub["accuracy"], yerr=sub["se"], label=model, **style(i))
        ax.set_xlabel(_BY_LABEL.get(by, by))
        _pct_axis(ax, f"accuracy at n = {n} (%)")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False)
        counts = b.groupby(by)["n_functions"].first()
        extra = "functions per level: " + ", ".join(f"{k}: {v}" for k, v in counts.items())
        have = sorted(int(v) for v in counts.index)
        empty = [v for v in range(have[0], have[-1] + 1) if v not in have] if have else []
        if empty:
            extra += f" (none at {', '.join(map(str, empty))})"
        mtxt = _with_trials(_m_from_counts(b["n_prompts"]) + " prompts per point", trials)
        footnote(
            fig,
            list(models),
            [n],
            mtxt,
            f"{extra}; {_estimator(b)}; error bars: +-1 SE (cluster bootstrap by function)",
        )
        _save(fig, png, pdf)


def breakdown_heatmaps(
    breakdown: pd.DataFrame,
    by: str,
    models: Sequence[str],
    png: str,
    pdf: str,
    title: str = "",
    trials: int | None = None,
) -> None:
    """Accuracy by ``by`` (x) and n (y), one greyscale heatmap panel per model with the
    value printed in each cell (paper Figs. 7-10). Each column's label gives what its
    cells rest on (functions, or prompts per cell when the level is a trial
    property); a level between the smallest and the largest that no prompt has is
    drawn as a blank column marked "none", and the footnote names it and gives the
    range of the cells' bootstrap SEs."""
    models = [m for m in models if m in set(breakdown["model"])]
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
            im = _heat(ax, grid.to_numpy(float))
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
            cb.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_pct_label))
        footnote(
            fig,
            models,
            ns,
            _with_trials(
                _m_from_counts(breakdown["n_prompts"]) + " prompts per cell (varies)", trials
            ),
            f"cell: accuracy in % ({_estimator(breakdown)}); under each level: "
            + ("prompts per cell (min-max over n)" if pooled else "functions in the level")
            + f"; SE of a cell {100 * shown['se'].min():.1f}-{100 * shown['se'].max():.1f} pp "
            "(joint cluster bootstrap, bitload/target_diversity.tsv); "
            + (f"none at {by.replace('_', ' ')} = {', '.join(map(str, empty))}; " if empty else "")
            + "blank: no prompts",
        )
        _save(fig, png, pdf)


def _heat(ax, grid: np.ndarray):
    im = ax.imshow(grid, cmap="Greys", vmin=0, vmax=1, aspect="auto", origin="lower")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(
                j,
                i,
                f"{100 * v:.0f}",
                ha="center",
                va="center",
                fontsize=4.5,
                color="white" if v > 0.55 else "black",
            )
    return im


# ---------------------------------------------------------------------------
# Fig. 5: log-linear fits and coefficients vs size
# ---------------------------------------------------------------------------


def loglinear_fits(
    accuracy: pd.DataFrame,
    fits: pd.DataFrame,
    meta: pd.DataFrame | None,
    png: str,
    pdf: str,
    n_functions: int | None = None,
    clustered: pd.DataFrame | None = None,
    models: Sequence[str] | None = None,
) -> None:
    """(a) accuracy vs log2 n with each model's fitted line a0 + a1 log2 n; (b, c) a0
    and a1 (+-SE) against parameters per family, when sizes are known (paper Fig. 5).
    The legend gives the one-sided p of a1 > 0 from the paper's fit over the k shot
    counts (df = k-2) and, with ``clustered`` (clustered_fits.tsv), from the
    trial-level regression with SEs clustered by function (df = functions - 1).
    ``models``: the fits shown (default: every row of ``fits``)."""
    from genomic_icl.stats import p_display

    if models:
        fits = fits[fits["model"].isin(models)]
    models = list(fits["model"])
    trial_p = (
        dict(zip(clustered["model"], clustered["p_value"], strict=True))
        if clustered is not None
        else {}
    )
    meta = _meta_frame(meta, models)
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
            st = style(i)
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
        _log2_axis(ax, ns)
        _pct_axis(ax)
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
                    ax.errorbar(sub["params"], sub[coef], yerr=yerr, label=fam, **style(i))
                ax.set_xscale("log")
                ax.set_xlabel("parameters (log scale)")
                _pct_axis(ax, lab)
                ax.set_title(f"({'bc'[j]}) {coef} vs size")
                ax.legend(frameon=False)
        sub = accuracy[accuracy["model"].isin(models)]
        footnote(
            fig,
            models,
            sub["n_shots"],
            _m_text(sub, n_functions),
            f"a1 in pp per doubling of n; p: one-sided t-test a1 > 0 of the OLS over the {k} "
            f"shot counts (df = {k - 2})"
            + (
                " / of the trial-level OLS, SEs clustered by function (df = functions - 1)"
                if trial_p
                else ""
            )
            + "; a1 error bars: +-1 SE of the shot-count fit; fitted lines end at 0 and 100 %",
        )
        _save(fig, png, pdf)


# ---------------------------------------------------------------------------
# Fig. 6, 11, task heatmap, paired differences
# ---------------------------------------------------------------------------


def mistakes_vs_shots(
    mistakes: pd.DataFrame,
    png: str,
    pdf: str,
    models: Sequence[str] | None = None,
    trials: int | None = None,
) -> None:
    """Understandable mistakes vs n (paper Fig. 6): (a) share of all prompts, (b) share
    of the wrong answers that equal the query output of another function consistent
    with every demonstration."""
    models = _present(models, mistakes)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH * 0.75, 2.3))
        for i, model in enumerate(models):
            sub = mistakes[mistakes["model"] == model].sort_values("n_shots")
            axes[0].plot(sub["n_shots"], sub["share_of_prompts"], label=model, **style(i))
            axes[1].plot(sub["n_shots"], sub["share_of_errors"], label=model, **style(i))
        for ax, lab in zip(
            axes,
            ["understandable mistakes (% of prompts)", "understandable (% of wrong answers)"],
            strict=True,
        ):
            _log2_axis(ax, mistakes["n_shots"])
            _pct_axis(ax, lab)
            ax.set_ylim(bottom=0)
        axes[0].legend(frameon=False, fontsize=5)
        sub = mistakes[mistakes["model"].isin(models)]
        mtxt = _with_trials(_m_from_counts(sub["n_prompts"]) + " prompts per point", trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "understandable: a valid wrong answer equal to the query output of another of "
            "the 100 functions consistent with all demonstrations",
        )
        _save(fig, png, pdf)


def diversity_zero(
    div0: pd.DataFrame,
    png: str,
    pdf: str,
    models: Sequence[str] | None = None,
    trials: int | None = None,
) -> None:
    """Share of predictions with BitDiversity 0 (all-0 or all-1) vs n, per model, with
    the true share of such targets as a thick grey line (paper Fig. 11)."""
    models = _present(models, div0)
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
                **style(i),
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
        _log2_axis(ax, div0["n_shots"])
        _pct_axis(ax, "predictions with BitDiversity 0 (%)")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize=5)
        sub = div0[div0["model"].isin(models)]
        mtxt = _with_trials(_m_from_counts(sub["n_prompts"]) + " prompts per point", trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "invalid predictions count as not BitDiversity 0; error bars: +-1 SE (two-stage "
            "cluster bootstrap by function, exact; diversity_zero.tsv)",
        )
        _save(fig, png, pdf)


def task_heatmap(
    per_task: pd.DataFrame,
    png: str,
    pdf: str,
    n_shots: int | None = None,
    models: Sequence[str] | None = None,
) -> None:
    """Per-task accuracy at one n (default the largest): functions (rows, in the
    table's order) x models (columns), greyscale with values printed."""
    n = int(n_shots or per_task["n_shots"].max())
    t = per_task[per_task["n_shots"] == n]
    models = _present(models, t)
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
        im = _heat(ax, grid)
        ax.invert_yaxis()
        ax.set_xticks(range(len(models)), models, rotation=45, ha="left", rotation_mode="anchor")
        ax.set_yticks(range(len(funcs)), funcs, fontsize=4.2)
        ax.xaxis.tick_top()
        ax.tick_params(axis="x", labelsize=5.5)
        cb = fig.colorbar(im, ax=ax, shrink=0.3, pad=0.02)
        cb.set_label("accuracy (%)")
        cb.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_pct_label))
        footnote(
            fig,
            models,
            [n],
            _m_from_counts(t["n_trials"]) + " trials per cell",
            f"{len(funcs)} functions; per-cell Wilson intervals in per_task.tsv",
        )
        _save(fig, png, pdf)


def paired_differences(
    paired: pd.DataFrame,
    png: str,
    pdf: str,
    pairs: Sequence[Sequence[str]] | None = None,
    trials: int | None = None,
) -> None:
    """Accuracy difference A - B vs n on shared prompts with paired cluster bootstrap
    CIs, one line per pair: ``pairs`` when given (a pair stored as (B, A) is drawn
    negated), else the first 8 pairs of the table."""
    have = set(paired[["model_a", "model_b"]].itertuples(index=False, name=None))
    wanted = [tuple(p) for p in pairs or [] if tuple(p) in have or tuple(p)[::-1] in have]
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
                sub["n_shots"] * jitter, d, yerr=[d - lo, hi - d], label=f"{a} - {b}", **style(i)
            )
        ax.axhline(0, color="0.6", linewidth=0.6)
        _log2_axis(ax, paired["n_shots"])
        _pct_axis(ax, "accuracy difference (pp)")
        ax.legend(frameon=False, fontsize=5)
        models = list(dict.fromkeys(m for p in wanted for m in p))
        footnote(
            fig,
            models,
            paired["n_shots"],
            _with_trials(_m_from_counts(paired["n_pairs"]) + " paired prompts per point", trials),
            "error bars: 95% paired two-stage cluster bootstrap CI",
        )
        _save(fig, png, pdf)


def task_comparison(
    per_task: pd.DataFrame, models: Sequence[str], png: str, pdf: str, n_shots: int | None = None
) -> None:
    """Per-task accuracy of two models at one n (default the largest) against each
    other, one point per function (size = how many functions share the point), with the
    diagonal; the footnote gives a two-sided sign test over the tasks where they differ
    (:func:`genomic_icl.stats.sign_test`, the test of ``sign_test.tsv``; the paper's
    per-task comparison of Qwen3-14B and Evo2-40B at n = 128)."""
    from genomic_icl.stats import sign_test

    a, b = models[:2]
    n = int(n_shots or per_task["n_shots"].max())
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
        _pct_axis(ax, f"{b}: task accuracy at n = {n} (%)")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_pct_label))
        ax.set_xlabel(f"{a}: task accuracy at n = {n} (%)")
        footnote(
            fig,
            [a, b],
            [n],
            _m_from_counts(t["n_trials"]) + " trials per task",
            f"{len(wide)} tasks; {a} higher on {wins_a}, {b} on {wins_b}, tied "
            f"{len(wide) - wins_a - wins_b}; two-sided sign test p = {p:.2g}; "
            "point size/number: tasks at that point",
        )
        _save(fig, png, pdf)


# ---------------------------------------------------------------------------
# in-context loss (beyond the paper)
# ---------------------------------------------------------------------------


def _no_rows(ax: plt.Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no model records {what}", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def in_context_loss(
    in_context_loss: pd.DataFrame,
    png: str,
    pdf: str,
    fits: pd.DataFrame | None = None,
    models: Sequence[str] | None = None,
    baseline: str | None = None,
    trials: int | None = None,
) -> None:
    """(a) In-context loss (bits per target symbol) against n, log-log, one line per
    model with +-1 SE (joint cluster bootstrap), the oracle's posterior predictive on
    the same prompts as the floor (thick grey) and ``baseline`` (e.g. mode) dotted; the
    legend gives each model's slope per doubling of n and the one-sided clustered p of
    a fall (``fits``: in_context_loss_fits.tsv). (b) The excess over the floor, log-log,
    with the fitted power law c n^-alpha where one fits (alpha and its bootstrap interval
    in the legend). A model whose loss is the floor (the oracle) is the floor's line."""
    loss = in_context_loss
    models = _present(models, loss)
    fit = fits.set_index("model") if fits is not None else pd.DataFrame()
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH, 2.6))
        if not models:
            for ax in axes:
                _no_rows(ax, "log-probabilities")
            footnote(fig, [], [], None)
            _save(fig, png, pdf)
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
                kw = style(others.index(model))
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
            _log2_axis(ax, sub["n_shots"])
            ax.set_yscale("log")
            ax.set_title(title)
            ax.legend(frameon=False, fontsize=4.8, loc="lower left")
        axes[0].set_ylabel("in-context loss (bits per target symbol)")
        axes[1].set_ylabel("excess over the oracle (bits per target symbol)")
        mtxt = _with_trials(_m_from_counts(sub["n_prompts"]) + " prompts per point", trials)
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
        _save(fig, png, pdf)


def loss_positions(
    positions: pd.DataFrame,
    png: str,
    pdf: str,
    models: Sequence[str] | None = None,
    trials: int | None = None,
) -> None:
    """Loss per output position (bits of symbol i given the target symbols before it)
    for each model, one line per n (darker = more demonstrations), the oracle's
    posterior predictive on the same prompts as thin dotted lines of the same grey."""
    models = _present(models, positions)
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
            _no_rows(axes[0][0], "per-position log-probabilities")
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
        mtxt = _with_trials(_m_from_counts(sub["n_prompts"]) + " prompts per point", trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "dotted: the oracle's posterior predictive on the same prompts; SEs in "
            "in_context_loss_positions.tsv",
        )
        _save(fig, png, pdf)


def answer_distribution(
    answers: pd.DataFrame,
    png: str,
    pdf: str,
    models: Sequence[str] | None = None,
    trials: int | None = None,
) -> None:
    """From the model's distribution over the 256 valid answers, against n: (a) the
    probability on valid answers, (b) the KL divergence of the renormalised distribution
    from the oracle's posterior predictive (bits per symbol), each +-1 SE (joint
    cluster bootstrap)."""
    models = _present(models, answers)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, 2, figsize=(FULL_WIDTH * 0.75, 2.3))
        if not models:
            for ax in axes:
                _no_rows(ax, "answer log-probabilities")
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
                    **style(i),
                )
        if models:
            _log2_axis(axes[0], answers["n_shots"])
            _log2_axis(axes[1], answers["n_shots"])
            _pct_axis(axes[0], "mass on valid answers (%)")
            axes[0].set_ylim(0, 1.05)
            axes[1].set_ylabel("KL(oracle || model), bits per symbol")
            axes[1].set_ylim(bottom=0)
            axes[0].set_title("(a) probability of a valid answer")
            axes[1].set_title("(b) divergence from the Bayes posterior predictive")
            axes[1].legend(frameon=False, fontsize=5)
        sub = answers[answers["model"].isin(models)]
        mtxt = _with_trials(_m_from_counts(sub["n_prompts"]) + " prompts per point", trials)
        footnote(
            fig,
            models,
            sub["n_shots"],
            mtxt,
            "error bars: +-1 SE (joint two-stage cluster bootstrap); KL of the distribution "
            "renormalised over the 256 valid answers",
        )
        _save(fig, png, pdf)


# ---------------------------------------------------------------------------
# drawing one planned figure (the registry is genomic_icl.figure_registry)
# ---------------------------------------------------------------------------


def plot_function(kind: str) -> Callable[..., None]:
    """The plot function of a registered figure kind, checked against its entry: every
    table and fixed keyword argument of the entry must be a parameter of it."""
    spec = FIGURES[kind]
    plot = globals().get(spec.draw)
    if not callable(plot):
        raise ValueError(f"figure kind {kind!r}: genomic_icl.figures has no function {spec.draw!r}")
    params = inspect.signature(plot).parameters
    unknown = [p for p in [*spec.tables, *spec.kwargs] if p not in params]
    if unknown:
        raise ValueError(
            f"figure kind {kind!r}: {spec.draw}() has no parameter {', '.join(unknown)} "
            "(the entry's tables map a parameter to a table name)"
        )
    return plot


def draw(
    stem: str,
    entry: dict,
    tables: Mapping[str, pd.DataFrame],
    png: str,
    pdf: str,
    meta: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    reference_map: dict | None = None,
    n_functions: int | None = None,
    trials: int | None = None,
) -> None:
    """Draw the figure ``stem`` of :func:`~genomic_icl.figure_registry.figure_plan`
    from the result tables (``tables[name]``, at least those its kind reads) with the
    plot function its registry entry names. Each parameter the plot function has is
    filled, later sources winning, from: this call's context (``png``, ``pdf``,
    ``meta``, ``reference``, ``reference_map``, ``n_functions``, ``trials``), the plan
    entry's keys, the entry's fixed ``kwargs``, and the tables it reads (a table
    missing from ``tables`` is left to the parameter's default)."""
    kind = entry["kind"]
    if kind not in FIGURES:
        raise ValueError(f"figure {stem!r}: unknown figure kind {kind!r}")
    spec = FIGURES[kind]
    plot = plot_function(kind)
    available: dict[str, Any] = {
        "png": png,
        "pdf": pdf,
        "meta": _meta_frame(meta, entry.get("models") or []),
        "reference": reference,
        "reference_map": reference_map,
        "n_functions": n_functions,
        "trials": trials,
        **{k: v for k, v in entry.items() if k != "kind"},
        **spec.kwargs,
        **{param: tables[name] for param, name in spec.tables.items() if name in tables},
    }
    params = inspect.signature(plot).parameters
    missing = [
        name
        for name, p in params.items()
        if p.default is inspect.Parameter.empty and name not in available
    ]
    if missing:
        raise ValueError(
            f"figure {stem!r}: {spec.draw}() needs {', '.join(missing)}, which neither the "
            f"tables of kind {kind!r} ({', '.join(spec.table_names)}), its plan entry nor "
            "the job context provide"
        )
    plot(**{name: value for name, value in available.items() if name in params})


def pretrain_loss(
    loss_tsv: str | Path, png: str | Path, pdf: str | Path | None = None, title: str | None = None
) -> None:
    """Pretraining loss (nats per nucleotide) and the copy probe against step, with
    phase boundaries (the ``loss.tsv`` of :func:`genomic_icl.pretrain.pretrain`)."""
    df = pd.read_csv(loss_tsv, sep="\t")
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.4))
        ax.plot(df["step"], df["loss"], lw=0.4, color="0.75", label="batch loss")
        smooth = df["loss"].rolling(25, min_periods=1).mean()
        ax.plot(df["step"], smooth, lw=1.2, color="0.0", label="running mean (25 steps)")
        probe = df.dropna(subset=["copy_loss"])
        if len(probe):
            ax.plot(
                probe["step"],
                probe["copy_loss"],
                **{**style(1), "markerfacecolor": "white"},
                label="copy probe (2nd copy of random 64-mers)",
            )
        ax.axhline(math.log(4), color="0.5", ls=":", lw=0.8, label="uniform over ACGT (ln 4)")
        for _, g in df.groupby("phase"):
            if g["step"].min() > 1:
                ax.axvline(g["step"].min() - 0.5, color="0.3", ls="-.", lw=0.6)
                ax.text(
                    g["step"].min(),
                    0.98,
                    f"context {int(g['context'].iloc[0])} ",
                    transform=ax.get_xaxis_transform(),
                    va="top",
                    ha="right",
                    fontsize=5.5,
                    color="0.3",
                )
        ax.set_xlabel("training step")
        ax.set_ylabel("next-nucleotide loss (nats)")
        ax.set_title(title or "Pretraining loss")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False)
        fig.tight_layout()
        _save(fig, png, pdf)
