"""Deployment files, checked as files: Apptainer definitions, conda environments,
Snakemake profiles, and the workflow's plan under the SLURM profile.

Apptainer and conda cannot build anything here (no apptainer binary, no conda
channels), so the definitions and environments are parsed and their pins checked;
the profiles are checked against the options this Snakemake and its SLURM plugin
accept and used for real dry runs from a copy of the repository.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, small_config
from genomic_icl.models import software_steps

# the software steps of the registered backends (Backend.software_step), with cpu
STEPS = software_steps()
DEFS = sorted((REPO / "containers").glob("*.def"))
ENVS = sorted((REPO / "envs").glob("*.yaml"))
PROFILES = sorted((REPO / "profiles").glob("*/config.yaml"))
SECTIONS = ("%post", "%test", "%labels", "%environment")
HEADER_KEYS = {"Bootstrap", "From", "Stage", "Registry", "Namespace", "Fingerprints"}


# --- Apptainer definition files -------------------------------------------------


def parse_def(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(header, sections) of an Apptainer definition file: header ``Key: value``
    lines before the first ``%section``; each section's body as text."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("%"):
            current = stripped.split()[0]
            assert current not in sections, f"section {current} twice"
            sections[current] = []
        elif current is None:
            if stripped and not stripped.startswith("#"):
                key, sep, value = stripped.partition(":")
                assert sep, f"header line without a key: {line!r}"
                header[key.strip()] = value.strip()
        else:
            sections[current].append(line)
    return header, {k: "\n".join(v) for k, v in sections.items()}


def requirement_lines(step: str) -> list[str]:
    """The lines of a step's requirement set envs/STEP.txt (comments and blank lines
    left out): requirements and pip options such as ``--extra-index-url``."""
    text = (REPO / "envs" / f"{step}.txt").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


REQUIREMENT = re.compile(r"([A-Za-z0-9_.\[\]-]+)(==|>=)([\w.+-]+)")


def test_every_step_has_an_image_and_an_environment():
    assert {"cpu", "hf", "evo2"} <= set(STEPS)  # what the packaged backends name
    assert {p.stem for p in DEFS} >= set(STEPS)
    assert {p.stem for p in ENVS} >= set(STEPS)
    assert all((REPO / "envs" / f"{step}.txt").is_file() for step in STEPS)
    # the config's `containers:` names exactly the steps (its keys are checked by the schema)
    schema = yaml.safe_load((REPO / "src/genomic_icl/schemas/config.schema.yaml").read_text())
    assert set(schema["properties"]["containers"]["properties"]) == set(STEPS)


def test_a_models_software_is_its_backends_step(monkeypatch):
    """A backend class names its step; its models' inference runs in that step's image
    and conda env unless the entry names its own image."""
    from genomic_icl.deploy import model_image, model_step, step_conda
    from genomic_icl.models import BACKENDS, Backend

    class Served(Backend):
        name = "served"
        software_step = "served"

        def run(self, batch):
            raise NotImplementedError

    monkeypatch.setitem(BACKENDS, "served", Served)
    steps = [model_step({"backend": b}) for b in ("reference", "hf", "evo2")]
    assert steps == ["cpu", "hf", "evo2"]
    assert "served" in software_steps()
    entry = {"backend": "served"}
    assert model_image(entry, {}, "/repo") == "/repo/containers/served.sif"
    assert model_image(entry, {"served": "docker://lab/served:1"}, "/repo") == (
        "docker://lab/served:1"
    )
    own = {**entry, "resources": {"container": "images/mine.sif"}}
    assert model_image(own, {"served": "docker://lab/served:1"}, "/repo") == "/repo/images/mine.sif"
    assert step_conda(model_step(entry), "/repo") == "/repo/envs/served.yaml"


@pytest.mark.parametrize("step", STEPS)
def test_requirement_set(step):
    lines = requirement_lines(step)
    reqs = [ln for ln in lines if not ln.startswith("-")]
    assert {ln.split()[0] for ln in lines if ln.startswith("-")} <= {"--extra-index-url"}
    names = {}
    for req in reqs:
        m = REQUIREMENT.fullmatch(req)
        assert m, f"envs/{step}.txt: {req!r} is neither pinned (==) nor a floor (>=)"
        names[m[1].lower().replace("_", "-")] = m[2]
    # what the step's jobs run: snakemake for `script:` rules, the library's imports
    assert names.get("snakemake") == "=="
    assert {"numpy", "pandas", "pyarrow", "pyyaml", "jsonschema", "tqdm"} <= set(names)
    if step == "evo2":  # torch is the base's (NGC image, conda-forge), never pip's
        assert "torch" not in names and names["evo2"] == names["vtx"] == "=="
    else:  # the cpu and hf sets pin everything
        assert set(names.values()) == {"=="} and names["torch"] == "=="


def test_cpu_set_holds_every_runtime_dependency():
    """The CPU image runs every CPU step, `snakemake --report` included."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {
        REQUIREMENT.fullmatch(r)[1].lower().replace("_", "-")
        for r in requirement_lines("cpu")
        if not r.startswith("-")
    }
    for dep in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", dep)[0].lower().replace("_", "-")
        assert name in names, f"envs/cpu.txt lacks the runtime dependency {dep!r}"
    assert "pygments" in names


