"""The workflow itself: plan, a small real run, the report, byte-identical reruns."""

import os
import re

import pandas as pd
import pytest

from conftest import TINY_PRETRAIN, result_digests, small_config, snakemake, write_config

pytestmark = pytest.mark.slow


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def test_dry_run_plans_every_stage(workdir):
    out = snakemake(workdir, "-n").stdout
    counts = job_counts(out)
    assert counts["prompts"] == 2  # 2 shot counts of the one encoding a model reads
    assert counts["predict"] == 2  # one job per model, for both shot counts
    assert counts["score"] == 2
    assert counts["accuracy"] == 1
    assert not (workdir / "results").exists()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run")
    write_config(workdir, small_config())
    snakemake(workdir, "--cores", "2")
    return workdir


def test_small_run_outputs(finished_run):
    results = finished_run / "results"
    acc = pd.read_csv(results / "tables" / "accuracy.tsv", sep="\t")
    assert list(acc.columns[:5]) == ["model", "n_shots", "accuracy", "se", "n_prompts"]
    assert set(acc["model"]) == {"mode", "oracle"} and set(acc["n_shots"]) == {1, 4}
    assert (acc["n_prompts"] == 8).all()  # 4 functions x 2 trials
    assert acc["accuracy"].between(0, 1).all() and (acc["se"] >= 0).all()
    oracle = acc[acc.model == "oracle"].set_index("n_shots")["accuracy"]
    mode = acc[acc.model == "mode"].set_index("n_shots")["accuracy"]
    assert oracle[4] >= mode[4]
    for ext in ("png", "pdf"):
        assert (results / "figures" / f"accuracy_vs_shots.{ext}").stat().st_size > 1000
    assert (results / "prompts" / "genomic" / "n4.parquet").exists()
    assert not (results / "prompts" / "linguistic").exists()  # no model reads it
    scored = pd.read_parquet(results / "scored" / "oracle.parquet")
    assert len(scored) == 16
    assert {"correct", "bit_load", "target_diversity", "pred_diversity"} <= set(scored.columns)


def test_nothing_left_to_do_after_a_run(finished_run):
    out = snakemake(finished_run, "-n").stdout
    assert "Nothing to be done" in out


def test_report(finished_run):
    snakemake(finished_run, "--report", "results/report.html")
    html = (finished_run / "results" / "report.html").read_text(errors="replace")
    assert "accuracy_vs_shots.png" in html
    # the front page names the run's models, and only tables with rows are listed
    assert "reference learner (oracle)" in html and "digits for Qwen3" not in html
    tables = finished_run / "results" / "tables"
    for path in tables.glob("*.tsv"):
        rows = len(pd.read_csv(path, sep="\t"))
        assert (f"filename={path.name};" in html) == (rows > 0), path.name


def test_same_config_same_bytes(finished_run, tmp_path):
    write_config(tmp_path, small_config())
    snakemake(tmp_path, "--cores", "1")
    assert result_digests(tmp_path) == result_digests(finished_run)


def test_pretrained_model_runs_through_the_workflow(tmp_path):
    """corpus -> pretraining -> the hf backend on the checkpoint -> statistics."""
    base = small_config()
    model = {
        "name": "dna-tiny",
        "backend": "hf",
        "checkpoint": "pretrained:tiny",
        "encoding": "genomic",
    }
    write_config(
        tmp_path,
        small_config(models=[*base["models"], model], pretrain={"tiny": TINY_PRETRAIN}),
    )
    snakemake(tmp_path, "--cores", "2")
    results = tmp_path / "results"
    assert (results / "pretrained" / "tiny" / "config.json").exists()
    assert (results / "figures" / "pretrain_tiny_loss.png").exists()
    preds = pd.read_parquet(results / "predictions" / "dna-tiny" / "n4.parquet")
    assert len(preds) == 8 and preds["target_logprob"].notna().all()
    assert (preds["prediction"].str.len() <= 8).all()
    acc = pd.read_csv(results / "tables" / "accuracy.tsv", sep="\t")
    assert set(acc["model"]) == {"mode", "oracle", "dna-tiny"}


def test_unused_pretraining_recipes_are_not_trained(workdir):
    write_config(workdir, small_config(pretrain={"tiny": TINY_PRETRAIN}))
    counts = job_counts(snakemake(workdir, "-n").stdout)
    assert "corpus" not in counts and "pretrain" not in counts


