"""Every figure renders from a small results set; the plan follows the config's models
and its baseline; planning imports no plotting library."""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess
import sys

import matplotlib.figure
import pandas as pd
import pytest

from conftest import REPO
from genomic_icl import figure_registry as R
from genomic_icl import figures as F
from genomic_icl import stats as S
from genomic_icl.figures import FigureContext
from genomic_icl.metadata import model_rows
from synthetic import synthetic_scored, with_answer_distributions

FUNCS = [
    "identity",
    "rotl1",
    "majority",
    "flip_bits>reverse_bits",
    "meta_constant",
    "parity_fill",
    "left_half",
    "swap_halves",
    "edge_mask",
    "reverse_bits",
]
MODELS = [
    {"name": "qwen-s", "backend": "hf", "family": "Qwen3", "params": 6e8},
    {"name": "qwen-m", "backend": "hf", "family": "Qwen3", "params": 4e9},
    {"name": "qwen-l", "backend": "hf", "family": "Qwen3", "params": 1.4e10},
    {"name": "evo2_1b_base", "backend": "evo2", "family": "Evo2", "params": 1e9},
    {"name": "evo2_40b", "backend": "evo2", "family": "Evo2", "params": 4e10},
    {"name": "mode", "backend": "reference", "checkpoint": "mode"},
]


@pytest.fixture(scope="module")
def tables():
    names = [m["name"] for m in MODELS]
    scored = synthetic_scored(
        models=names,
        shots=(1, 4, 16),
        trials=3,
        functions=FUNCS,
        a0=0.15,
        a1=[0.03, 0.04, 0.05, 0.04, 0.06, 0.0],
        seed=2,
    )
    # log-probabilities for three models, so that the in-context loss figures have lines
    scored = with_answer_distributions(
        scored,
        {"qwen-l": lambda n: 0.5 + 0.03 * n, "evo2_40b": lambda n: 0.9, "mode": lambda n: 1.0},
        {"qwen-l": 0.4, "evo2_40b": 0.2, "mode": 1.0},
    )
    return S.compute_all(scored, S.model_metadata(MODELS), replicates=100, trials=3)


def test_plan_follows_models():
    plan = R.figure_plan(MODELS, {}, shots=(1, 4, 16))
    assert {
        "fig2_accuracy_Qwen3",
        "fig2_accuracy_Evo2",
        "fig2c_size_matched",
        "fig2d_family_means",
        "fig3_accuracy_vs_params",
        "fig4_bitload_comparison",
        "fig5_loglinear_fits",
        "fig6_understandable_mistakes",
        "fig7-10_bitload_Qwen3",
        "fig7-10_diversity_Evo2",
        "fig7-10_bitload_reference",
        "fig11_diversity_zero",
        "task_heatmap",
        "paired_differences",
        "accuracy_vs_shots",
    } <= set(plan)
    assert plan["fig4_bitload_comparison"]["models"] == ["qwen-l", "evo2_40b"]
    assert ("qwen-s", "evo2_1b_base") in {tuple(p) for p in plan["fig2c_size_matched"]["pairs"]}
    ref_only = R.figure_plan(MODELS[-1:], {}, shots=(1,))
    assert not any(k.startswith(("fig2", "fig3", "fig4", "fig5")) for k in ref_only)
    assert "paired_differences" not in ref_only
    chosen = R.figure_plan(MODELS, {"compare": ["qwen-s", "evo2_40b"]}, shots=(1, 4))
    assert chosen["fig4_bitload_comparison"]["models"] == ["qwen-s", "evo2_40b"]


def test_every_figure_renders(tables, tmp_path):
    plan = R.figure_plan(MODELS, {}, shots=(1, 4, 16))
    assert {e["kind"] for e in plan.values()} == set(R.FIGURES)  # every kind is planned
    meta = S.model_metadata(MODELS)
    for stem, entry in plan.items():
        need = {k: tables[k] for k in R.FIGURES[entry["kind"]].table_names}
        png, pdf = tmp_path / f"{stem}.png", tmp_path / f"{stem}.pdf"
        F.draw(
            stem,
            entry,
            need,
            str(png),
            str(pdf),
            meta=meta,
            reference=S.load_table4(),
            n_functions=len(FUNCS),
        )
        assert png.stat().st_size > 5000, stem
        assert pdf.read_bytes().startswith(b"%PDF"), stem


def test_pdf_bytes_are_deterministic(tables, tmp_path):
    for i in range(2):
        png, pdf = tmp_path / f"a{i}.png", tmp_path / f"a{i}.pdf"
        F.accuracy.accuracy_vs_shots(FigureContext(png, pdf, {"accuracy": tables["accuracy"]}))
    assert (tmp_path / "a0.pdf").read_bytes() == (tmp_path / "a1.pdf").read_bytes()
    assert (tmp_path / "a0.png").read_bytes() == (tmp_path / "a1.png").read_bytes()


