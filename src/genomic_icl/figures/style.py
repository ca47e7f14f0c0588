"""The house style every plot function uses: sizes, series styles, axes, footnote, save.

One paper column (:data:`COLUMN_WIDTH`, 3.4 in; :data:`FULL_WIDTH` 7.0 in for
full-width figures); greyscale readable (each series has its own marker and line
style besides its grey level, :func:`series_style`); drawn inside
``with plt.rc_context(RC):``; written by :func:`save` as PNG (300 dpi) and PDF with
fixed metadata, so the bytes do not depend on the date. Every figure states in a
:func:`footnote` the models, shot counts n and trials m it shows (:func:`m_text`,
:func:`prompts_text`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

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


def series_style(i: int) -> dict:
    """Plot keywords of the i-th series: grey level, marker and line style."""
    return {
        "color": GREYS[i % len(GREYS)],
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
    }


def save(fig: plt.Figure, png: str | Path, pdf: str | Path | None) -> None:
    """Write ``fig`` as PNG (and PDF unless ``pdf`` is None) with fixed metadata, so
    the bytes are the same on every run, and close it."""
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


def format_n(ns: Sequence[int]) -> str:
    """Shot counts in a few characters: ``1..128 (x2)`` for doublings, else a list."""
    ns = sorted({int(n) for n in ns})
    if not ns:
        return "-"
    if len(ns) > 2 and all(b == 2 * a for a, b in zip(ns, ns[1:], strict=False)):
        return f"{ns[0]}..{ns[-1]} (x2)"
    return ",".join(str(n) for n in ns)


def footnote(
    fig: plt.Figure, models: Sequence[str], ns: Sequence[int], m: str | int | None, extra: str = ""
) -> None:
    """State the models, shot counts and trials a figure shows, under the axes.
    ``m``: the trials (a number, or a text from :func:`m_text` / :func:`prompts_text`);
    ``extra``: what the marks mean (error bars, tests)."""
    if m is None:
        mtxt = ""
    elif isinstance(m, str) and "trials" not in m:
        mtxt = m  # e.g. "800 prompts per point": the trials per function are not known
    else:
        mtxt = f"m = {m}"
    text = f"models: {', '.join(models)}\nn = {format_n(ns)}; {mtxt}"
    if extra:
        text += f"; {extra}"
    width = int(fig.get_figwidth() * 26)
    text = "\n".join(textwrap.fill(line, width) for line in text.split("\n"))
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.text(0.01, 0.0, text, ha="left", va="top", fontsize=5.2, color="0.2")


def m_text(table: pd.DataFrame, n_functions: int | None = None) -> str | None:
    """'m' from a table with n_prompts (and optionally the number of functions)."""
    if "n_prompts" not in table or table.empty:
        return None
    p = sorted(set(table["n_prompts"].astype(int)))
    ptxt = "/".join(str(x) for x in p)
    if n_functions:
        ms = sorted({x // n_functions for x in p})
        return f"{'/'.join(map(str, ms))} trials x {n_functions} functions ({ptxt} prompts/point)"
    return f"{ptxt} prompts per point"


def counts_text(counts: Sequence[int]) -> str:
    """Distinct counts joined by '/': ``[800, 800, 400]`` -> ``400/800``."""
    c = sorted({int(x) for x in counts})
    return "/".join(map(str, c))


def prompts_text(counts: Sequence[int], trials: int | None, what: str = "prompts per point") -> str:
    """The footnote's m from prompt counts, with the configured trials m when known:
    ``3 trials per function and n (400/800 prompts per point)``."""
    text = f"{counts_text(counts)} {what}"
    return f"{trials} trials per function and n ({text})" if trials else text


def log2_axis(ax: plt.Axes, ns: Sequence[int]) -> None:
    """The shot counts ``ns`` on a log2 x axis, each one a labelled tick."""
    ns = sorted({int(n) for n in ns})
    ax.set_xscale("log", base=2)
    if ns:
        ax.set_xticks(ns)
        ax.set_xticklabels([str(n) for n in ns])
        ax.set_xlim(ns[0] / 1.3, ns[-1] * 1.3)
    ax.minorticks_off()
    ax.set_xlabel("demonstrations n (log2 scale)")


def pct_label(v: float, _pos: object = None) -> str:
    """A fraction as a percent tick label without float noise: 0.325 -> '32.5'."""
    return f"{round(100 * v, 6):g}"


def pct_axis(ax: plt.Axes, label: str = "accuracy (%)") -> None:
    """Fractions on the y axis, labelled in percent."""
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(pct_label))
    ax.set_ylabel(label)


def present(models: Sequence[str] | None, table: pd.DataFrame) -> list[str]:
    """The requested models (default: all, in table order) that ``table`` holds."""
    held = list(pd.unique(table["model"]))
    return held if models is None else [m for m in models if m in set(held)]


def heatmap(ax: plt.Axes, grid: np.ndarray):
    """A greyscale heatmap of fractions (0-1) with each cell's percent printed; returns
    the image (for a colour bar)."""
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


def no_rows(ax: plt.Axes, what: str) -> None:
    """An empty panel that says no model records ``what``."""
    ax.text(0.5, 0.5, f"no model records {what}", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
