"""Every figure renders from a small results set; the plan follows the config's models."""

from __future__ import annotations

import pandas as pd
import pytest

from genomic_icl import figures as F
from genomic_icl import stats as S
from synthetic import synthetic_scored

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
    return S.compute_all(scored, S.model_metadata(MODELS), replicates=100, trials=3)


def test_plan_follows_models():
    plan = F.figure_plan(MODELS, {}, shots=(1, 4, 16))
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
    ref_only = F.figure_plan(MODELS[-1:], {}, shots=(1,))
    assert not any(k.startswith(("fig2", "fig3", "fig4", "fig5")) for k in ref_only)
    assert "paired_differences" not in ref_only
    chosen = F.figure_plan(MODELS, {"compare": ["qwen-s", "evo2_40b"]}, shots=(1, 4))
    assert chosen["fig4_bitload_comparison"]["models"] == ["qwen-s", "evo2_40b"]


def test_every_figure_renders(tables, tmp_path):
    plan = F.figure_plan(MODELS, {}, shots=(1, 4, 16))
    meta = S.model_metadata(MODELS)
    for stem, entry in plan.items():
        need = {k: tables[k] for k in F.KIND_TABLES[entry["kind"]]}
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
        F.accuracy_vs_shots(
            tables["accuracy"], str(tmp_path / f"a{i}.png"), str(tmp_path / f"a{i}.pdf")
        )
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
    F.accuracy_vs_shots(
        acc,
        str(tmp_path / "t4.png"),
        str(tmp_path / "t4.pdf"),
        reference=S.load_table4(),
        title="Table 4",
    )
    assert (tmp_path / "t4.png").exists()


def test_size_matched_pairs():
    meta = S.model_metadata(MODELS)
    pairs = F.size_matched_pairs(meta)
    assert pairs == [("qwen-s", "evo2_1b_base"), ("qwen-l", "evo2_40b")]
    assert F.families(meta) == ["Qwen3", "Evo2"]
    assert isinstance(pd.DataFrame(pairs), pd.DataFrame)
