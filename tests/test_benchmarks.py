"""The GPU benchmark's code paths, run with tiny models on the CPU (``--tiny``): it must
work the first time it meets a lent GPU. Only what it computes is checked, never speed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, cuda_visible

pytest.importorskip("torch")
pytest.importorskip("transformers")
GPU_BENCH = [sys.executable, str(REPO / "benchmarks" / "gpu.py")]
MODELS = "qwen3-0.6b" + (",evo2-7b" if importlib.util.find_spec("evo2") else "")


def test_gpu_session_rehearsal(tmp_path):
    """benchmarks/gpu_session.sh --tiny: the lent GPU session's script, its steps in order,
    on tiny CPU models, with jsonschema and snakemake unimportable as on the device
    image (tests/support/gpu_image's import hook, not a separate venv: the rest of the
    image's package set is this environment's). The benchmark's TSV is checked as the
    GPU run will write it."""
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    run = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_session.sh"), "--tiny"],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    session = (tmp_path / "session.txt").read_text()
    assert run.returncode == 0, session + (tmp_path / "gpu.log").read_text()[-3000:]
    for step in ("env", "pytest_gpu", "gpu"):
        assert f"{step}: exit 0," in session
    environment = (tmp_path / "env.txt").read_text()
    assert "jsonschema: absent" in environment and "snakemake: absent" in environment
    junit = (tmp_path / "pytest_gpu.xml").read_text()
    assert 'failures="0"' in junit and 'errors="0"' in junit and 'tests="0"' not in junit
    agreement = pd.read_csv(tmp_path / "bf16_agreement.tsv", sep="\t")
    assert agreement["device"].tolist() == ["cpu"] and agreement["prompts"].iloc[0] > 0

    rows = pd.read_csv(tmp_path / "gpu.tsv", sep="\t")
    log = (tmp_path / "gpu.log").read_text()
    assert rows["model"].tolist() == [m for m in MODELS.split(",") for _ in (1, 8)]
    assert rows["n"].tolist() == [1, 8] * len(MODELS.split(","))
    assert (rows["prompts"] == 6).all() and (rows["checked"] == 3).all()
    assert (rows["identical"] == rows["checked"]).all()  # fp32: exactly generate's tokens
    assert rows["disagree_margins"].isna().all()
    # linguistic prompts: 17 n + 8 digits per prompt (n=1 has 25) + the 8-digit target
    assert rows.loc[rows.n == 1, "tokens"].tolist()[0] == 6 * (25 + 8)
    for column in ("project_s", "pass_s", "cost_vs_pass", "speedup_vs_generate", "mfu"):
        assert (rows[column] > 0).all(), column
    for model in MODELS.split(","):
        assert f"{model}: " in log
    assert log.count("extrapolated from these n") == len(MODELS.split(","))
    assert log.count("batch_tokens at n=8: 64: ") == len(MODELS.split(","))
    assert "qwen3-14b: ~" in log and "(scaled from qwen3-0.6b by parameter count" in log


def test_gpu_benchmark_writes_each_row_when_measured(tmp_path):
    """A run that dies after its first model keeps that model's rows."""
    out = tmp_path / "gpu.tsv"
    args = ["--tiny", "--models", "qwen3-0.6b,qwen9", "--shots", "1", "--per-n", "2"]
    args += ["--generate-per-n", "1", "--sweep", "", "--out", str(out)]
    code = f"""
import sys
sys.path.insert(0, {str(REPO / "benchmarks")!r})
import gpu
import dataclasses
gpu.QWEN3["qwen9"] = {{}}  # known by name; building it fails: a late crash
built = gpu.FAMILIES["Qwen3"].build
gpu.FAMILIES["Qwen3"] = dataclasses.replace(
    gpu.FAMILIES["Qwen3"], build=lambda name, *a: built(name, *a) if name != "qwen9" else 1 / 0
)
sys.argv = ["gpu.py", *{args!r}]
gpu.main()
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    rows = pd.read_csv(out, sep="\t")
    assert rows["model"].tolist() == ["qwen3-0.6b"] and rows["n"].tolist() == [1]


@pytest.mark.skipif(cuda_visible(), reason="checks the message where no GPU is visible")
def test_gpu_benchmark_says_what_it_needs():
    run = subprocess.run(GPU_BENCH, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "no CUDA device" in run.stderr and "--tiny" in run.stderr
    run = subprocess.run(
        GPU_BENCH + ["--tiny", "--models", "qwen9"], capture_output=True, text=True
    )
    assert run.returncode != 0 and "unknown model 'qwen9'" in run.stderr


@pytest.mark.skipif(importlib.util.find_spec("evo2") is None, reason="evo2 is not installed")
def test_gpu_benchmark_builds_evo2_in_the_dtypes_of_a_loaded_checkpoint():
    """bf16 as on the GPU: every weight bf16 but the poles and residues (fp32), as vortex's
    load_checkpoint leaves a real Evo 2; and the backend runs on it."""
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu

    spec = {"name": "b", "checkpoint": "random"}
    backend, blocks = gpu.build_evo2("evo2-7b", True, torch.device("cpu"), torch.bfloat16, spec)
    assert blocks is backend.model.blocks
    dtypes = {name: p.dtype for name, p in backend.model.named_parameters()}
    fp32 = {name for name, dtype in dtypes.items() if dtype == torch.float32}
    assert fp32 and all("log_poles" in name or "residues" in name for name in fp32)
    assert {dtypes[name] for name in dtypes if name not in fp32} == {torch.bfloat16}
    prompts = gpu.paper_prompts("genomic", 4, 3)
    result = backend.run(prompts)
    assert len(result.token_ids) == 3 and all(len(ids) == 8 for ids in result.token_ids)