def _shipped_model_config(recipe=None):
    import yaml

    from conftest import REPO

    default = yaml.safe_load((REPO / "config.yaml").read_text())
    dna = next(m for m in default["models"] if m["checkpoint"] == "pretrained:dna")
    base = small_config()
    return small_config(
        models=[*base["models"], dna], pretrain={"dna": recipe or default["pretrain"]["dna"]}
    )


def test_shipped_weights_replace_training_unless_asked(workdir):
    """The default recipe is not trained (its weights ship); `shipped_weights: false`
    or any edit of the recipe trains it."""
    config = _shipped_model_config()
    write_config(workdir, config)
    counts = job_counts(snakemake(workdir, "-n").stdout)
    assert counts["pretrained_shipped"] == 1
    assert "pretrain" not in counts and "corpus" not in counts
    out = snakemake(workdir, "-n", "--config", "shipped_weights=False").stdout
    counts = job_counts(out)
    assert counts["pretrain"] == 1 and counts["corpus"] == 1
    assert "pretrained_shipped" not in counts
    recipe = config["pretrain"]["dna"]
    write_config(
        workdir, _shipped_model_config({**recipe, "training": {**recipe["training"], "lr": 0.002}})
    )
    counts = job_counts(snakemake(workdir, "-n").stdout)
    assert counts["pretrain"] == 1 and "pretrained_shipped" not in counts


def test_shipped_weights_run_through_the_workflow(workdir):
    from genomic_icl.pretrain import shipped_weights

    config = _shipped_model_config()
    write_config(workdir, config)
    snakemake(workdir, "--cores", "2")
    results = workdir / "results"
    shipped = shipped_weights(config["pretrain"]["dna"])
    assert (results / "pretrained" / "dna" / "model.safetensors").read_bytes() == (
        shipped / "model.safetensors"
    ).read_bytes()
    assert not (results / "corpus").exists()
    assert (results / "figures" / "pretrain_dna_loss.png").exists()
    preds = pd.read_parquet(results / "predictions" / "dna-lfm2" / "n4.parquet")
    assert len(preds) == 8 and preds["target_logprob"].notna().all()


PLUGIN = '''"""A backend outside the package: answers each prompt with its first demonstration's
output (a learner that copies), to test that a user's backend runs end to end."""

from genomic_icl.models import Backend, Continuations


class FirstOutput(Backend):
    name = "first-output"
    uses_gpu = False

    def run(self, batch):
        text = [p[8:16] for p in batch["prompt"]]  # demonstration 1: 8 inputs, 8 outputs
        return Continuations(text, [float("nan")] * len(text))
'''


def test_a_backend_from_another_package_runs_through_the_workflow(tmp_path):
    """A config names a Backend subclass of a package outside genomic_icl as
    ``package.module:Class`` (docs/models.md, "Adding a backend"): it is checked at
    planning, runs, is scored and enters the tables like any model."""
    plugins = tmp_path / "plugins"
    (plugins / "icl_plugin").mkdir(parents=True)
    (plugins / "icl_plugin" / "__init__.py").write_text("")
    (plugins / "icl_plugin" / "first.py").write_text(PLUGIN)
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(plugins), os.environ.get("PYTHONPATH")]))
    }
    work = tmp_path / "work"
    work.mkdir()
    config = small_config()
    config["models"].append(
        {"name": "copier", "backend": "icl_plugin.first:FirstOutput", "encoding": "genomic"}
    )
    write_config(work, config)
    snakemake(work, "--cores", "2", env=env)
    scored = pd.read_parquet(work / "results" / "scored" / "copier.parquet")
    expected = [
        p[8:16] for p in pd.read_parquet(work / "results/prompts/genomic/n1.parquet")["prompt"]
    ]
    assert sorted(scored[scored["n_shots"] == 1]["prediction"]) == sorted(expected)
    accuracy = pd.read_csv(work / "results" / "tables" / "accuracy.tsv", sep="\t")
    assert set(accuracy["model"]) == {"mode", "oracle", "copier"}
    # a class that is not a Backend is refused at planning, naming the backend
    (plugins / "icl_plugin" / "first.py").write_text("class FirstOutput:\n    pass\n")
    proc = snakemake(work, "-n", env=env, check=False)
    assert proc.returncode != 0
    assert "icl_plugin.first:FirstOutput" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
