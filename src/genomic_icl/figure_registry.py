"""The figure registry and the plan: which figures a config gets (no plotting here).

One registry entry per figure kind (:func:`figure` on a planning function) holds all
the workflow needs to know about the figure: the tables it reads, the plot function
of :mod:`genomic_icl.figures` that draws it, its report caption and category, and
which files a config gets (the decorated function). ``rules/figures.smk`` makes one
rule per entry (``figure_{kind}``), :func:`figure_plan` calls the planning
functions, and :func:`genomic_icl.figures.draw` calls the plot function.

The workflow imports and runs this module at planning, so it stays pure Python: no
numpy, pandas, matplotlib or scipy (``tests/test_figures.py`` checks; planning runs
where only Snakemake is installed, ``tests/test_lint.py``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from genomic_icl.metadata import model_rows

if TYPE_CHECKING:
    import pandas as pd

    # model metadata: a genomic_icl.metadata.model_metadata table, or its model_rows
    Meta = pd.DataFrame | Sequence[Mapping[str, Any]]

Plan = dict[str, dict[str, Any]]  # file stem -> entry (kind, models and what the kind needs)


@dataclass(frozen=True)
class FigureSpec:
    """One figure kind of the registry.

    - ``draw``: the plot function, ``"module.function"`` in :mod:`genomic_icl.figures`
      (e.g. ``"accuracy.accuracy_vs_shots"``); it takes one
      :class:`genomic_icl.figures.FigureContext`. A name, not the function, so that
      planning never imports matplotlib.
    - ``tables``: role -> table name (``results/tables/{name}.tsv``); the plot
      function reads each as ``ctx.table(role)``.
    - ``caption``: file in ``report/figures/``; ``category``: the report's section.
    - ``plan``: config -> ``{file stem: entry}``, empty when the config lacks the
      models the figure needs; the entry (``models``, ``title``, ...) reaches the plot
      function as ``ctx.entry``.
    """

    kind: str
    draw: str
    tables: Mapping[str, str]
    caption: str
    category: str
    plan: Callable[[PlanContext], Plan]

    @property
    def rule(self) -> str:
        """The workflow rule that draws this kind."""
        return f"figure_{self.kind}"

    @property
    def table_names(self) -> tuple[str, ...]:
        """The tables this kind reads, each once, in order."""
        return tuple(dict.fromkeys(self.tables.values()))


FIGURES: dict[str, FigureSpec] = {}


def figure(
    kind: str,
    *,
    draw: str,
    tables: Sequence[str] | Mapping[str, str],
    caption: str,
    category: str,
) -> Callable[[Callable[[PlanContext], Plan]], Callable[[PlanContext], Plan]]:
    """Register the decorated planning function as figure kind ``kind``, drawn by
    ``draw`` (``"module.function"`` of :mod:`genomic_icl.figures`).

    ``tables``: table names, which the plot function reads under the same names, or a
    mapping role -> table name (``{"breakdown": "bitload"}``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        raise ValueError(f"figure kind {kind!r}: use lower-case letters, digits and _")
    if kind in FIGURES:
        raise ValueError(f"figure kind {kind!r} is registered twice")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", draw):
        raise ValueError(f"figure kind {kind!r}: draw={draw!r} is not 'module.function'")
    table_map = dict(tables) if isinstance(tables, Mapping) else {t: t for t in tables}

    def register(plan: Callable[[PlanContext], Plan]) -> Callable[[PlanContext], Plan]:
        FIGURES[kind] = FigureSpec(kind, draw, table_map, caption, category, plan)
        return plan

    return register


# ---------------------------------------------------------------------------
# what planning knows about the config's models
# ---------------------------------------------------------------------------


def safe_name(text: str) -> str:
    """A file-name-safe form of a family name."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in str(text))


def _rows(meta: Meta) -> list[Mapping[str, Any]]:
    """Model metadata as rows (a table's records, or the rows themselves)."""
    return meta.to_dict("records") if hasattr(meta, "to_dict") else list(meta)


def _given(value: Any) -> bool:
    """Not missing (None or NaN)."""
    return value is not None and value == value


def _own(meta: Meta) -> list[Mapping[str, Any]]:
    """The rows of models that are not reference learners."""
    return [r for r in _rows(meta) if not r["reference"]]


def families(meta: Meta) -> list[str]:
    """Families of non-reference models, in config order."""
    return list(dict.fromkeys(r["family"] for r in _own(meta) if _given(r["family"])))


def sized_families(meta: Meta) -> list[str]:
    """Families with two or more non-reference models of known size (Fig. 3, the
    scaling tables)."""
    sized = Counter(r["family"] for r in _own(meta) if _given(r["family"]) and _given(r["params"]))
    return [family for family, count in sized.items() if count >= 2]


def size_matched_pairs(meta: Meta) -> list[tuple[str, str]]:
    """Pairs across the first two families matched by size: each model of the family
    with fewer sized models is paired with the nearest model (log params) of the
    other (paper Fig. 2c)."""
    fams = families(meta)
    if len(fams) < 2:
        return []
    sized = [r for r in _own(meta) if _given(r["params"])]
    a, b = ([r for r in sized if r["family"] == f] for f in fams[:2])
    if not a or not b:
        return []
    if len(a) > len(b):
        a, b = b, a
    pairs = []
    for r in a:
        near = min(b, key=lambda s: abs(math.log(s["params"]) - math.log(r["params"])))
        pairs.append((near["model"], r["model"]))
    return pairs


def comparison_models(meta: Meta) -> list[str]:
    """The largest model of each of the first two families (paper Fig. 4: Qwen3-14B vs
    Evo2-40B); with one family, its two largest models."""
    fams = families(meta)
    own = _own(meta)

    def by_size(rows: list[Mapping[str, Any]]) -> list[str]:
        """Models from smallest to largest (unknown size first), stable."""
        return [
            r["model"]
            for r in sorted(rows, key=lambda r: r["params"] if _given(r["params"]) else 0)
        ]

    if len(fams) >= 2:
        return [by_size([r for r in own if r["family"] == f])[-1] for f in fams[:2]]
    if len(own) >= 2:
        return by_size(own)[-2:][::-1]
    return []


class PlanContext:
    """The config as the planning functions see it: the model entries, the
    ``figures:`` section, the shot counts and the baseline (``stats.baseline``)."""

    def __init__(
        self,
        models: Sequence[Mapping],
        figures_cfg: Mapping | None = None,
        shots: Sequence[int] = (1,),
        baseline: str = "mode",
    ) -> None:
        self.models = list(models)
        self.cfg = dict(figures_cfg or {})
        self.shots = list(shots)
        self.baseline = baseline

    @cached_property
    def meta(self) -> list[dict[str, Any]]:
        """:func:`genomic_icl.metadata.model_rows` of the models."""
        return model_rows(self.models)

    @cached_property
    def names(self) -> list[str]:
        """Every model, in config order."""
        return [r["model"] for r in self.meta]

    @cached_property
    def reference(self) -> list[str]:
        """The reference learners."""
        return [r["model"] for r in self.meta if r["reference"]]

    @cached_property
    def nonreference(self) -> list[str]:
        """The models that are not reference learners."""
        return [m for m in self.names if m not in self.reference]

    @cached_property
    def families(self) -> list[str]:
        """Families of non-reference models, in config order."""
        return families(self.meta)

    def family_models(self, family: str) -> list[str]:
        """The models of ``family``."""
        return [r["model"] for r in self.meta if r["family"] == family]

    @cached_property
    def pairs(self) -> list[tuple[str, ...]]:
        """``figures.pairs``, else size-matched pairs, of models the config holds."""
        pairs = [tuple(p) for p in self.cfg.get("pairs", [])] or size_matched_pairs(self.meta)
        return [p for p in pairs if all(m in self.names for m in p)]

    @cached_property
    def compare(self) -> list[str]:
        """``figures.compare``, else the largest model of each of two families."""
        chosen = [m for m in self.cfg.get("compare", []) if m in self.names]
        return chosen or comparison_models(self.meta)

    @cached_property
    def groups(self) -> list[tuple[str, list[str]]]:
        """(family, its models) per family, then ("reference", the reference learners)."""
        groups = [(fam, self.family_models(fam)) for fam in self.families]
        if self.reference:
            groups.append(("reference", self.reference))
        return groups


# ---------------------------------------------------------------------------
# the registry: one entry per figure kind (docs/extending.md, "Add a figure")
# ---------------------------------------------------------------------------


@figure(
    "accuracy",
    draw="accuracy.accuracy_vs_shots",
    tables=("accuracy",),
    caption="accuracy_vs_shots.rst",
    category="Accuracy",
)
def _plan_accuracy(c: PlanContext) -> Plan:
    return {"accuracy_vs_shots": {"models": c.names, "title": "Accuracy vs demonstrations"}}


@figure(
    "family",
    draw="accuracy.accuracy_vs_shots",
    tables=("accuracy", "paired"),
    caption="fig2_family.rst",
    category="Accuracy",
)
def _plan_family(c: PlanContext) -> Plan:
    plan = {}
    for fam in c.families:
        ms = c.family_models(fam)
        entry: dict[str, Any] = {"family": fam, "models": ms}
        if c.baseline in c.names:  # drawn as a dotted line, not as one of the family
            entry["models"] = ms + [b for b in [c.baseline] if b not in ms]
            entry["baseline"] = c.baseline
        entry["title"] = f"{fam}: accuracy vs demonstrations"
        plan[f"fig2_accuracy_{safe_name(fam)}"] = entry
    return plan


@figure(
    "pairs",
    draw="sizes.pairs_vs_shots",
    tables=("accuracy",),
    caption="fig2c_size_matched.rst",
    category="Accuracy",
)
def _plan_pairs(c: PlanContext) -> Plan:
    if not c.pairs:
        return {}
    return {
        "fig2c_size_matched": {
            "pairs": [list(p) for p in c.pairs],
            "models": [m for p in c.pairs for m in p],
        }
    }


@figure(
    "family_means",
    draw="sizes.family_means",
    tables={"accuracy": "accuracy", "means": "family_means"},
    caption="fig2d_family_means.rst",
    category="Accuracy",
)
def _plan_family_means(c: PlanContext) -> Plan:
    # a family of one model would redraw that model's Fig. 2: only families of 2+
    if not any(len(c.family_models(fam)) >= 2 for fam in c.families):
        return {}
    models = c.nonreference + c.reference
    return {"fig2d_family_means": {"models": models, "baseline": c.baseline}}


@figure(
    "params",
    draw="sizes.accuracy_vs_params",
    tables=("accuracy", "scaling"),
    caption="fig3_accuracy_vs_params.rst",
    category="Scaling",
)
def _plan_params(c: PlanContext) -> Plan:
    if not sized_families(c.meta):
        return {}
    sized = [r for r in _own(c.meta) if _given(r["params"]) and _given(r["family"])]
    return {"fig3_accuracy_vs_params": {"models": [r["model"] for r in sized]}}


@figure(
    "bitload_comparison",
    draw="breakdowns.breakdown_comparison",
    tables={"breakdown": "bitload"},
    caption="fig4_bitload_comparison.rst",
    category="Breakdowns",
)
def _plan_bitload_comparison(c: PlanContext) -> Plan:
    if len(c.compare) < 2:
        return {}
    return {"fig4_bitload_comparison": {"models": c.compare, "by": "bit_load"}}


@figure(
    "task_comparison",
    draw="comparisons.task_comparison",
    tables=("per_task",),
    caption="task_comparison.rst",
    category="Comparisons",
)
def _plan_task_comparison(c: PlanContext) -> Plan:
    return {"task_comparison": {"models": c.compare[:2]}} if len(c.compare) >= 2 else {}


@figure(
    "fits",
    draw="fits.loglinear_fits",
    tables={"accuracy": "accuracy", "fits": "fits", "clustered": "clustered_fits"},
    caption="fig5_loglinear_fits.rst",
    category="Scaling",
)
def _plan_fits(c: PlanContext) -> Plan:
    return {"fig5_loglinear_fits": {"models": c.names}} if len(set(c.shots)) >= 2 else {}


@figure(
    "mistakes",
    draw="errors.mistakes_vs_shots",
    tables=("mistakes",),
    caption="fig6_understandable_mistakes.rst",
    category="Errors",
)
def _plan_mistakes(c: PlanContext) -> Plan:
    models = [m for m in c.cfg.get("mistakes_models", []) if m in c.names] or c.names
    return {"fig6_understandable_mistakes": {"models": models}}


@figure(
    "breakdown_bitload",
    draw="breakdowns.breakdown_heatmaps",
    tables={"breakdown": "bitload"},
    caption="fig7_10_breakdown.rst",
    category="Breakdowns",
)
def _plan_breakdown_bitload(c: PlanContext) -> Plan:
    return {
        f"fig7-10_bitload_{safe_name(fam)}": {
            "models": ms,
            "family": fam,
            "by": "bit_load",
            "title": f"{fam}: accuracy by BitLoad and n",
        }
        for fam, ms in c.groups
    }


@figure(
    "breakdown_diversity",
    draw="breakdowns.breakdown_heatmaps",
    tables={"breakdown": "target_diversity"},
    caption="fig7_10_breakdown.rst",
    category="Breakdowns",
)
def _plan_breakdown_diversity(c: PlanContext) -> Plan:
    return {
        f"fig7-10_diversity_{safe_name(fam)}": {
            "models": ms,
            "family": fam,
            "by": "target_diversity",
            "title": f"{fam}: accuracy by target BitDiversity and n",
        }
        for fam, ms in c.groups
    }


@figure(
    "diversity_zero",
    draw="errors.diversity_zero",
    tables={"div0": "diversity_zero"},
    caption="fig11_diversity_zero.rst",
    category="Errors",
)
def _plan_diversity_zero(c: PlanContext) -> Plan:
    return {"fig11_diversity_zero": {"models": c.names}}


@figure(
    "task_heatmap",
    draw="comparisons.task_heatmap",
    tables=("per_task",),
    caption="task_heatmap.rst",
    category="Breakdowns",
)
def _plan_task_heatmap(c: PlanContext) -> Plan:
    return {"task_heatmap": {"models": c.nonreference + c.reference}}


@figure(
    "paired",
    draw="comparisons.paired_differences",
    tables=("paired",),
    caption="paired_differences.rst",
    category="Comparisons",
)
def _plan_paired(c: PlanContext) -> Plan:
    if len(c.names) < 2:
        return {}
    return {"paired_differences": {"models": c.names, "pairs": [list(p) for p in c.pairs]}}


@figure(
    "in_context_loss",
    draw="loss.in_context_loss",
    tables={"in_context_loss": "in_context_loss", "fits": "in_context_loss_fits"},
    caption="in_context_loss.rst",
    category="In-context loss",
)
def _plan_in_context_loss(c: PlanContext) -> Plan:
    return {"in_context_loss": {"models": c.names, "baseline": c.baseline}}


@figure(
    "loss_positions",
    draw="loss.loss_positions",
    tables={"positions": "in_context_loss_positions"},
    caption="in_context_loss_positions.rst",
    category="In-context loss",
)
def _plan_loss_positions(c: PlanContext) -> Plan:
    return {"in_context_loss_positions": {"models": c.nonreference + c.reference}}


@figure(
    "answer_distribution",
    draw="loss.answer_distribution",
    tables={"answers": "answer_distribution"},
    caption="answer_distribution.rst",
    category="In-context loss",
)
def _plan_answer_distribution(c: PlanContext) -> Plan:
    return {"answer_distribution": {"models": c.names}}


# ---------------------------------------------------------------------------
# the plan and what the rules need from it
# ---------------------------------------------------------------------------


def figure_plan(
    models: Sequence[Mapping],
    figures_cfg: Mapping | None = None,
    shots: Sequence[int] = (1,),
    baseline: str = "mode",
) -> dict[str, dict]:
    """The figures a config gets: ``{file stem: {"kind", "models", ...}}``, from every
    entry of :data:`FIGURES`. A figure appears only when the config holds the models
    it needs (e.g. Fig. 2c needs two families with sizes, Fig. 3 a family with two
    sized models). ``baseline`` (the config's ``stats.baseline``) is the dotted line
    of the family figures and of Fig. 2d."""
    context = PlanContext(models, figures_cfg, shots, baseline)
    plan: dict[str, dict] = {}
    for kind, spec in FIGURES.items():
        for stem, entry in spec.plan(context).items():
            if stem in plan:
                raise ValueError(
                    f"figure {stem!r} is planned by both {plan[stem]['kind']!r} and {kind!r}"
                )
            plan[stem] = {"kind": kind, **entry}
    return plan


def empty_tables(
    models: Sequence[Mapping], baseline: str = "mode", comparisons: Any = "all"
) -> list[str]:
    """The tables of ``rules/stats.smk`` that a config's models leave without rows
    (the report lists only the others): ``vs_mode`` without the baseline and another
    model; ``paired`` and ``sign_test`` without two models (or a listed pair)
    present; ``family_means`` without a non-reference model of a family; ``scaling`` and
    ``fits_vs_size`` without a family of two sized non-reference models."""
    rows = model_rows(models)
    names = {r["model"] for r in rows}
    own = [r for r in _own(rows) if _given(r["family"])]
    positive = [r for r in own if _given(r["params"]) and r["params"] > 0]
    if comparisons == "all":
        has_pair = len(names) >= 2
    else:
        has_pair = any(all(m in names for m in pair) for pair in comparisons or [])
    empty = {
        "vs_mode": baseline not in names or len(names) < 2,
        "paired": not has_pair,
        "sign_test": not has_pair,
        "family_means": not own,
        "scaling": not sized_families(positive),
        "fits_vs_size": not sized_families(positive),
    }
    return [name for name, is_empty in empty.items() if is_empty]


def figure_inputs(kind: str, tables_dir: str = "results/tables") -> dict[str, str]:
    """The table paths a figure kind reads, keyed by table name (workflow input)."""
    return {name: f"{tables_dir}/{name}.tsv" for name in FIGURES[kind].table_names}


def stem_choices(plan: Mapping[str, Mapping], kind: str) -> str:
    """A wildcard regex of the planned stems of ``kind`` (never matches when none is
    planned), so that each figure file has exactly one rule."""
    stems = [stem for stem, entry in plan.items() if entry["kind"] == kind]
    return "|".join(re.escape(s) for s in stems) or "$^"