@pytest.mark.parametrize("path", DEFS, ids=lambda p: p.name)
def test_definition_file(path):
    header, sections = parse_def(path.read_text())
    assert header.get("Bootstrap") == "docker", header
    assert set(header) <= HEADER_KEYS, header
    image = header.get("From", "")
    # a pinned base image: an explicit tag that is not `latest` (or a digest)
    assert re.fullmatch(r"[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})", image), image
    assert not image.endswith(":latest"), image
    for section in SECTIONS:
        assert section in sections and sections[section].strip(), f"{section} missing or empty"
    labels = dict(line.split(None, 1) for line in sections["%labels"].splitlines() if line.strip())
    assert "org.opencontainers.image.title" in labels and "genomic_icl.step" in labels
    step = labels["genomic_icl.step"]
    # the image installs its step's requirement set, the one its conda env uses
    files = [ln.split() for ln in sections["%files"].splitlines() if ln.strip()]
    assert [f"envs/{step}.txt", "/opt/genomic-icl/requirements.txt"] in files
    post = re.sub(r"\\\n\s*", " ", sections["%post"])
    assert re.search(r"pip install .*-r /opt/genomic-icl/requirements\.txt", post), post
    # the only other pip installs are the library itself (no dependencies)
    for line in post.splitlines():
        if "pip install" in line and "requirements.txt" not in line:
            assert "--no-deps /opt/genomic-icl" in line, line
    # the base image's Python is the one the set is resolved for
    python = re.search(r"^# python: (\d+\.\d+)$", (REPO / "envs" / f"{step}.txt").read_text(), re.M)
    assert python, f"envs/{step}.txt names no `# python:`"
    if image.startswith("python:"):
        assert image.split(":")[1].startswith(python[1] + "."), (image, python[1])
    assert "import" in sections["%test"]
    # the image holds the project library and what its step needs
    assert "genomic_icl" in sections["%test"]
    needs = {"hf": ["transformers", "torch"], "evo2": ["evo2", "transformer_engine", "flash_attn"]}
    for module in needs.get(path.stem, []):
        assert re.search(rf"import [\w., ]*\b{module}\b", sections["%test"]), module
    # files copied in exist (paths relative to the repository root)
    for line in sections.get("%files", "").splitlines():
        if line.strip() and not line.strip().startswith("#"):
            assert (REPO / line.split()[0]).exists(), line


def test_evo2_image_keeps_the_ngc_constraints():
    _, sections = parse_def((REPO / "containers" / "evo2.def").read_text())
    post = sections["%post"]
    assert "/etc/pip/constraint.txt" in post and "--constraint" in post


def test_parse_def_rejects_a_broken_file():
    with pytest.raises(AssertionError):
        parse_def("Bootstrap docker\n%post\n")
    header, sections = parse_def(
        "Bootstrap: docker\nFrom: python:3.11\n%post\n  pip install a==1\n"
    )
    assert header == {"Bootstrap": "docker", "From": "python:3.11"}
    assert sections["%post"].strip() == "pip install a==1"


