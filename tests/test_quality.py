"""Quality gates: the linters and formatters the project holds itself to."""

import importlib.util
import subprocess
import sys

import pytest

from conftest import REPO

PY_PATHS = ["src", "tests", "scripts", "benchmarks"]


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)


def test_ruff_lint():
    proc = run(sys.executable, "-m", "ruff", "check", *PY_PATHS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format():
    proc = run(sys.executable, "-m", "ruff", "format", "--check", *PY_PATHS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("snakefmt") is None, reason="snakefmt is not installed"
)
def test_snakefmt():
    proc = run(sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint():
    proc = run(sys.executable, "-m", "snakemake", "--lint")
    assert proc.returncode == 0 and "Lints for" not in proc.stdout + proc.stderr, (
        proc.stdout + proc.stderr
    )
