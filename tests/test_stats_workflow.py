"""The statistics and figure rules end to end on the small config (reference learners):
every table and planned figure is made, the report holds them, the lint is clean."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import REPO
from conftest import snakemake as run  # shared helpers of tests/conftest.py

pytestmark = pytest.mark.slow

TABLES = (
    "accuracy",
    "fits",
    "fits_vs_size",
    "vs_mode",
    "scaling",
    "family_means",
    "clustered_fits",
    "per_task",
    "mistakes",
    "diversity_zero",
    "power",
    "bitload",
    "target_diversity",
    "paired",
)


def test_stats_figures_and_report(workdir):
    run(workdir, "-c1", "stats_all", "figures_all")
    tables = workdir / "results" / "tables"
    for name in TABLES:
        assert (tables / f"{name}.tsv").exists(), name
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
    figs = {p.name for p in (workdir / "results" / "figures").glob("*.png")}
    assert {
        "accuracy_vs_shots.png",
        "fig5_loglinear_fits.png",
        "task_heatmap.png",
        "fig11_diversity_zero.png",
        "fig6_understandable_mistakes.png",
        "fig7-10_bitload_reference.png",
        "paired_differences.png",
    } <= figs
    assert not any(f.startswith(("fig2", "fig3", "fig4")) for f in figs)  # no families
    run(workdir, "--report", "results/report.html", "stats_all", "figures_all")
    html = (workdir / "results" / "report.html").read_text(errors="replace")
    assert len(html) > 10000


def test_lint_is_clean(workdir):
    proc = run(workdir, "--lint", check=False)
    out = proc.stdout + proc.stderr
    for smk in ("rules/stats.smk", "rules/figures.smk"):
        assert f"Lints for snakefile {smk}" not in out.replace(str(REPO) + "/", "")
