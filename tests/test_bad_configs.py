"""Bad configs are refused by both entry points, `genomic-icl validate` and planning
(`snakemake -n`), each naming the key, never with a traceback (issue 20).

Every case is one change to the small valid config of conftest (or a raw file). The
planning side runs the real `snakemake -n` command line on all of them in one Python
process (tests/support/plan_configs.py: Snakemake's own `snakemake.cli.main` per
config), since one `snakemake` process per config costs 2-3 s, mostly its import;
two cases are also planned by a separate `snakemake -n` process to show that the
in-process runs give the same refusals.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SNAKEMAKE, TINY_PRETRAIN, small_config
from genomic_icl import cli

MODE = {"name": "mode", "backend": "reference", "checkpoint": "mode", "encoding": "genomic"}
PRETRAINED = {"name": "dna", "backend": "hf", "checkpoint": "pretrained:p", "encoding": "genomic"}
SHIPPED = REPO / "src" / "genomic_icl" / "data" / "pretrained" / "dna"
LOCAL_CKPT = "./ckpt"  # a copy of the shipped DNA model's config.json and tokenizer.json


def model(**kw):
    return {"models": [{**MODE, "name": "bad", **kw}]}


def pretrained(shots=None, **kw):
    change = {"models": [{**PRETRAINED, **kw}], "pretrain": {"p": copy.deepcopy(TINY_PRETRAIN)}}
    return change if shots is None else {**change, "shots": shots}


def local(**kw):
    return {"models": [{"name": "loc", "backend": "hf", "checkpoint": LOCAL_CKPT, **kw}]}


#: (id, one change to the small config or the raw text of a file, text every refusal holds)
CASES = [
    # functions and encodings
    ("function-unknown", {"functions": ["rotl1", "rotl9"]}, "functions[1]: unknown function"),
    ("function-chain", {"functions": ["rotl1>rotl9"]}, "functions[0]: unknown primitive"),
    ("functions-agree", {"functions": ["identity", "rotr1>rotl1"]}, "functions: functions"),
    ("functions-string", {"functions": "some"}, "functions:"),
    (
        "alphabet-short",
        {"encodings": {"genomic": {"alphabet": "AC"}}},
        "encodings.genomic.alphabet",
    ),
    (
        "alphabet-repeat",
        {"encodings": {"genomic": {"alphabet": "AACG"}}},
        "encodings.genomic.alphabet",
    ),
    (
        "alphabet-space",
        {"encodings": {"genomic": {"alphabet": "AC T"}}},
        "encodings.genomic.alphabet",
    ),
    (
        "alphabet-tab",
        {"encodings": {"genomic": {"alphabet": "ACG\t"}}},
        "encodings.genomic.alphabet",
    ),
    ("encodings-empty", {"encodings": {}}, "encodings:"),
    # shots, trials, seed: range and integers written as floats
    ("shots-zero", {"shots": [0, 4]}, "shots[0]"),
    ("shots-256", {"shots": [4, 256]}, "shots[1]"),
    ("shots-float", {"shots": [1.0, 4.0]}, "shots[0]: 1.0 is a float"),
    ("shots-repeat", {"shots": [4, 4]}, "shots:"),
    ("trials-zero", {"trials": 0}, "trials:"),
    ("trials-float", {"trials": 2.0}, "trials: 2.0 is a float"),
    ("trials-bool", {"trials": True}, "trials:"),
    ("seed-float", {"seed": 1.5}, "seed:"),
    ("seed-negative", {"seed": -1}, "seed:"),
    ("unknown-top-key", {"trails": 8}, "'trails'"),
    # YAML itself
    (
        "yaml-duplicate-key",
        "seed: 1\ntrials: 2\nmodels: [{name: m, backend: reference, "
        "checkpoint: mode, encoding: genomic}]\ntrials: 3\n",
        "line 4: key 'trials' is given twice",
    ),
    (
        "yaml-duplicate-nested",
        "models:\n  - name: m\n    backend: reference\n    checkpoint: mode\n"
        "    encoding: genomic\n    checkpoint: oracle\n",
        "line 6: key 'checkpoint' is given twice",
    ),
    ("yaml-not-mapping", "- 1\n- 2\n", "keys at top level"),
    ("models-missing", {"models": None}, "models"),
    ("models-empty", {"models": []}, "models:"),
    # model entries: schema and names
    ("model-names-twice", {"models": [MODE, MODE]}, "models: the name 'mode' is used by 2"),
    ("model-name-slash", model(name="a/b"), "models[0].name"),
    ("model-unknown-key", model(batchsize=3), "models[0]: Additional properties"),
    ("model-encoding", model(encoding="rna"), "models[0].encoding: 'rna'"),
    ("model-dtype", model(dtype="fp8"), "models[0].dtype"),
    ("model-device", model(device="gpu"), "models[0].device"),
    ("model-batch-tokens", model(batch_tokens=0), "models[0].batch_tokens"),
    ("params-zero", model(params=0), "models[0].params"),
    ("params-negative", model(params=-5), "models[0].params"),
    ("context-one", model(context=1), "models[0].context"),
    (
        "mem-above-cap",
        model(resources={"mem_mb": 9000, "max_mem_mb": 100}),
        "models[0].resources.mem_mb",
    ),
    (
        "pretrained-no-recipe",
        model(backend="hf", checkpoint="pretrained:tiny"),
        "models[0].checkpoint",
    ),
    # model entries as their backends see them at planning
    ("backend-unknown", model(backend="nope"), "models[0].backend: unknown backend 'nope'"),
    ("backend-typo", model(backend="hff"), "models[0].backend: unknown backend 'hff'"),
    ("backend-no-module", model(backend="no_such_pkg.mod:Cls"), "models[0].backend: backend"),
    ("backend-no-class", model(backend="genomic_icl.models.hf:Nope"), "models[0].backend: backend"),
    ("backend-not-backend", model(backend="genomic_icl.config:ConfigError"), "not a subclass"),
    ("reference-other-ckpt", model(checkpoint="Qwen/Qwen3-0.6B-Base"), "unknown reference learner"),
    (
        "hf-no-checkpoint",
        {"models": [{"name": "h", "backend": "hf", "encoding": "genomic"}]},
        "models[0]: model 'h': `checkpoint:`",
    ),
    ("hf-path-missing", model(backend="hf", checkpoint="./no/such/dir"), "does not exist"),
    ("hf-dir-no-config", model(backend="hf", checkpoint="./"), "holds no config.json"),
    (
        "evo2-linguistic",
        model(backend="evo2", checkpoint="evo2_7b", encoding="linguistic"),
        "models[0].encoding: model 'bad'",
    ),
    ("evo2-unknown", model(backend="evo2", checkpoint="evo2_9b"), "unknown Evo 2 model"),
    ("evo2-float16", model(backend="evo2", checkpoint="evo2_7b", dtype="float16"), "float16"),
    # tokenizers and context
    (
        "unknown-token-recipe",
        pretrained(encoding="linguistic"),
        "models[0].encoding: model 'dna' reads symbols '0123456789'",
    ),
    (
        "unknown-token-tokenizer",
        {**local(encoding="w"), "encodings": {"w": {"alphabet": "ACGW"}}},
        "models[0].encoding: model 'loc' reads symbols 'W'",
    ),
    ("context-recipe", pretrained(shots=[1, 40]), "pretrain.p.model.context"),
    (
        "context-declared",
        pretrained(shots=[1, 8], context=100),
        "models[0].context); the largest n",
    ),
    (
        "context-config-json",
        {**local(encoding="genomic"), "shots": [1, 200]},
        "max_position_embeddings",
    ),
    # pretraining recipes
    ("pretrain-model-key", {"pretrain": {"p": {"model": {"layer": 3}}}}, "pretrain.p.model"),
    ("pretrain-training-key", {"pretrain": {"p": {"training": {"lrr": 1}}}}, "pretrain.p.training"),
    (
        "pretrain-phase-key",
        {"pretrain": {"p": {"training": {"phases": [{"step": 3}]}}}},
        "pretrain.p.training.phases[0]",
    ),
    ("pretrain-section", {"pretrain": {"p": {"corpuss": {}}}}, "pretrain.p"),
    (
        "pretrain-corpus-key",
        {"pretrain": {"p": {"corpus": {"chromosome": 3}}}},
        "pretrain.p: unknown corpus recipe keys",
    ),
    (
        "pretrain-phase-context",
        {"pretrain": {"p": {"training": {"phases": [{"steps": 3, "context": 9999, "batch": 1}]}}}},
        "pretrain.p: a phase context",
    ),
    # statistics, figures, bootstrap
    ("stats-baseline", {"stats": {"baseline": "mod"}}, "stats.baseline"),
    ("stats-comparison", {"stats": {"comparisons": [["mode", "orcl"]]}}, "stats.comparisons[0][1]"),
    ("stats-alpha", {"stats": {"alpha": 1.5}}, "stats.alpha"),
    ("figures-pairs", {"figures": {"pairs": [["mode", "x"]]}}, "figures.pairs[0][1]"),
    ("figures-compare", {"figures": {"compare": ["moda"]}}, "figures.compare[0]"),
    ("figures-mistakes", {"figures": {"mistakes_models": ["q"]}}, "figures.mistakes_models[0]"),
    (
        "figures-refname",
        {"figures": {"reference_names": {"oracle": "Qwen3-9B"}}},
        "figures.reference_names.oracle",
    ),
    ("bootstrap-one", {"bootstrap": {"replicates": 1}}, "bootstrap.replicates"),
    ("bootstrap-199", {"bootstrap": {"replicates": 199}}, "bootstrap.replicates"),
    ("reference-curves", {"reference_curves": "yes"}, "reference_curves"),
    # where things go, and how big
    ("model-cache-file", {"model_cache": "./a_file"}, "model_cache: ./a_file exists and is not"),
    ("slurm-request", {"slurm": {"gpu_request": "gpu"}}, "slurm.gpu_request"),
    ("size-trials", {"trials": 10_000_000}, "limits.max_predictions"),
    ("size-disk", {"limits": {"max_disk_gb": 0.00001}}, "limits.max_disk_gb"),
]


def _write(dir_: Path, case_id: str, change) -> Path:
    """The case's config file in its own directory (with a file and a checkpoint
    directory some cases point at)."""
    path = dir_ / case_id / "bad.yaml"
    path.parent.mkdir(parents=True)
    (path.parent / "a_file").write_text("not a directory\n")
    ckpt = path.parent / LOCAL_CKPT
    ckpt.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(SHIPPED / name, ckpt / name)
    if isinstance(change, str):
        path.write_text(change)
    else:
        config = small_config(**copy.deepcopy(change))
        config = {k: v for k, v in config.items() if v is not None}
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> dict[str, tuple[int, str]]:
    """`snakemake -n` of every case (and of the valid config, as a control), in one
    process: case id -> (exit status, output)."""
    root = tmp_path_factory.mktemp("bad_configs")
    paths = {cid: _write(root, cid, change) for cid, change, _ in CASES}
    paths["valid"] = _write(root, "valid", {})
    cmd = [sys.executable, str(REPO / "tests/support/plan_configs.py"), str(REPO / "Snakefile")]
    subprocess.run([*cmd, *map(str, paths.values())], check=True, timeout=600, cwd=root)
    return {
        cid: (int(Path(f"{p}.rc").read_text()), Path(f"{p}.out").read_text())
        for cid, p in paths.items()
    }


def assert_refused(code: int, out: str, key: str) -> None:
    assert code != 0, out
    assert key in out, out
    assert "Traceback" not in out, out
    frames = [line for line in out.splitlines() if line.strip().startswith('File "')]
    assert not [f for f in frames if "/genomic_icl/" in f or "site-packages" in f], out


def test_the_suite_is_large_enough():
    assert len({cid for cid, _, _ in CASES}) == len(CASES) >= 50


@pytest.mark.parametrize(("case_id", "change", "key"), CASES, ids=[c[0] for c in CASES])
def test_validate_refuses(case_id, change, key, tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, case_id, change)
    monkeypatch.chdir(path.parent)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genomic-icl validate: ") and key in err, err


@pytest.mark.parametrize(("case_id", "change", "key"), CASES, ids=[c[0] for c in CASES])
def test_planning_refuses(planned, case_id, change, key):
    assert_refused(*planned[case_id], key)


def test_planning_plans_the_valid_control(planned):
    code, out = planned["valid"]
    assert code == 0, out
    assert "note: shots: 2 shot count(s)" in out  # the stats that cannot be computed


@pytest.mark.parametrize("case_id", ["trials-float", "backend-no-module"])
def test_a_separate_snakemake_process_refuses_alike(planned, case_id, tmp_path):
    change = dict(CASES[[c[0] for c in CASES].index(case_id)][1])
    path = _write(tmp_path, case_id, change)
    proc = subprocess.run(
        [
            *SNAKEMAKE,
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(path.parent),
            "--configfile",
            str(path),
            "-n",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=path.parent,
    )
    key = CASES[[c[0] for c in CASES].index(case_id)][2]
    assert_refused(proc.returncode, proc.stdout + proc.stderr, key)
    message = [ln for ln in planned[case_id][1].splitlines() if key in ln]
    assert message and message[0] in proc.stdout + proc.stderr


def test_validate_names_the_line_of_a_yaml_syntax_error(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("seed: 1\nshots: [1, 4\ntrials: 2\n")
    assert cli.main(["validate", str(path)]) == 2
    assert "bad.yaml: line 3, column 7: not valid YAML" in capsys.readouterr().err


def test_planning_names_the_line_of_a_yaml_syntax_error_in_config_yaml(tmp_path):
    """config.yaml (read by the Snakefile) is checked strictly before Snakemake reads it;
    a --configfile is read by Snakemake's command line before any workflow code runs,
    and Snakemake's own message names no line."""
    (tmp_path / "config.yaml").write_text("seed: 1\nshots: [1, 4\ntrials: 2\n")
    proc = subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "-n"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert_refused(proc.returncode, proc.stdout + proc.stderr, "line 3, column 7: not valid YAML")


def test_context_message_gives_the_largest_n(tmp_path, capsys):
    from genomic_icl.config import ConfigError
    from genomic_icl.planning import check_config

    config = small_config(**pretrained(shots=[1, 40]))
    with pytest.raises(ConfigError) as err:
        check_config(config)
    # 17 n + 16 symbols (one token each) within the recipe's context of 512
    assert "take 696 tokens" in str(err.value) and "the largest n that fits is 29" in str(err.value)
    assert json.loads((SHIPPED / "config.json").read_text())["max_position_embeddings"] == 2304
