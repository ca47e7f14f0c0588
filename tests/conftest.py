"""Shared test helpers: running the real workflow on small configs in a temporary
directory (the repository's Snakefile, rules and scripts, a throw-away workdir)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def cuda_visible() -> bool:
    """Whether torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


#: Parameters of a test that runs on the CPU everywhere and again on CUDA where a GPU
#: is visible (marked ``gpu``: ``pytest -m gpu`` on a GPU machine runs those alone).
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not cuda_visible(), reason="no CUDA device")],
    ),
]


# A pretraining recipe that trains in seconds (tests only: it learns nothing).
TINY_PRETRAIN: dict[str, Any] = {
    "corpus": {"seed": 3, "chromosomes": 8, "length": 1024},
    "model": {"layers": 1, "d_model": 32, "heads": 2, "context": 512},
    "training": {
        "seed": 11,
        "phases": [
            {"steps": 6, "context": 64, "batch": 4},
            {"steps": 2, "context": 512, "batch": 1},
        ],
        "warmup": 2,
        "checkpoint_every": 3,
        "precision": "fp32",
        "device": "cpu",
    },
}


def small_config(**overrides: Any) -> dict[str, Any]:
    """A config that runs in seconds: 4 functions, 2 shot counts, 2 trials, the two
    reference learners. Keyword arguments replace top-level keys."""
    config: dict[str, Any] = {
        "seed": 11,
        "shots": [1, 4],
        "trials": 2,
        "functions": ["identity", "rotl1", "majority", "flip_bits>reverse_bits"],
        "encodings": {"genomic": {"alphabet": "ACGT"}, "linguistic": {"alphabet": "0123456789"}},
        "models": [
            {"name": "mode", "backend": "reference", "checkpoint": "mode", "encoding": "genomic"},
            {
                "name": "oracle",
                "backend": "reference",
                "checkpoint": "oracle",
                "encoding": "genomic",
            },
        ],
        "bootstrap": {"replicates": 200, "seed": 0},
        "reference_curves": False,
    }
    config.update(overrides)
    return config


def write_config(workdir: Path, config: dict[str, Any], name: str = "config.yaml") -> Path:
    """Write ``config`` as YAML into ``workdir``."""
    path = workdir / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(
    workdir: Path,
    *args: str,
    configfile: Path | None = None,
    check: bool = True,
    timeout: int = 600,
    snakefile: Path = REPO / "Snakefile",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the workflow (the repository's, or a copy's ``snakefile``) in ``workdir``
    (default config: workdir/config.yaml); ``env``: extra environment variables."""
    configfile = configfile or workdir / "config.yaml"
    cmd = [*SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir), "--configfile", str(configfile)]
    env = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    proc = subprocess.run(
        [*cmd, *args], cwd=workdir, capture_output=True, text=True, env=env, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join([*cmd, *args])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def result_digests(workdir: Path) -> dict[str, str]:
    """SHA-256 of every table the workflow wrote under results/ (timings aside)."""
    results = workdir / "results"
    files = [
        p
        for ext in ("parquet", "tsv")
        for p in results.rglob(f"*.{ext}")
        if "benchmarks" not in p.relative_to(results).parts
    ]
    return {
        str(p.relative_to(workdir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(files)
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A temporary workflow directory holding the small config."""
    write_config(tmp_path, small_config())
    return tmp_path
