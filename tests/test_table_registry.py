"""The table registry drives the statistics: every entry has a builder of
genomic_icl.stats, a caption and key columns; the builders return exactly their
registered tables; stats.smk derives its outputs from it. And the sign test that
sign_test.tsv and the task_comparison figure share."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from conftest import REPO
from genomic_icl import stats as S
from genomic_icl import table_registry as T
from genomic_icl.figure_registry import empty_tables
from synthetic import synthetic_scored, with_answer_distributions

MODELS = [
    {"name": "dna-s", "backend": "hf", "family": "DNA", "params": 1e6},
    {"name": "dna-l", "backend": "hf", "family": "DNA", "params": 4e6},
    {"name": "mode", "backend": "reference", "checkpoint": "mode"},
]
FUNCS = ["identity", "rotl1", "majority", "meta_constant", "parity_fill", "left_half"]


@pytest.fixture(scope="module")
def tables():
    scored = synthetic_scored(
        models=[m["name"] for m in MODELS],
        shots=(1, 4),
        trials=3,
        functions=FUNCS,
        a0=0.2,
        a1=[0.02, 0.08, 0.0],
        seed=4,
    )
    scored = with_answer_distributions(scored, {"dna-l": lambda n: 0.8, "mode": lambda n: 1.0})
    return S.compute_all(scored, S.model_metadata(MODELS), replicates=50, trials=3)


# --------------------------------------------------------------------------- the registry
def test_every_entry_has_a_builder_a_caption_and_its_keys(tables):
    assert list(tables) == list(T.TABLES)
    for name, spec in T.TABLES.items():
        assert callable(getattr(S, spec.builder, None)), f"{name}: builder {spec.builder}"
        assert (REPO / "report" / "tables" / spec.caption).is_file(), f"{name}: caption"
        table = tables[name]
        assert set(spec.keys) <= set(table.columns), f"{name}: keys {spec.keys}"
        assert not table.empty, name
        assert not table.duplicated(list(spec.keys)).any(), f"{name}: keys repeat"
    # the tables a config can leave empty are tables of the registry
    reference_only = [m for m in MODELS if m["backend"] == "reference"]
    assert set(empty_tables(reference_only)) <= set(T.TABLES)
    # every caption file belongs to a table of the registry
    captions = {spec.caption for spec in T.TABLES.values()}
    assert {p.name for p in (REPO / "report" / "tables").glob("*.rst")} == captions


def test_stats_rules_take_their_outputs_from_the_registry():
    """Each builder of the registry is one rule's outputs in stats.smk, and no rule
    names a table by hand."""
    smk = (REPO / "rules" / "stats.smk").read_text()
    used = re.findall(r'\*\*table_outputs\("(\w+)"\)', smk)
    assert sorted(used) == sorted(T.builders())
    assert "table_output(" not in smk and '"results/tables/' not in smk
    blocks = re.findall(r"\n    output:\n(.*?)\n    \w+:", smk, re.S)
    assert len(blocks) == len(used)
    for block in blocks:  # each rule's outputs: its builder's tables, and the replicates
        for line in block.splitlines():
            line = line.strip()
            assert line.startswith("**table_outputs(") or line == "replicates=REPLICATES,", (
                f"an output by hand in stats.smk: {line}"
            )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"builder": "", "caption": "new.rst"}, "builder '' must name"),
        ({"builder": None, "caption": "new.rst"}, "builder None must name"),
        ({"builder": "trial_tables", "caption": ""}, "caption '' must name its .rst"),
        ({"builder": "trial_tables", "caption": None}, "caption None must name"),
        ({"builder": "trial_tables", "caption": "new.rst", "keys": ()}, "keys must list"),
    ],
)
def test_an_entry_without_builder_caption_or_keys_is_refused(monkeypatch, kwargs, message):
    monkeypatch.setattr(T, "TABLES", dict(T.TABLES))
    with pytest.raises(ValueError, match=f"table 'new': {re.escape(message)}"):
        T.table("new", **{"keys": ("model",), **kwargs})
    assert "new" not in T.TABLES
    with pytest.raises(ValueError, match="'paired' is registered twice"):
        T.table("paired", builder="comparison_tables", caption="paired.rst", keys=("model",))
    with pytest.raises(ValueError, match="table name 'New-table'"):
        T.table("New-table", builder="trial_tables", caption="x.rst", keys=("model",))


def test_a_builder_returning_another_table_name_is_refused(tables, tmp_path):
    """The writer of the rules refuses a builder's tables unless they are exactly its
    registered ones, naming the builder and the tables, and writes nothing."""
    built = {name: tables[name] for name in T.tables_of("trial_tables")}
    outputs = {name: str(tmp_path / f"{name}.tsv") for name in built}
    renamed = {("tasks" if k == "per_task" else k): v for k, v in built.items()}
    refused = "trial_tables: returned 'tasks', not registered for it; did not return 'per_task'"
    with pytest.raises(ValueError, match=re.escape(refused)):
        S.write_tables("trial_tables", renamed, outputs)
    other = {**built, "paired": tables["paired"]}
    with pytest.raises(ValueError, match=r"'paired' \(a table of comparison_tables\)"):
        S.write_tables("trial_tables", other, outputs)
    with pytest.raises(ValueError, match="the rule has no output named power"):
        S.write_tables("trial_tables", built, {k: v for k, v in outputs.items() if k != "power"})
    assert not list(tmp_path.iterdir())
    S.write_tables("trial_tables", built, outputs)
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted(built)
    with pytest.raises(ValueError, match="no table of the registry has builder 'nope'"):
        T.tables_of("nope")


# --------------------------------------------------------------------------- the sign test
def test_sign_test_hand_made_and_binomtest():
    a = [0.5, 0.75, 1.0, 0.25, 0.5, 0.0, 1.0, 0.75]
    b = [0.25, 0.75, 0.5, 0.0, 0.5, 0.25, 0.0, 0.5]
    # A higher on 5 tasks, B on 1, tied on 2: p = 2 P(X <= 1), X ~ Bin(6, 1/2) = 14/64
    assert S.sign_test(a, b) == S.SignTest(8, 5, 1, 2, 14 / 64)
    assert S.sign_test(b, a) == S.SignTest(8, 1, 5, 2, 14 / 64)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.integers(0, 5, 30) / 4, rng.integers(0, 5, 30) / 4
        s = S.sign_test(x, y)
        k, n = int((x > y).sum()), int((x != y).sum())
        assert (s.wins_a, s.wins_b, s.ties) == (k, n - k, 30 - n)
        assert s.p_value == binomtest(k, n, 0.5, alternative="two-sided").pvalue
    assert np.isnan(S.sign_test([0.5, 1.0], [0.5, 1.0]).p_value)
    with pytest.raises(ValueError, match="3 accuracies of A but 2 of B"):
        S.sign_test([0.1, 0.2, 0.3], [0.1, 0.2])


def test_sign_test_table_rows_per_compared_pair_and_n():
    rows = []
    acc = {  # per (model, n): accuracy of tasks f0..f3
        ("x", 1): [0.5, 0.5, 1.0, 0.0],
        ("y", 1): [0.25, 0.5, 0.75, 0.0],
        ("z", 1): [1.0, 1.0, 1.0, 1.0],
        ("x", 2): [0.5, 0.5, 1.0, 0.25],
        ("y", 2): [0.75, 0.75, 1.0, 0.5],
        ("z", 2): [0.0, 1.0, 1.0, 1.0],
    }
    for (model, n), values in acc.items():
        rows += [{"model": model, "n_shots": n, "function": f"f{i}", "accuracy": v}
                 for i, v in enumerate(values)]  # fmt: skip
    per_task = pd.DataFrame(rows)
    per_task = per_task[~((per_task["model"] == "z") & (per_task["function"] == "f3"))]
    table = S.sign_test_table(per_task)
    assert list(table[["model_a", "model_b", "n_shots"]].itertuples(index=False, name=None)) == [
        ("x", "y", 1), ("x", "y", 2), ("x", "z", 1), ("x", "z", 2), ("y", "z", 1), ("y", "z", 2)
    ]  # fmt: skip
    r = table.set_index(["model_a", "model_b", "n_shots"])
    assert tuple(r.loc[("x", "y", 1), ["n_tasks", "wins_a", "wins_b", "ties"]]) == (4, 2, 0, 2)
    assert r.loc[("x", "y", 1), "p_value"] == 0.5  # 2 * (1/2)^2
    assert tuple(r.loc[("x", "y", 2), ["wins_a", "wins_b", "ties"]]) == (0, 3, 1)
    assert r.loc[("x", "z", 1), "n_tasks"] == 3  # z lacks f3
    assert table["test"].str.contains("two-sided exact sign test").all()
    listed = S.sign_test_table(per_task, [["z", "x"], ["x", "absent"]])
    assert list(listed["model_a"]) == ["z", "z"]
    assert tuple(listed.iloc[1][["wins_a", "wins_b"]]) == (1, 1)
    empty = S.sign_test_table(per_task, [["x", "absent"]])
    assert empty.empty and "p_value" in empty.columns


def test_sign_test_table_is_the_figures_previous_test(tables):
    """sign_test.tsv holds, for every compared pair and n, what the task_comparison
    footnote computed before it read the library: wins from the per-task accuracies
    and scipy's binomtest."""
    per_task, signs = tables["per_task"], tables["sign_test"]
    assert len(signs) == 3 * 2  # 3 pairs of 3 models, 2 shot counts
    for r in signs.itertuples():
        t = per_task[per_task["n_shots"] == r.n_shots]
        wide = t.pivot(index="function", columns="model", values="accuracy")
        wide = wide[[r.model_a, r.model_b]].dropna()
        wins_a = int((wide[r.model_a] > wide[r.model_b]).sum())
        wins_b = int((wide[r.model_b] > wide[r.model_a]).sum())
        p = binomtest(wins_a, wins_a + wins_b).pvalue if wins_a + wins_b else float("nan")
        assert (r.n_tasks, r.wins_a, r.wins_b) == (len(wide), wins_a, wins_b)
        assert r.p_value == p or (np.isnan(p) and np.isnan(r.p_value))