def test_reference_overlay_matching():
    ref = S.load_table4()
    got = F.match_reference(
        ["evo2_40b", "evo2_1b_base", "Qwen3-14B-Base", "qwen3-1.7b", "x"], ref, {"x": "Qwen3-8B"}
    )
    assert got == {
        "evo2_40b": "Evo2-40B",
        "evo2_1b_base": "Evo2-1B",
        "Qwen3-14B-Base": "Qwen3-14B",
        "qwen3-1.7b": "Qwen3-1.7B",
        "x": "Qwen3-8B",
    }
    # Evo2-1B must not claim evo2_14b
    assert "evo2_14b" not in F.match_reference(["evo2_14b"], ref)


def test_accuracy_vs_shots_with_reference(tmp_path):
    acc = S.load_table4()[["model", "n_shots", "accuracy"]].assign(se=0.02, n_prompts=800)
    F.accuracy.accuracy_vs_shots(
        FigureContext(
            tmp_path / "t4.png",
            tmp_path / "t4.pdf",
            {"accuracy": acc},
            {"title": "Table 4"},
            reference=S.load_table4(),
        )
    )
    assert (tmp_path / "t4.png").exists()


def test_size_matched_pairs():
    meta = S.model_metadata(MODELS)
    pairs = R.size_matched_pairs(meta)
    assert pairs == [("qwen-s", "evo2_1b_base"), ("qwen-l", "evo2_40b")]
    assert R.families(meta) == ["Qwen3", "Evo2"]
    # planning reads the same metadata as rows (pure Python)
    rows = model_rows(MODELS)
    assert (R.size_matched_pairs(rows), R.families(rows)) == (pairs, R.families(meta))
    assert R.comparison_models(rows) == R.comparison_models(meta)
    assert isinstance(pd.DataFrame(pairs), pd.DataFrame)


def test_registry_entries_are_complete():
    """Each entry points at a plot function that takes one FigureContext and reads
    every table role of the entry, a caption file that exists, and a category; its rule
    is figure_{kind}."""
    for kind, spec in R.FIGURES.items():
        plot = F.plot_function(kind)  # raises unless "module.function" of one argument
        source = inspect.getsource(plot)
        for role in spec.tables:
            assert re.search(rf"ctx\.(optional_)?table\(\"{role}\"\)", source), (kind, role)
        assert (REPO / "report" / "figures" / spec.caption).is_file(), spec.caption
        assert spec.category and spec.rule == f"figure_{kind}"
    with pytest.raises(ValueError, match="registered twice"):
        R.figure("accuracy", draw="x.y", tables=(), caption="x.rst", category="x")
    with pytest.raises(ValueError, match="not 'module.function'"):
        R.figure("new_kind", draw="accuracy_vs_shots", tables=(), caption="x.rst", category="x")


def test_a_wrong_pointer_is_named(monkeypatch):
    spec = R.FIGURES["accuracy"]
    for draw in ("accuracy.no_such_plot", "no_such_module.accuracy_vs_shots"):
        monkeypatch.setitem(R.FIGURES, "accuracy", dataclasses.replace(spec, draw=draw))
        with pytest.raises(ValueError, match=f"genomic_icl.figures has no '{draw}'"):
            F.plot_function("accuracy")
    # a helper of one of the modules is no plot function
    draw = "accuracy.match_reference"
    monkeypatch.setitem(R.FIGURES, "accuracy", dataclasses.replace(spec, draw=draw))
    with pytest.raises(ValueError, match="must take one FigureContext"):
        F.plot_function("accuracy")


def test_draw_names_a_missing_argument(tables, tmp_path):
    entry = R.figure_plan(MODELS, {}, shots=(1, 4, 16))["fig2c_size_matched"]
    entry = {k: v for k, v in entry.items() if k != "pairs"}
    with pytest.raises(ValueError, match="'fig2c_size_matched': its plan entry has no 'pairs'"):
        F.draw("fig2c_size_matched", entry, tables, str(tmp_path / "a.png"), None)
    with pytest.raises(ValueError, match="'fig2c_size_matched': needs the table 'accuracy'"):
        F.draw("fig2c_size_matched", entry, {}, str(tmp_path / "a.png"), None)


ORACLE = {"name": "oracle", "backend": "reference", "checkpoint": "oracle"}


def legends(monkeypatch) -> list[list[str]]:
    """Legend texts of every figure saved while the returned list is in use."""
    seen: list[list[str]] = []
    savefig = matplotlib.figure.Figure.savefig

    def record(fig, *args, **kwargs):
        leg = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        seen.append([t.get_text() for lg in leg for t in lg.get_texts()])
        savefig(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record)
    return seen


