"""What a plot function receives, :class:`FigureContext`, and :func:`draw`, which
builds it for one planned figure and calls the plot function its entry in
:mod:`genomic_icl.figure_registry` points at."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genomic_icl.figure_registry import FIGURES


@dataclass(frozen=True)
class FigureContext:
    """One figure to draw: its files, tables, plan entry and what the job knows.

    - ``png``, ``pdf``: the files to write (``pdf`` None: PNG only).
    - ``tables``: result tables keyed by the role the registry entry gives them
      (``tables={"breakdown": "bitload"}`` -> ``ctx.table("breakdown")``).
    - ``entry``: the plan entry of :func:`~genomic_icl.figure_registry.figure_plan`
      (``kind``, ``models``, ``title``, ``baseline``, ``pairs``, ``by``, ...).
    - ``meta``: the model table of :func:`genomic_icl.metadata.model_metadata`; when
      None, the entry's models without family or size.
    - ``reference``, ``reference_map``: published curves to overlay and names to
      match them by (``reference_curves``, ``figures.reference_names``).
    - ``n_functions``, ``trials``: the config's functions and trials m.
    """

    png: str | Path
    pdf: str | Path | None
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    entry: Mapping[str, Any] = field(default_factory=dict)
    stem: str = ""
    meta: pd.DataFrame | None = None
    reference: pd.DataFrame | None = None
    reference_map: Mapping[str, str] | None = None
    n_functions: int | None = None
    trials: int | None = None

    def __post_init__(self) -> None:
        if self.meta is None:
            models = list(self.entry.get("models") or [])
            meta = pd.DataFrame(
                {"model": models, "family": None, "params": np.nan, "reference": False}
            )
            object.__setattr__(self, "meta", meta)

    def table(self, role: str) -> pd.DataFrame:
        """The table of ``role``; a clear error when the job did not pass it."""
        if role not in self.tables:
            have = ", ".join(self.tables) or "none"
            raise ValueError(f"figure {self.stem!r}: needs the table {role!r} (given: {have})")
        return self.tables[role]

    def optional_table(self, role: str) -> pd.DataFrame | None:
        """The table of ``role``, or None when the job did not pass it."""
        return self.tables.get(role)

    def value(self, key: str) -> Any:
        """A key the plot function needs from the plan entry; a clear error without it."""
        if key not in self.entry:
            raise ValueError(f"figure {self.stem!r}: its plan entry has no {key!r}")
        return self.entry[key]

    @property
    def models(self) -> list[str] | None:
        """The entry's models (None: every model of the table)."""
        models = self.entry.get("models")
        return None if models is None else list(models)

    @property
    def title(self) -> str:
        """The entry's title ('' for none)."""
        return str(self.entry.get("title", ""))

    @property
    def baseline(self) -> str | None:
        """The entry's baseline (stats.baseline), drawn as a dotted line."""
        return self.entry.get("baseline")

    @property
    def pairs(self) -> list[tuple[str, ...]]:
        """The entry's model pairs."""
        return [tuple(p) for p in self.entry.get("pairs") or []]


PlotFunction = Callable[[FigureContext], None]


def plot_function(kind: str) -> PlotFunction:
    """The plot function a registered figure kind points at (``draw="module.function"``
    in :mod:`genomic_icl.figures`), checked to take one :class:`FigureContext`."""
    spec = FIGURES[kind]
    module, _, name = spec.draw.rpartition(".")
    try:
        plot = getattr(importlib.import_module(f"genomic_icl.figures.{module}"), name)
    except (ImportError, AttributeError, ValueError):
        plot = None
    if not callable(plot):
        raise ValueError(f"figure kind {kind!r}: genomic_icl.figures has no {spec.draw!r}")
    if len(inspect.signature(plot).parameters) != 1:
        raise ValueError(f"figure kind {kind!r}: {spec.draw}() must take one FigureContext")
    return plot


def draw(
    stem: str,
    entry: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    png: str | Path,
    pdf: str | Path | None,
    meta: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    reference_map: Mapping[str, str] | None = None,
    n_functions: int | None = None,
    trials: int | None = None,
) -> None:
    """Draw the figure ``stem`` of :func:`~genomic_icl.figure_registry.figure_plan`
    from the result tables (``tables[name]``, at least those its kind reads) with the
    plot function its registry entry points at, given a :class:`FigureContext` whose
    tables are keyed by the roles of the entry."""
    kind = entry["kind"]
    if kind not in FIGURES:
        raise ValueError(f"figure {stem!r}: unknown figure kind {kind!r}")
    spec = FIGURES[kind]
    plot = plot_function(kind)
    roles = {role: tables[name] for role, name in spec.tables.items() if name in tables}
    plot(
        FigureContext(
            png=png,
            pdf=pdf,
            tables=roles,
            entry=entry,
            stem=stem,
            meta=meta,
            reference=reference,
            reference_map=reference_map,
            n_functions=n_functions,
            trials=trials,
        )
    )