# --- conda environments ------------------------------------------------------

#: conda packages of the envs, by the channel that has them
CHANNEL_OF = {"snakemake": "bioconda", "snakemake-minimal": "bioconda"}


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_conda_environment(path):
    env = yaml.safe_load(path.read_text())
    assert set(env) <= {"name", "channels", "dependencies"}, env.keys()
    assert env["name"].startswith("genomic-icl-")
    assert env["channels"] and "defaults" not in env["channels"]
    deps = env["dependencies"]
    names = {}
    pip = None
    for dep in deps:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, dep
            pip = dep["pip"]
        else:
            m = re.fullmatch(r"([A-Za-z0-9_.-]+)=([\w.+*-]+)", dep)
            assert m, f"unpinned: {dep}"
            names[m[1]] = m[2]
    # every conda package comes from a channel the env names
    for name in names:
        channel = CHANNEL_OF.get(name, "conda-forge")
        assert channel in env["channels"], f"{path.name}: {name} is on {channel}"
    # the Python packages are the step's requirement set, line for line
    assert pip == requirement_lines(path.stem), f"{path.name} and envs/{path.stem}.txt differ"
    python = re.search(
        r"^# python: (\d+\.\d+)$", (REPO / "envs" / f"{path.stem}.txt").read_text(), re.M
    )
    assert names["python"] == python[1], (names["python"], python[1])


def test_rules_name_existing_environments_and_images():
    text = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    for env in re.findall(r'"\.\./(envs/[\w.-]+\.yaml)"', text):
        assert (REPO / env).exists(), env


# --- profiles ----------------------------------------------------------------


def snakemake_options() -> set[str]:
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"], capture_output=True, text=True
    ).stdout
    return set(re.findall(r"--([a-z][a-z0-9-]*)", out))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.parent.name)
def test_profile_names_only_known_options(path):
    profile = yaml.safe_load(path.read_text())
    assert isinstance(profile, dict) and profile
    unknown = set(profile) - snakemake_options()
    assert not unknown, f"{path}: options Snakemake does not know: {unknown}"


def test_slurm_profile_settings():
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    # no accounting database needed: job status from squeue
    assert profile["slurm-status-command"] == "squeue"
    assert profile["retries"] >= 1 and profile["latency-wait"] >= 30
    assert {"mem_mb", "runtime"} <= set(profile["default-resources"])
    # the workflow profile must not override what the SLURM profile sets
    default = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert not set(default) & {"executor", "jobs", "retries", "default-resources"}
    assert "code" not in default["rerun-triggers"]
    # `--profile slurm` from the repository root finds ./slurm
    assert (REPO / "slurm").resolve() == (REPO / "profiles/slurm").resolve()


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The workflow files of the repository, in a temporary directory."""
    root = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.sif")
    for name in (
        "Snakefile",
        "rules",
        "scripts",
        "src",
        "profiles",
        "report",
        "envs",
        "containers",
        "configs",
        "config.yaml",
        "slurm",
    ):
        src = REPO / name
        if src.is_symlink():
            (root / name).symlink_to(src.readlink())
        elif src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore, symlinks=True)
        elif src.exists():
            shutil.copy2(src, root / name)
    return root


def dry_run(root: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", *args], cwd=root, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


slurm_plugin = pytest.mark.skipif(
    importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
    reason="snakemake-executor-plugin-slurm is not installed",
)


def planned_resources(stdout: str) -> dict[tuple[str, str], dict[str, str]]:
    """(rule, wildcards) -> resources of each job of a dry run's plan."""
    jobs = {}
    for block in stdout.split("\n\n"):
        rule = re.search(r"^rule (\w+):", block, re.M)
        wc = re.search(r"wildcards: (.*)", block)
        res = re.search(r"resources: (.*)", block)
        if rule and res:
            key = (rule[1], wc[1] if wc else "")
            jobs[key] = dict(kv.split("=", 1) for kv in res[1].split(", "))
    return jobs


