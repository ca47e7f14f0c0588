"""The numbers README.md and docs/ quote about the default run are the default run's.

The default run takes minutes (the DNA model answers 6,400 prompts), so the test
rebuilds it from a record of that model's answers:
``tests/data/default_run_dna-lfm2.parquet`` holds the prediction and target
log-probability of ``dna-lfm2`` for every prompt of the default config (``snakemake
--cores 2`` on ``config.yaml``, shipped weights). The test checks a sample of that
record against the shipped model itself (it must answer the same), then builds the
prompts, runs the two reference learners, scores everything and computes every table
with the library, as the workflow does (the tables equal the workflow's, byte for byte,
when the record is the run's). Each claim below is rendered from those tables and must
appear in the document that makes it (whitespace ignored), and phrases that the tables
contradict must not. When a change moves a number, rerun the default pipeline, replace
the record (``function, n_shots, trial, prediction, target_logprob`` of
``results/scored/dna-lfm2.parquet``) and update the documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from genomic_icl import pretrain
from genomic_icl.config import encoding, function_names, load_config
from genomic_icl.inference import predict_file
from genomic_icl.io import read_table, write_table
from genomic_icl.prompts import prompt_table
from genomic_icl.scoring import score, scored_table
from genomic_icl.stats import compute_all, model_metadata

pytestmark = pytest.mark.slow

RECORD = REPO / "tests" / "data" / "default_run_dna-lfm2.parquet"
KEY = ["function", "n_shots", "trial"]
DNA = "dna-lfm2"


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config(REPO / "config.yaml")


@pytest.fixture(scope="module")
def prompts(config, tmp_path_factory) -> dict[int, Path]:
    """The default config's genomic prompt tables, one file per n."""
    tmp = tmp_path_factory.mktemp("prompts")
    paths = {}
    for n in sorted(config["shots"]):
        table = prompt_table(
            function_names(config), n, config["trials"], encoding(config, "genomic"), config["seed"]
        )
        paths[n] = tmp / f"n{n}.parquet"
        write_table(table, paths[n])
    return paths


@pytest.fixture(scope="module")
def run(config, prompts, tmp_path_factory) -> dict:
    """Scored results and every table of the default run, rebuilt from the record."""
    assert {m["encoding"] for m in config["models"]} == {"genomic"}
    record = read_table(RECORD)
    tmp = tmp_path_factory.mktemp("predictions")
    parts = []
    for model in config["models"]:
        for n, path in prompts.items():
            table = read_table(path)
            if model["backend"] == "reference":
                out = tmp / f"{model['name']}_n{n}.parquet"
                predict_file(model, path, out, config["seed"], progress=False)
                preds = read_table(out)
            else:
                assert model["name"] == DNA
                answers = table[KEY].merge(record, on=KEY, how="left", validate="1:1")
                assert answers["prediction"].notna().all(), f"the record lacks prompts at n = {n}"
                preds = score(table, answers["prediction"].tolist(), answers["target_logprob"], DNA)
            parts.append(scored_table(table, preds))
    scored = pd.concat(parts, ignore_index=True)
    b, s = config["bootstrap"], config["stats"]
    tables = compute_all(
        scored,
        model_metadata(config["models"]),
        b["replicates"],
        b["seed"],
        config["trials"],
        s["baseline"],
        s["alpha"],
        s["comparisons"],
        config["power"],
    )
    return {"scored": scored, **tables}


def test_record_is_what_the_shipped_model_answers(config, prompts, tmp_path):
    """Two prompts per n, answered now by the shipped weights, equal the record."""
    recipe = config["pretrain"]["dna"]
    pretrain.install_shipped(pretrain.shipped_weights(recipe), tmp_path / "dna", recipe)
    spec = next(m for m in config["models"] if m["name"] == DNA)
    sample = pd.concat(
        [read_table(p).sample(2, random_state=n) for n, p in prompts.items()], ignore_index=True
    )
    write_table(sample, tmp_path / "sample.parquet")
    predict_file(
        {**spec, "checkpoint": str(tmp_path / "dna")},
        tmp_path / "sample.parquet",
        tmp_path / "out.parquet",
        config["seed"],
        progress=False,
    )
    got = read_table(tmp_path / "out.parquet").merge(
        read_table(RECORD), on=KEY, suffixes=("", "_r")
    )
    assert len(got) == len(sample)
    assert (got["prediction"] == got["prediction_r"]).all(), got[
        ["n_shots", "prediction", "prediction_r"]
    ]
    np.testing.assert_allclose(got["target_logprob"], got["target_logprob_r"], rtol=1e-4)


