"""The statistics and figure rules end to end on the small config (reference learners):
every table and planned figure is made, the report holds them, the lint is clean."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import REPO
from conftest import snakemake as run  # shared helpers of tests/conftest.py
from genomic_icl import stats as S
from genomic_icl.table_registry import TABLES
from synthetic import synthetic_scored

pytestmark = pytest.mark.slow


def test_stats_figures_and_report(workdir):
    run(workdir, "-c1", "stats_all", "figures_all")
    tables = workdir / "results" / "tables"
    for name, spec in TABLES.items():  # every table of the registry, with its keys
        table = pd.read_csv(workdir / spec.path, sep="\t")
        assert set(spec.keys) <= set(table.columns), name
        assert not table.duplicated(list(spec.keys)).any(), name
    assert {p.stem for p in tables.glob("*.tsv")} == set(TABLES)
    fits = pd.read_csv(tables / "fits.tsv", sep="\t")
    assert list(fits.columns) == [
        "model", "a0", "a1", "a1_se", "t", "df", "p_value", "r2", "test"
    ]  # fmt: skip
    assert set(fits["model"]) == {"mode", "oracle"}
    vs = pd.read_csv(tables / "vs_mode.tsv", sep="\t")
    assert list(vs["model"].unique()) == ["oracle"]
    # vs_mode's SEs come from the joint replicates the accuracy rule wrote
    from genomic_icl.io import read_table
    from genomic_icl.stats import JointBootstrap

    boot = JointBootstrap.from_frame(
        read_table(workdir / "results" / "bootstrap" / "accuracy_replicates.parquet")
    )
    r = vs.iloc[-1]
    d = boot.replicates("oracle", r["n_shots"]) - boot.replicates("mode", r["n_shots"])
    assert r["se_difference"] == pytest.approx(d.std(ddof=1), rel=1e-5)
    td = pd.read_csv(tables / "target_diversity.tsv", sep="\t")
    assert td["estimator"].str.startswith("pooled").all()
    # the oracle predicts the query output of a consistent function: every error of it
    # is an understandable mistake
    mt = pd.read_csv(tables / "mistakes.tsv", sep="\t")
    oracle = mt[(mt["model"] == "oracle") & (mt["n_wrong"] > 0)]
    assert (oracle["n_understandable"] == oracle["n_wrong"] - oracle["n_invalid"]).all()
    # the in-context loss: the oracle is the floor (excess 0, KL 0), mode lies above it
    loss = pd.read_csv(tables / "in_context_loss.tsv", sep="\t")
    assert list(loss["model"].unique()) == ["mode", "oracle"]
    oracle_rows = loss[loss["model"] == "oracle"]
    assert oracle_rows["excess_bits_per_symbol"].abs().max() < 1e-6
    assert (loss.loc[loss["model"] == "mode", "excess_bits_per_symbol"] > 0).all()
    answers = pd.read_csv(tables / "answer_distribution.tsv", sep="\t")
    assert answers["valid_mass"].to_numpy() == pytest.approx(1.0)
    assert answers.loc[answers["model"] == "oracle", "kl_bits_per_symbol"].abs().max() < 1e-6
    positions = pd.read_csv(tables / "in_context_loss_positions.tsv", sep="\t")
    summed = positions.groupby(["model", "n_shots"])["bits"].sum() / 8
    merged = loss.set_index(["model", "n_shots"])["bits_per_symbol"]
    assert summed.to_numpy() == pytest.approx(merged.loc[summed.index].to_numpy(), abs=1e-5)
    loss_fits = pd.read_csv(tables / "in_context_loss_fits.tsv", sep="\t")
    assert set(loss_fits["model"]) == {"mode", "oracle"}
    # the sign test of mode and oracle at each n, as the task_comparison footnote
    # computed it before it read genomic_icl.stats: wins on per_task.tsv, binomtest
    from scipy.stats import binomtest

    per_task = pd.read_csv(tables / "per_task.tsv", sep="\t")
    signs = pd.read_csv(tables / "sign_test.tsv", sep="\t")
    assert len(signs) == per_task["n_shots"].nunique()
    for r in signs.itertuples():
        t = per_task[per_task["n_shots"] == r.n_shots]
        wide = t.pivot(index="function", columns="model", values="accuracy")
        wins_a = int((wide[r.model_a] > wide[r.model_b]).sum())
        wins_b = int((wide[r.model_b] > wide[r.model_a]).sum())
        assert (r.model_a, r.model_b, r.wins_a, r.wins_b) == ("mode", "oracle", wins_a, wins_b)
        assert r.p_value == pytest.approx(binomtest(wins_a, wins_a + wins_b).pvalue, rel=1e-5)
    figs = {p.name for p in (workdir / "results" / "figures").glob("*.png")}
    assert {
        "accuracy_vs_shots.png",
        "fig5_loglinear_fits.png",
        "task_heatmap.png",
        "fig11_diversity_zero.png",
        "fig6_understandable_mistakes.png",
        "fig7-10_bitload_reference.png",
        "paired_differences.png",
        "in_context_loss.png",
        "in_context_loss_positions.png",
        "answer_distribution.png",
    } <= figs
    assert not any(f.startswith(("fig2", "fig3", "fig4")) for f in figs)  # no families
    run(workdir, "--report", "results/report.html", "stats_all", "figures_all")
    html = (workdir / "results" / "report.html").read_text(errors="replace")
    assert len(html) > 10000
    assert "Sign test over tasks, per compared pair" in html  # its registry caption


def test_lint_is_clean(workdir):
    proc = run(workdir, "--lint", check=False)
    out = proc.stdout + proc.stderr
    for smk in ("rules/stats.smk", "rules/figures.smk"):
        assert f"Lints for snakefile {smk}" not in out.replace(str(REPO) + "/", "")


def test_figures_draw_the_configured_baseline(tmp_path):
    """With stats.baseline: oracle the family figure and Fig. 2d of the workflow are
    the ones drawn with oracle as the baseline, not with mode (figure jobs only, on
    tables written here)."""
    from conftest import TINY_PRETRAIN, small_config, write_config
    from genomic_icl import figures as F
    from genomic_icl.figure_registry import figure_plan

    config = small_config(stats={"baseline": "oracle"}, pretrain={"tiny": TINY_PRETRAIN})
    for name, params in (("dna", 1000), ("dna-b", 2000)):  # Fig. 2d needs a family of 2
        config["models"].append(
            {
                "name": name,
                "backend": "hf",
                "checkpoint": "pretrained:tiny",
                "encoding": "genomic",
                "family": "DNA",
                "params": params,
            }
        )
    write_config(tmp_path, config)
    models = [m["name"] for m in config["models"]]
    scored = synthetic_scored(
        models=models, shots=(1, 4), trials=2, functions=config["functions"], seed=1
    )
    meta = S.model_metadata(config["models"])
    tables = S.compute_all(scored, meta, replicates=50, trials=2)
    written = tmp_path / "results" / "tables"
    written.mkdir(parents=True)
    for name in ("accuracy", "family_means", "paired"):
        tables[name].to_csv(written / f"{name}.tsv", sep="\t", index=False)
    stems = ("fig2_accuracy_DNA", "fig2d_family_means")
    targets = [f"results/figures/{s}.png" for s in stems]
    # only the two figure rules: the tables written above are the workflow's inputs
    rules = ("--allowed-rules", "figure_family", "figure_family_means")
    run(tmp_path, "-c1", *targets, *rules)
    read = {p.stem: pd.read_csv(p, sep="\t") for p in written.glob("*.tsv")}
    for stem in stems:
        drawn = {}
        for baseline in ("oracle", "mode"):
            entry = figure_plan(config["models"], {}, (1, 4), baseline)[stem]
            png = tmp_path / f"{baseline}.png"
            F.draw(stem, entry, read, str(png), None, meta=meta, n_functions=4, trials=2)
            drawn[baseline] = png.read_bytes()
        made = (tmp_path / "results" / "figures" / f"{stem}.png").read_bytes()
        assert made == drawn["oracle"] != drawn["mode"], stem
    # the captions name the baseline too
    run(tmp_path, "--report", "report.html", *targets, *rules)
    html = (tmp_path / "report.html").read_text(errors="replace")
    assert "oracle (stats.baseline) as a dotted grey line" in html  # the family figure
    assert "baseline oracle (stats.baseline; dotted" in html  # Fig. 2d