@slurm_plugin
def test_profile_slurm_from_the_repository_root(repo_copy):
    """`snakemake --profile slurm` as core facilities type it, run where they do."""
    proc = dry_run(repo_copy, "--profile", "slurm")
    assert re.search(
        r"Using profiles? slurm and workflow specific profile profiles/default", proc.stderr
    )
    assert "Job stats:" in proc.stdout


@slurm_plugin
def test_paper_plan_requests_each_jobs_resources(repo_copy):
    # its planning time is measured by benchmarks/plan.py, not asserted here
    proc = dry_run(repo_copy, "--profile", "slurm", "--configfile", "configs/paper.yaml")
    jobs = planned_resources(proc.stdout)
    paper = yaml.safe_load((REPO / "configs/paper.yaml").read_text())
    for model in paper["models"]:
        want = model.get("resources", {})
        got = jobs[("predict", f"model={model['name']}")]
        assert got["gpu"] == str(want.get("gpu", 0)), (model["name"], got)
        if "mem_mb" in want:
            assert got["mem_mb"] == str(want["mem_mb"]), (model["name"], got)
        if "runtime" in want:
            assert got["runtime"] == str(want["runtime"]), (model["name"], got)
    cpu_steps = [r for (rule, _), r in jobs.items() if rule != "predict"]
    assert cpu_steps and all("gpu" not in r and int(r["mem_mb"]) <= 8000 for r in cpu_steps)


FAKE_SACCTMGR = """#!/bin/sh
# stand-in for sacctmgr: the user's DefaultAccount, and a record of the call
echo "$@" >> "$FAKE_SACCTMGR_LOG"
echo lab-default
"""


