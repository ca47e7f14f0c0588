"""The README's commands work after the README's own install.

The install command gives a Python environment with this project's runtime
dependencies and what they depend on, nothing else. The test builds exactly that
environment without downloading anything: a fresh virtual environment whose
site-packages links, from the packages installed here, only the closure of
``pyproject.toml``'s ``dependencies`` (and of the ``slurm`` extra, for the cluster
command). Test tools (pytest and what it pulls in, pygments among them) are not
in it unless the project declares them, which is how the report's missing
pygments went unnoticed before.

In that environment the test runs the README's commands: the default run and the
cluster command as dry runs (the real default run takes minutes and the cluster
command needs a cluster), a real run of a small config, and the report built from
it, as the README has it. Apptainer is not installed here: a stand-in answers
the version check of the cluster command's dry run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import REPO, small_config, write_config

pytestmark = pytest.mark.slow


def readme_commands() -> list[str]:
    """Every command line of the README's ``bash`` blocks (comments left out)."""
    text = (REPO / "README.md").read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.extend(part.strip() for part in line.split(" && "))
    return lines


def closure(requirements: list[str]) -> set[str]:
    """Installed distributions that ``requirements`` need, transitively (markers
    evaluated for this interpreter, no extras)."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = req.name.lower().replace("_", "-")
        if name in seen:
            continue
        dist = metadata.distribution(req.name)  # missing: the test cannot build the env
        seen.add(name)
        for sub in dist.requires or []:
            sub = Requirement(sub)
            if sub.marker is None or sub.marker.evaluate({"extra": ""}):
                todo.append(Requirement(str(sub).split(";")[0]))
            for extra in req.extras:  # e.g. pkg[extra]
                if sub.marker is not None and sub.marker.evaluate({"extra": extra}):
                    todo.append(Requirement(str(sub).split(";")[0]))
    return seen


def link_into(site: Path, dist_name: str) -> None:
    """Link a distribution's top-level files and directories into ``site``."""
    dist = metadata.distribution(dist_name)
    root = Path(dist.locate_file(""))
    tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
    for top in tops:
        src, dst = root / top, site / top
        if not src.exists() or top == "__pycache__":
            continue
        if dst.is_symlink() and src.is_dir():  # a namespace shared by two distributions
            shared = dst.resolve()
            dst.unlink()
            dst.mkdir()
            for child in shared.iterdir():
                (dst / child.name).symlink_to(child)
        if dst.is_dir() and not dst.is_symlink():
            for child in src.iterdir():
                if not (dst / child.name).exists():
                    (dst / child.name).symlink_to(child)
        elif not dst.exists():
            dst.symlink_to(src)


@pytest.fixture(scope="module")
def readme_env(tmp_path_factory) -> Path:
    """A virtual environment holding only what the README's install brings."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["slurm"]]
    try:
        names = closure(wanted)
    except metadata.PackageNotFoundError as err:
        pytest.skip(f"a runtime dependency is not installed here: {err}")
    venv = tmp_path_factory.mktemp("readme") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    out = subprocess.run(
        [venv / "bin" / "python", "-c", purelib], capture_output=True, text=True, check=True
    )
    site = Path(out.stdout.strip())
    for name in sorted(names):
        link_into(site, name)
    # no Apptainer on this machine: a stand-in answers the version check that
    # Snakemake makes while planning `--sdm apptainer` (dry runs start no job)
    fake = venv / "bin" / "apptainer"
    fake.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && echo "apptainer version 1.3.6" && exit 0\nexit 1\n'
    )
    fake.chmod(0o755)
    return venv


def run_in(venv: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"PATH": f"{venv / 'bin'}:{env['PATH']}", "PYTHONHASHSEED": "0"}
    env["PYTHONPATH"] = str(REPO / "src")  # the editable install of `pip install -e .`
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", *args],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip


def test_readme_install_commands_take_the_cpu_build():
    """Each install first takes torch alone from PyTorch's CPU index, then the project
    from the package index only: a site that cannot reach the CPU index pays pip's
    retries once, not once per requirement of the project."""
    commands = readme_commands()
    installs = [i for i, c in enumerate(commands) if c.startswith("pip install") and " -e " in c]
    assert len(installs) == 2, "the README has no install command"
    for i in installs:
        project, torch_first = shlex.split(commands[i]), shlex.split(commands[i - 1])
        assert "--extra-index-url" not in project and "torch==2.13.0" not in project
        assert torch_first[:2] == ["pip", "install"]
        assert "https://download.pytorch.org/whl/cpu" in torch_first
        assert [w for w in torch_first[2:] if not w.startswith("-")] == [
            "https://download.pytorch.org/whl/cpu",
            "torch==2.13.0",
        ]


def test_environment_lacks_test_tools(readme_env):
    proc = run_in(readme_env, ["pytest", "--version"], REPO)
    assert proc.returncode != 0  # pytest is not a runtime dependency: not linked
    proc = run_in(readme_env, ["pygments", "-V"], REPO)
    assert proc.returncode == 0, proc.stderr  # the report needs it: declared


def test_readme_commands_run(readme_env, tmp_path):
    commands = [shlex.split(c) for c in readme_commands() if c.startswith("snakemake")]
    assert ["snakemake", "--cores", "2"] in commands
    assert ["snakemake", "--report", "results/report.html"] in commands
    # the README's runs, planned from a copy of the repository root
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Snakefile", "rules", "scripts", "profiles", "report", "envs", "configs"):
        (repo / name).symlink_to(REPO / name)
    (repo / "config.yaml").symlink_to(REPO / "config.yaml")
    (repo / "slurm").symlink_to("profiles/slurm")
    for cmd in commands:
        if "--report" in cmd:
            continue
        proc = run_in(readme_env, [*cmd, "-n"], repo)
        if proc.returncode != 0:
            pytest.fail(f"{shlex.join(cmd)} -n:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        assert "Job stats:" in proc.stdout, cmd
    # a real run of a small config, then the report exactly as the README writes it
    work = tmp_path / "work"
    work.mkdir()
    write_config(work, small_config(shots=[1, 2], encodings={"genomic": {"alphabet": "ACGT"}}))
    base = ["snakemake", "-s", str(REPO / "Snakefile"), "--configfile", "config.yaml"]
    proc = run_in(readme_env, [*base, "--cores", "2"], work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_in(readme_env, [*base, "--report", "results/report.html"], work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / "results" / "report.html").stat().st_size > 10_000
