"""The table registry: every statistics table the workflow writes (no statistics here).

One entry per table (:func:`table`) holds all the workflow needs to know about it:
its builder, its report caption, and the columns that identify a row. A builder is
a function of :mod:`genomic_icl.stats` that computes a group of tables from the same
inputs and returns ``{table name: DataFrame}`` with exactly the tables registered
for it. ``rules/stats.smk`` derives each rule's outputs from the entries of the
builder it runs (:func:`tables_of`), and ``STATS_TARGETS`` from every entry;
:func:`genomic_icl.stats.write_tables` (the rules' writer) and
:func:`genomic_icl.stats.compute_all` refuse a builder that returns another set of
tables (:func:`check_built`); the report lists each table under "Tables" with its
caption (``report/tables/``); the tests iterate :data:`TABLES`.

The workflow imports this module at planning, so it stays light: the standard
library only (``test_planning_imports_no_plotting_and_no_scipy`` in
``tests/test_figures.py`` imports every module the rule files import).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TABLES_DIR = "results/tables"


@dataclass(frozen=True)
class TableSpec:
    """One table of the registry.

    - ``builder``: name of the function of :mod:`genomic_icl.stats` that returns this
      table among its ``{name: DataFrame}``; one workflow rule runs each builder.
    - ``caption``: file in ``report/tables/``, naming the test behind the table.
    - ``keys``: the columns that identify a row (the tests check they are present
      and that no two rows share them).
    """

    name: str
    builder: str
    caption: str
    keys: tuple[str, ...]

    @property
    def path(self) -> str:
        """The file the workflow writes: ``results/tables/{name}.tsv``."""
        return f"{TABLES_DIR}/{self.name}.tsv"


TABLES: dict[str, TableSpec] = {}

_NAME = re.compile(r"[a-z][a-z0-9_]*")


def table(name: str, *, builder: str, caption: str, keys: Sequence[str]) -> TableSpec:
    """Register table ``name``, returned by the :mod:`genomic_icl.stats` function
    ``builder``, with its caption file in ``report/tables/`` and the columns
    ``keys`` that identify a row. Refuses, naming the table, an entry without a
    builder, a caption or keys, and a name registered twice."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"table name {name!r}: use lower-case letters, digits and _")
    if name in TABLES:
        raise ValueError(f"table {name!r} is registered twice")
    if not isinstance(builder, str) or not builder.isidentifier():
        raise ValueError(
            f"table {name!r}: builder {builder!r} must name the genomic_icl.stats "
            "function that returns it"
        )
    if not isinstance(caption, str) or not caption.endswith(".rst"):
        raise ValueError(
            f"table {name!r}: caption {caption!r} must name its .rst file in report/tables/"
        )
    if isinstance(keys, str) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"table {name!r}: keys must list the columns that identify a row")
    spec = TableSpec(name, builder, caption, tuple(keys))
    TABLES[name] = spec
    return spec


def tables_of(builder: str) -> tuple[str, ...]:
    """The tables registered for ``builder``, in registry order."""
    names = tuple(n for n, spec in TABLES.items() if spec.builder == builder)
    if not names:
        raise ValueError(f"no table of the registry has builder {builder!r}")
    return names


def builders() -> tuple[str, ...]:
    """Every builder of the registry, once, in registry order."""
    return tuple(dict.fromkeys(spec.builder for spec in TABLES.values()))


def check_built(builder: str, names: Iterable[str]) -> None:
    """Refuse what ``builder`` returned unless it is exactly the tables registered for
    it (``names``: the keys of its ``{name: DataFrame}``)."""
    got, want = list(names), tables_of(builder)
    extra = [n for n in got if n not in want]
    missing = [n for n in want if n not in got]
    if extra or missing:
        parts = []
        if extra:
            owner = {n: TABLES[n].builder for n in extra if n in TABLES}
            named = ", ".join(
                f"{n!r}" + (f" (a table of {owner[n]})" if n in owner else "") for n in extra
            )
            parts.append(f"returned {named}, not registered for it")
        if missing:
            parts.append(f"did not return {', '.join(map(repr, missing))}")
        raise ValueError(
            f"table builder {builder}: {'; '.join(parts)} (genomic_icl/table_registry.py)"
        )


# ---------------------------------------------------------------------------
# the registry: one entry per table (docs/extending.md, "Add a table"), grouped by
# builder in the order of the workflow's rules
# ---------------------------------------------------------------------------

# the accuracy rule: the joint bootstrap's own table
table("accuracy", builder="bootstrap_tables", caption="accuracy.rst", keys=("model", "n_shots"))

# stats_fits: from accuracy.tsv and the joint replicates
table("fits", builder="accuracy_tables", caption="fits.rst", keys=("model",))
table(
    "fits_vs_size",
    builder="accuracy_tables",
    caption="fits_vs_size.rst",
    keys=("family", "coefficient"),
)
table("vs_mode", builder="accuracy_tables", caption="vs_mode.rst", keys=("model", "n_shots"))
table("scaling", builder="accuracy_tables", caption="scaling.rst", keys=("family", "n_shots"))
table(
    "family_means",
    builder="accuracy_tables",
    caption="family_means.rst",
    keys=("family", "n_shots"),
)

# stats_trials: from the scored trials, no bootstrap
table("clustered_fits", builder="trial_tables", caption="clustered_fits.rst", keys=("model",))
table(
    "per_task",
    builder="trial_tables",
    caption="per_task.rst",
    keys=("model", "n_shots", "function"),
)
table("mistakes", builder="trial_tables", caption="mistakes.rst", keys=("model", "n_shots"))
table(
    "diversity_zero",
    builder="trial_tables",
    caption="diversity_zero.rst",
    keys=("model", "n_shots"),
)
table("power", builder="trial_tables", caption="power.rst", keys=("p0",))

# stats_breakdowns: from the scored trials, with bootstrap SEs
table(
    "bitload",
    builder="breakdown_tables",
    caption="bitload.rst",
    keys=("model", "n_shots", "bit_load"),
)
table(
    "target_diversity",
    builder="breakdown_tables",
    caption="target_diversity.rst",
    keys=("model", "n_shots", "target_diversity"),
)

# stats_paired: the compared pairs (stats.comparisons)
table(
    "paired",
    builder="comparison_tables",
    caption="paired.rst",
    keys=("model_a", "model_b", "n_shots"),
)
table(
    "sign_test",
    builder="comparison_tables",
    caption="sign_test.rst",
    keys=("model_a", "model_b", "n_shots"),
)

# stats_loss: the in-context loss
table(
    "in_context_loss",
    builder="loss_tables",
    caption="in_context_loss.rst",
    keys=("model", "n_shots"),
)
table(
    "in_context_loss_positions",
    builder="loss_tables",
    caption="in_context_loss_positions.rst",
    keys=("model", "n_shots", "position"),
)
table(
    "in_context_loss_fits",
    builder="loss_tables",
    caption="in_context_loss_fits.rst",
    keys=("model",),
)
table(
    "answer_distribution",
    builder="loss_tables",
    caption="answer_distribution.rst",
    keys=("model", "n_shots"),
)