@slurm_plugin
def test_jobs_get_the_clusters_default_account_and_gres(repo_copy, tmp_path):
    """An empty account means the user's default account on the cluster, asked of
    sacctmgr once at planning (never guessed from past jobs); a model's own
    account wins; `slurm.gpu_request: gres` asks for GPUs as --gres=gpu:N."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sacctmgr").write_text(FAKE_SACCTMGR)
    (bin_dir / "sacctmgr").chmod(0o755)
    log = tmp_path / "sacctmgr.log"
    paper = yaml.safe_load((REPO / "configs/paper.yaml").read_text())
    entry = next(m for m in paper["models"] if m["name"] == "evo2-1b")
    entry["resources"]["slurm_account"] = "lab-evo"
    paper["slurm"] = {"gpu_request": "gres"}
    (repo_copy / "site.yaml").write_text(yaml.safe_dump(paper))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SACCTMGR_LOG": str(log)}
    plan = [sys.executable, "-m", "snakemake", "-n", "--profile", "slurm"]
    plan += ["--configfile", "site.yaml"]
    proc = subprocess.run(plan, cwd=repo_copy, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned_resources(proc.stdout)
    accounts = {key: res.get("slurm_account") for key, res in jobs.items()}
    assert accounts.pop(("predict", "model=evo2-1b")) == "lab-evo"
    assert set(accounts.values()) == {"lab-default"}, accounts  # CPU steps included
    assert log.read_text().count("DefaultAccount") == 1
    for model in paper["models"]:
        res = jobs[("predict", f"model={model['name']}")]
        gpus = model.get("resources", {}).get("gpu", 0)
        assert "gpu" not in res and res.get("gres", "") == (f"gpu:{gpus}" if gpus else "")
    # a config account is used as it is: sacctmgr is not asked
    paper["slurm"] = {"account": "lab-site"}
    (repo_copy / "site.yaml").write_text(yaml.safe_dump(paper))
    log.unlink()
    proc = subprocess.run(plan, cwd=repo_copy, capture_output=True, text=True, env=env)
    accounts = {k: r.get("slurm_account") for k, r in planned_resources(proc.stdout).items()}
    assert accounts.pop(("predict", "model=evo2-1b")) == "lab-evo"
    assert set(accounts.values()) == {"lab-site"} and not log.exists()


def test_retry_requests_grow_up_to_the_cap():
    from genomic_icl.workflow import retry_request

    assert [retry_request(360, a) for a in (1, 2, 3)] == [360, 540, 720]
    assert [retry_request(360, a, cap=480) for a in (1, 2, 3)] == [360, 480, 480]
    assert retry_request(256000, 3, cap=400000) == 400000
    assert retry_request(500, 2, cap=100) == 500  # never below the first request


def test_a_request_above_its_cap_is_a_config_error():
    from genomic_icl.config import ConfigError, validate_config

    config = yaml.safe_load((REPO / "configs/paper.yaml").read_text())
    config["slurm"] = {"max_runtime": 600}  # below Evo 2 40B's first request
    i = [m["name"] for m in config["models"]].index("evo2-40b")
    with pytest.raises(ConfigError, match=rf"models\[{i}\]\.resources\.runtime: 720 is above"):
        validate_config(config)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` is not installed")
def test_rulegraph_and_dag_render(repo_copy):
    for graph in ("--rulegraph", "--dag"):
        out = subprocess.run(
            [sys.executable, "-m", "snakemake", graph, "--configfile", "configs/paper.yaml"],
            cwd=repo_copy,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        svg = subprocess.run(["dot", "-Tsvg"], input=out, capture_output=True, text=True)
        assert svg.returncode == 0 and "<svg" in svg.stdout, svg.stderr


# --- --sdm apptainer, with a stand-in for the apptainer binary -----------------

FAKE_APPTAINER = r'''
"""Stand-in for apptainer: records the image of each `exec` and runs the command
on the host. Real isolation cannot be had here; which image each job asks for can."""
import os, subprocess, sys
args = sys.argv[1:]
if args[:1] == ["--version"]:
    print("apptainer version 1.3.6"); sys.exit(0)
args = [a for a in args if a not in ("--quiet", "--silent")]
assert args[0] == "exec", args
with_value = {"--home", "--bind", "-B", "--pwd", "--env", "--env-file", "--overlay"}
rest, i = args[1:], 0
while rest[i].startswith("-"):
    i += 2 if rest[i] in with_value else 1
image, command = rest[i], rest[i + 1:]
with open(os.environ["FAKE_APPTAINER_LOG"], "a") as log:
    log.write(f"{image}\t{' '.join(command)[-300:]}\n")
sys.exit(subprocess.call(command))
'''


def test_sdm_apptainer_runs_each_step_in_its_image(repo_copy, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The stand-in runs under this interpreter, and so does `python` inside the
    # "image" (Snakemake runs a containerized script with plain `python`): the test
    # must not depend on which python comes first on PATH.
    fake = bin_dir / "apptainer"
    fake.write_text(f"#!{sys.executable}{FAKE_APPTAINER}")
    image_python = bin_dir / "python"
    image_python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for tool in (fake, image_python):
        tool.chmod(0o755)
    # apptainer installs `singularity` as an alias: older Snakemake 9 releases call that
    (bin_dir / "singularity").symlink_to(fake)
    for step in STEPS:
        (repo_copy / "containers" / f"{step}.sif").write_bytes(b"")
    (repo_copy / "containers" / "custom.sif").write_bytes(b"")
    config = small_config(shots=[1], encodings={"genomic": {"alphabet": "ACGT"}})
    config["models"][1]["resources"] = {"container": "containers/custom.sif"}
    config["containers"] = {"cpu": "containers/cpu.sif"}
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    log = tmp_path / "apptainer.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_APPTAINER_LOG": str(log)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(repo_copy / "Snakefile"),
            "-d",
            str(workdir),
            "--configfile",
            str(workdir / "config.yaml"),
            "--cores",
            "2",
            "--sdm",
            "apptainer",
            "--apptainer-args",
            f"--nv --bind {workdir}",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    calls = [line.split("\t") for line in log.read_text().splitlines()]
    images = {}
    for image, command in calls:
        images.setdefault(Path(image).name, []).append(command)
    assert set(images) == {"cpu.sif", "custom.sif"}, images.keys()
    # the oracle's inference ran in its own image, everything else in the CPU image
    assert len(images["custom.sif"]) == 1 and ".predict.py" in images["custom.sif"][0]
    assert sum(".predict.py" in c for c in images["cpu.sif"]) == 1  # the mode learner
    assert any(".prompts.py" in c for c in images["cpu.sif"])