@pytest.mark.parametrize("baseline", ["mode", "oracle"])
def test_figures_draw_the_configured_baseline(tables, tmp_path, monkeypatch, baseline):
    """stats.baseline is the dotted line of the family figures and of Fig. 2d."""
    models = MODELS + [ORACLE]
    acc = tables["accuracy"]
    oracle = acc[acc["model"] == "mode"].assign(model="oracle", accuracy=0.9)
    tabs = {**tables, "accuracy": pd.concat([acc, oracle], ignore_index=True)}
    plan = R.figure_plan(models, {}, shots=(1, 4, 16), baseline=baseline)
    other = {"mode": "oracle", "oracle": "mode"}[baseline]
    for stem in ("fig2_accuracy_Qwen3", "fig2d_family_means"):
        assert plan[stem]["baseline"] == baseline
    assert plan["fig2_accuracy_Evo2"]["models"] == ["evo2_1b_base", "evo2_40b", baseline]
    seen = legends(monkeypatch)
    meta = S.model_metadata(models)
    for stem in ("fig2_accuracy_Qwen3", "fig2d_family_means"):
        F.draw(stem, plan[stem], tabs, str(tmp_path / "f.png"), None, meta=meta)
    family, means = seen
    assert f"{baseline} (baseline)" in family and not any(other in t for t in family)
    assert f"{baseline} baseline" in means and f"{other} baseline" not in means


def test_figure_plan_defaults_to_mode():
    assert R.figure_plan(MODELS, {}, shots=(1, 4))["fig2d_family_means"]["baseline"] == "mode"


HEAVY = ("matplotlib", "scipy")
# prints the heavy libraries a Python process has loaded
LOADED = f"import sys; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"


def test_planning_imports_no_plotting_and_no_scipy():
    """The genomic_icl modules the rule files import, and a plan, load neither
    matplotlib nor scipy (a fresh interpreter: this one has loaded both)."""
    modules = sorted(
        {
            name
            for smk in (REPO / "rules").glob("*.smk")
            for name in re.findall(r"^(?:from|import) (genomic_icl[\w.]*)", smk.read_text(), re.M)
        }
    )
    assert "genomic_icl.figure_registry" in modules
    code = "\n".join(
        [
            *(f"import {name}" for name in modules),
            "from genomic_icl.figure_registry import figure_plan",
            f"models = {MODELS!r}",
            "assert len(figure_plan(models, {}, (1, 4, 16), 'mode')) > 10",
            LOADED,
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout


def test_the_registry_and_a_plan_load_no_numerical_library():
    """The registry and a plan of every kind (what the rule files read to make their
    rules) load neither numpy nor pandas, though the plot functions they point at do."""
    code = "\n".join(
        [
            "import sys",
            "from genomic_icl.figure_registry import FIGURES, figure_inputs, figure_plan",
            f"plan = figure_plan({MODELS!r}, {{}}, (1, 4, 16), 'mode')",
            "assert {e['kind'] for e in plan.values()} == set(FIGURES)",
            "assert figure_inputs('accuracy') == {'accuracy': 'results/tables/accuracy.tsv'}",
            "print(sorted({m.split('.')[0] for m in sys.modules}"
            " & {'numpy', 'pandas', 'matplotlib', 'scipy'}))",
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.slow
def test_dry_run_of_the_default_config_loads_no_plotting(tmp_path):
    """snakemake -n on the default config (planning only) imports neither library."""
    args = ["-n", "--quiet", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path)]
    args += ["--configfile", str(REPO / "config.yaml")]
    code = "\n".join(
        [
            "import atexit",
            f"atexit.register(lambda: {LOADED.split('; ', 1)[1]})",
            "import sys",
            "from snakemake.cli import main",
            f"sys.argv = ['snakemake', *{args!r}]",
            "main()",
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-2000:]
    assert not (tmp_path / "results").exists()


def test_paired_significant_reads_the_paired_test_in_either_order():
    paired = pd.DataFrame(
        {
            "model_a": ["mode"] * 3,
            "model_b": ["dna"] * 3,
            "n_shots": [1, 2, 4],
            "difference": [0.07, 0.01, 0.05],
            "ci_lo": [0.03, -0.02, 0.001],
            "ci_hi": [0.11, 0.04, 0.09],
        }
    )
    # dna - mode is negative where the CI of mode - dna excludes 0
    assert F.paired_significant(paired, "dna", "mode") == {1: -0.07, 4: -0.05}
    assert F.paired_significant(paired, "mode", "dna") == {1: 0.07, 4: 0.05}
    assert F.paired_significant(paired, "dna", "oracle") is None


def test_family_means_figure_needs_a_family_of_two():
    one = [
        {"name": "dna", "backend": "hf", "family": "DNA", "params": 5e5},
        {"name": "mode", "backend": "reference", "checkpoint": "mode"},
    ]
    assert "fig2d_family_means" not in R.figure_plan(one, {}, shots=(1, 4))
    assert "fig2_accuracy_DNA" in R.figure_plan(one, {}, shots=(1, 4))
    assert "fig2d_family_means" in R.figure_plan(MODELS, {}, shots=(1, 4))


def test_empty_tables_follow_the_models():
    import yaml

    default = yaml.safe_load((REPO / "config.yaml").read_text())["models"]
    assert R.empty_tables(default) == ["scaling", "fits_vs_size"]
    assert R.empty_tables(MODELS) == []
    ref_only = [m for m in MODELS if m["backend"] == "reference"]
    assert set(R.empty_tables(ref_only)) == {
        "vs_mode",
        "paired",
        "sign_test",
        "family_means",
        "scaling",
        "fits_vs_size",
    }
    empty = R.empty_tables(MODELS, comparisons=[["qwen-s", "absent"]])
    assert {"paired", "sign_test"} <= set(empty)
