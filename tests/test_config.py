"""Bad configs stop before any job runs, with a message naming the key."""

import copy
import subprocess
import sys

import pytest

from conftest import small_config, snakemake, write_config
from genomic_icl.config import ConfigError, load_config, resolve_checkpoint, validate_config
from genomic_icl.pretrain import recipe_errors

MODEL = {"name": "m", "backend": "reference", "checkpoint": "mode", "encoding": "genomic"}

BAD = [
    ({"functions": ["rotl1", "rotl9"]}, "functions[1]: unknown function 'rotl9'"),
    ({"functions": ["rotl1>rotl9"]}, "functions[0]: unknown primitive 'rotl9' in function"),
    (
        {"functions": ["identity", "rotr1>rotl1"]},
        "functions: functions 'identity' and 'rotr1>rotl1' agree on all 256 inputs",
    ),
    (
        {"encodings": {"genomic": {"alphabet": "ACGT"}, "x": {"alphabet": "AC"}}},
        "encodings.x.alphabet",
    ),
    (
        {"encodings": {"genomic": {"alphabet": "AACG"}}},
        "encodings.genomic.alphabet: symbols must be distinct",
    ),
    ({"shots": [0, 4]}, "shots[0]: 0 is less than the minimum of 1"),
    ({"shots": [4, 256]}, "shots[1]: 256 is greater than the maximum of 255"),
    ({"trials": 0}, "trials: 0 is less than the minimum of 1"),
    ({"models": [MODEL, MODEL]}, "models: the name 'm' is used by 2 entries"),
    (
        {"models": [{**MODEL, "encoding": "rna"}]},
        "models[0].encoding: 'rna' is not a key of `encodings`",
    ),
    ({"models": [{**MODEL, "name": "a/b"}]}, "models[0].name"),
    (
        {"models": [{**MODEL, "batchsize": 3}]},
        "models[0]: Additional properties are not allowed ('batchsize'",
    ),
    (
        {"models": [{**MODEL, "backend": "hf", "checkpoint": "pretrained:tiny"}]},
        "models[0].checkpoint: 'pretrained:tiny' names no recipe of `pretrain`",
    ),
    ({"trails": 8}, "Additional properties are not allowed ('trails'"),
    ({"stats": {"baseline": "mod"}}, "stats.baseline: 'mod' is not a model of `models`"),
    (
        {"stats": {"comparisons": [["mode", "orcl"]]}},
        "stats.comparisons[0][1]: 'orcl' is not a model of `models`",
    ),
    ({"figures": {"pairs": [["mode", "x"]]}}, "figures.pairs[0][1]: 'x' is not a model"),
    (
        {"figures": {"compare": ["moda"]}},
        "figures.compare[0]: 'moda' is not a model of `models`; did you mean 'mode'?",
    ),
    ({"figures": {"mistakes_models": ["q"]}}, "figures.mistakes_models[0]: 'q' is not a model"),
    ({"figures": {"reference_names": {"q": "Qwen3-8B"}}}, "figures.reference_names.q: 'q'"),
    (
        {"figures": {"reference_names": {"oracle": "Qwen3-9B"}}},
        "figures.reference_names.oracle: 'Qwen3-9B' is not a model of the published Table 4",
    ),
    ({"pretrain": {"p": {"model": {"layer": 3}}}}, "pretrain.p.model: Additional properties"),
    ({"pretrain": {"p": {"training": {"lrr": 1}}}}, "pretrain.p.training: Additional properties"),
    (
        {"pretrain": {"p": {"training": {"phases": [{"step": 3}]}}}},
        "pretrain.p.training.phases[0]: Additional properties",
    ),
    ({"pretrain": {"p": {"corpuss": {}}}}, "pretrain.p: Additional properties"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_config_names_the_key(change, message):
    config = small_config(**copy.deepcopy(change))
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert message in str(err.value)


def test_defaults_are_filled():
    config = validate_config({"models": [dict(MODEL)]})
    assert config["shots"] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert config["trials"] == 8 and config["functions"] == "all"
    assert set(config["encodings"]) == {"genomic", "linguistic"}
    assert config["bootstrap"] == {"replicates": 5000, "seed": 0}


def test_shipped_configs_are_valid():
    from conftest import REPO

    for path in [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]:
        load_config(path)


def test_user_defined_chains_are_tasks():
    config = validate_config(small_config(functions=["rotl1", "rotl1>flip_bits>swap_halves"]))
    assert config["functions"][1] == "rotl1>flip_bits>swap_halves"


def test_pretrained_checkpoints_resolve_to_the_workflow_directory():
    spec = {**MODEL, "backend": "hf", "checkpoint": "pretrained:tiny"}
    assert resolve_checkpoint(spec)["checkpoint"] == "results/pretrained/tiny"
    assert resolve_checkpoint(MODEL) == MODEL


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_workflow_refuses_bad_config_before_any_job(workdir):
    bad = write_config(workdir, small_config(functions=["rotl1", "rotl9"]), "bad.yaml")
    proc = snakemake(workdir, "--cores", "1", configfile=bad, check=False)
    assert proc.returncode != 0
    assert "functions[1]: unknown function 'rotl9'" in proc.stderr + proc.stdout
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ({"corpus": {"chromosome": 3}}, "pretrain.p: unknown corpus recipe keys: ['chromosome']"),
        (
            {"training": {"phases": [{"steps": 3, "context": 9999, "batch": 1}]}},
            "pretrain.p: a phase context (9999) exceeds model.context",
        ),
    ],
)
def test_recipe_errors_name_the_recipe(recipe, message):
    validate_config(small_config(pretrain={"p": recipe}))  # beyond what the schema sees
    errors = recipe_errors({"p": recipe})
    assert len(errors) == 1 and errors[0].startswith(message)


def test_workflow_refuses_a_pretraining_typo_at_planning(workdir):
    """A misspelled recipe key used to pass planning and fail in the pretraining job."""
    config = small_config(pretrain={"p": {"corpus": {"chromosome": 3}}})
    bad = write_config(workdir, config, "bad.yaml")
    proc = snakemake(workdir, "-n", configfile=bad, check=False)
    out = proc.stderr + proc.stdout
    assert proc.returncode != 0
    assert "pretrain.p: unknown corpus recipe keys: ['chromosome']" in out
    assert "Traceback" not in out
    cli = subprocess.run(
        [sys.executable, "-m", "genomic_icl.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
    )
    assert cli.returncode != 0 and "pretrain.p: unknown corpus recipe keys" in cli.stderr


def test_the_zoo_refuses_short_contexts_with_the_n_its_comments_give():
    """configs/zoo.yaml's refused models (context in tokens, one token per symbol)."""
    import yaml

    from conftest import REPO
    from genomic_icl.planning import check_config

    for context, largest in [(1024, 59), (512, 29), (250, 13)]:
        config = yaml.safe_load((REPO / "configs" / "zoo.yaml").read_text())
        config["models"].append(
            {
                "name": "m",
                "backend": "hf",
                "checkpoint": "x/y",
                "encoding": "genomic",
                "context": context,
            }
        )
        with pytest.raises(ConfigError, match=f"the largest n that fits is {largest}:"):
            check_config(config)