# ---------------------------------------------------------------------------
# the claims, rendered from the tables
# ---------------------------------------------------------------------------


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def p_text(p: float) -> str:
    """A p with 2 significant digits, written out (7.8e-06 -> 0.0000078)."""
    return np.format_float_positional(float(f"{p:.2g}"), trim="-")


def ns_text(ns: list[int]) -> str:
    return ", ".join(str(n) for n in ns)


def versus_mode(run: dict) -> str:
    """The comparison of the DNA model with mode, as the paired test has it."""
    p = run["paired"]
    p = p[(p["model_a"] == "mode") & (p["model_b"] == DNA)].sort_values("n_shots")
    below = p[p["ci_lo"] > 0]
    above = p[p["ci_hi"] < 0]
    assert above.empty  # the sentence below has no words for it
    rest = p[(p["ci_lo"] <= 0) & (p["ci_hi"] >= 0)]
    text = (
        f"the paired test (joint bootstrap over the shared prompts, two-sided) puts it "
        f"significantly below `mode` at n = {ns_text(list(below['n_shots']))} "
        f"(p {', '.join(below['p_value_display'])})"
    )
    if len(rest):
        text += f" and finds no significant difference at n = {ns_text(list(rest['n_shots']))}"
    return text


def claims(run: dict) -> dict[str, list[str]]:
    """{document: sentences it must contain}, each rendered from the run's tables."""
    acc = run["accuracy"].set_index(["model", "n_shots"])
    a = acc.loc[DNA]
    fit = run["clustered_fits"].set_index("model")
    dna, mode = fit.loc[DNA], fit.loc["mode"]
    vs = run["vs_mode"].set_index(["model", "n_shots"]).loc[DNA]
    assert (vs["difference"] < 0).all()  # "below mode at every n"
    gap = -vs["difference"]
    scored = run["scored"]
    s = scored[scored["model"] == DNA]
    right = s[s["correct"]]
    uniform = s[s["target_diversity"] == 0]
    other = s[s["target_diversity"] != 0]
    u_acc = lambda lo, hi: uniform[uniform["n_shots"].between(lo, hi)]["correct"].mean()  # noqa: E731
    o_acc = other.groupby("n_shots")["correct"].mean()
    identity = (s["pred_bits"] == s["query"]).groupby(s["n_shots"]).mean()
    share = f"{100 * (right['target_diversity'] == 0).mean():.0f} % of"
    slope = (
        f"accuracy rises from {pct(a.loc[1, 'accuracy'])} % at n = 1 to "
        f"{pct(a.loc[128, 'accuracy'])} % at n = 128, {100 * dna['a1']:+.2f} points per "
        f"doubling of n (clustered p = {p_text(dna['p_value'])})"
    )

    def row(model: str) -> str:
        cells = acc.loc[model]
        return f"| {model} | " + " | ".join(
            f"{pct(r.accuracy)} ({pct(r.se)})" for r in cells.itertuples()
        )

    loss = run["in_context_loss"].set_index(["model", "n_shots"])
    lfit = run["in_context_loss_fits"].set_index("model")
    ldna, lmode = lfit.loc[DNA], lfit.loc["mode"]
    bits = loss.loc[DNA, "bits_per_symbol"]
    over_mode = bits - loss.loc["mode", "bits_per_symbol"]
    assert (over_mode > 0).all()  # "stays above mode's at every n"
    assert ldna["p_value"] < 1e-10 and lmode["p_value"] < 1e-10  # printed as "< 1e-10"
    loss_readme = (
        f"falls from {bits.loc[1]:.2f} bits at n = 1 to {bits.loc[128]:.2f} at n = 128, "
        f"{ldna['slope']:.3f} bits per doubling of n (clustered one-sided p < 1e-10), beside "
        f"the accuracy slope above; but `mode`'s smoothed frequencies fall as fast "
        f"({lmode['slope']:.3f}, p < 1e-10) and the DNA model's loss stays above `mode`'s at "
        "every n"
    )
    loss_doc = [
        f"{bits.loc[1]:.2f} bits at n = 1 to {bits.loc[128]:.2f} at n = 128",
        "-log2 P(target | prompt) / 8",
        f"{ldna['slope']:.4f} bits per doubling (SE {ldna['slope_se']:.4f}), "
        f"t = {ldna['t']:.2f}, p < 1e-10, beside the accuracy slope's p = "
        f"{p_text(dna['p_value'])}",
        f"fall as fast: {lmode['slope']:.4f} (SE {lmode['slope_se']:.4f})",
        f"(excess over `mode` {over_mode.loc[1]:.2f} bits at n = 1, {over_mode.loc[128]:.2f} "
        "at n = 128)",
        f"power law with exponent {ldna['power_exponent']:.3f} (log-log R^2 = "
        f"{ldna['power_r2']:.2f})",
    ]
    return {
        "README.md": [
            slope,
            "It stays below the `mode` baseline at every n;",
            versus_mode(run),
            loss_readme,
        ],
        "docs/dna-model.md": [
            row(DNA),
            row("mode"),
            f"a1 = {100 * dna['a1']:+.2f} points per doubling (SE {100 * dna['a1_se']:.2f}), "
            f"t = {dna['t']:.2f}, p = {p_text(dna['p_value'])}",
            f"Mode: a1 = {100 * mode['a1']:+.2f} (SE {100 * mode['a1_se']:.2f}), "
            f"p = {p_text(mode['p_value'])}",
            "z = " + ", ".join(f"{z:.1f}" for z in vs["z"]) + f" at n = {ns_text(list(vs.index))}",
            versus_mode(run),
            f"the gap narrows from {100 * gap.loc[1]:.1f} points at n = 1 to "
            f"{100 * gap.loc[64]:.1f} and {100 * gap.loc[128]:.1f} points at n = 64 and 128",
            f"{share} its correct answers are uniform",
            f"it rises from {100 * u_acc(1, 2):.0f} % (n = 1-2) to {100 * u_acc(64, 128):.0f} % "
            f"(n = 64-128)",
            f"from {100 * o_acc.loc[1]:.1f} % (n = 1) to {100 * o_acc.drop(1).min():.0f}-"
            f"{100 * o_acc.drop(1).max():.0f} % (n >= 2)",
            f"in {100 * identity.min():.1f}-{100 * identity.max():.1f} % of prompts",
            f"the default by {100 * gap.min():.1f} to {100 * gap.max():.1f} points",
            f"{share} the default model's correct answers",
            f"ICL {pct(a.loc[1, 'accuracy'])} -> {pct(a.loc[128, 'accuracy'])} %, slope "
            f"{100 * dna['a1']:+.2f} (SE {100 * dna['a1_se']:.2f}), p = {p_text(dna['p_value'])}",
            *loss_doc,
        ],
        "docs/performance.md": [
            f"The DNA model: {100 * dna['a1']:+.2f} points per doubling of n, clustered "
            f"one-sided p = {dna['p_value']:.2g}"
        ],
    }


