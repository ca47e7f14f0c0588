"""The workflow where only Snakemake is installed, as the Snakemake workflow catalog
checks it: `snakemake --lint` in the repository, and a dry run of the default config.
The Snakefile then imports the checkout's library (src/), and planning needs neither
numpy nor pandas (README, "Workflow catalog")."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import time
import venv
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import REPO

# The environment must not leak in: no library path, no user site.
CLEAN = {
    k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
}


def run(python: Path, *args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess:
    """``python -m snakemake ARGS`` (or ``python -c`` with ``-c``) in ``cwd``."""
    cmd = [str(python), *(args if args[0] == "-c" else ("-m", "snakemake", *args))]
    return subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**CLEAN, "PYTHONNOUSERSITE": "1", **env},
    )


def index_unreachable() -> str | None:
    """Why the package index (``PIP_INDEX_URL``, default PyPI) cannot be reached, or
    None: an offline machine skips the test rather than failing it (CI reaches PyPI)."""
    url = urlsplit(os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=5).close()
    except OSError as err:
        return f"package index {url.hostname}:{port} unreachable ({err}): cannot install Snakemake"
    return None


@pytest.fixture(scope="session")
def snakemake_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a new venv (no system site packages) holding the Snakemake of
    this environment and what pip pulls in for it, nothing else (about 25 s)."""
    if (why := index_unreachable()) is not None:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("snakemake-only") / "venv"
    start = time.perf_counter()
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    version = importlib.metadata.version("snakemake")
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"snakemake=={version}"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**CLEAN, "PIP_RETRIES": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert proc.returncode == 0, f"pip install snakemake=={version}:\n{proc.stderr[-3000:]}"
    print(f"venv with only snakemake=={version}: {time.perf_counter() - start:.0f} s")
    names = ("genomic_icl", "numpy", "pandas")
    found = f"import importlib.util as u; print([m for m in {names!r} if u.find_spec(m)])"
    assert run(python, "-c", found).stdout.strip() == "[]"
    return python


@pytest.mark.slow
def test_lints_and_plans_with_only_snakemake(snakemake_only: Path, tmp_path: Path):
    lint = run(snakemake_only, "--lint")
    assert lint.returncode == 0 and "Lints for" not in lint.stdout + lint.stderr, (
        lint.stdout + lint.stderr
    )
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    plan = run(snakemake_only, "-s", str(REPO / "Snakefile"), "-n", "--cores", "1", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-5000:]
    # the whole default run is planned: prompts, predictions, tables, figures
    planned = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, re.M))
    for rule in ("prompts", "predict", "score", "stats_fits", "figure_accuracy", "all"):
        assert int(planned.get(rule, 0)) > 0, plan.stdout[-3000:]
    # the library of the checkout, and every check of the default config, ran
    assert "note: planning uses" not in plan.stderr and "numpy is not" not in plan.stderr
    # a config listing its functions: the check that runs them is named as skipped
    config = (REPO / "config.yaml").read_text()
    assert "\nfunctions: all\n" in config
    config = config.replace("\nfunctions: all\n", "\nfunctions: [identity, rotl1>flip_bits]\n")
    (tmp_path / "config.yaml").write_text(config)
    plan = run(snakemake_only, "-s", str(REPO / "Snakefile"), "-n", "--cores", "1", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr[-5000:]
    skipped = "note: numpy is not installed: not checked that no two `functions` agree"
    assert skipped in plan.stderr, plan.stderr[-3000:]


@pytest.mark.slow
def test_planning_names_an_installed_copy_other_than_the_checkout(
    snakemake_only: Path, tmp_path: Path
):
    """An installed genomic_icl wins over src/, and planning says which one it uses."""
    other = tmp_path / "site"
    shutil.copytree(REPO / "src" / "genomic_icl", other / "genomic_icl")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "config.yaml", work / "config.yaml")
    plan = run(
        snakemake_only,
        "-s",
        str(REPO / "Snakefile"),
        "-n",
        "--cores",
        "1",
        cwd=work,
        PYTHONPATH=str(other),
    )
    assert plan.returncode == 0, plan.stderr[-5000:]
    assert f"note: planning uses the installed genomic_icl ({other / 'genomic_icl'})" in plan.stderr