# phrases the paired test contradicts while it puts the DNA model below mode somewhere
CONTRADICTED = ["not significantly)", "never significantly", "significantly at none"]


def flat(path: str) -> str:
    return re.sub(r"\s+", " ", (REPO / path).read_text())


def test_docs_quote_the_default_run(run):
    missing = {
        doc: [c for c in sentences if re.sub(r"\s+", " ", c) not in flat(doc)]
        for doc, sentences in claims(run).items()
    }
    missing = {doc: c for doc, c in missing.items() if c}
    assert not missing, f"claims the documents do not make as the run has them: {missing}"


def test_docs_make_no_claim_the_paired_test_contradicts(run):
    p = run["paired"]
    p = p[(p["model_a"] == "mode") & (p["model_b"] == DNA)]
    assert (p["ci_lo"] > 0).any()  # somewhere significantly below mode
    for doc in ("README.md", "docs/dna-model.md"):
        text = flat(doc)
        for phrase in CONTRADICTED:
            assert phrase not in text, f"{doc}: {phrase!r}"


def test_documented_power_table_is_the_runs(run):
    pw = run["power"]
    text = flat("docs/protocol.md")
    pairs = [f"{a}/{b}" for a, b in zip(pw["m_exact"], pw["m_exact_stable"], strict=True)]
    assert f"they are {', '.join(pairs[:-1])} and {pairs[-1]} for p0 =" in text
