"""The GPU benchmark's code paths, run with tiny models on the CPU (``--tiny``): it must
work the first time it meets a lent GPU. Only what it computes is checked, never speed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, cuda_visible

pytest.importorskip("torch")
pytest.importorskip("transformers")
GPU_BENCH = [sys.executable, str(REPO / "benchmarks" / "gpu.py")]
MODELS = "qwen3-0.6b" + (",evo2-7b" if importlib.util.find_spec("evo2") else "")


def test_gpu_benchmark_runs_its_paths_on_tiny_models(tmp_path):
    out = tmp_path / "gpu.tsv"
    args = ["--tiny", "--models", MODELS, "--shots", "1,8", "--per-n", "6"]
    args += ["--generate-per-n", "3", "--sweep", "64,4096", "--out", str(out)]
    run = subprocess.run(GPU_BENCH + args, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = pd.read_csv(out, sep="\t")
    assert rows["model"].tolist() == [m for m in MODELS.split(",") for _ in (1, 8)]
    assert rows["n"].tolist() == [1, 8] * len(MODELS.split(","))
    assert (rows["prompts"] == 6).all() and (rows["checked"] == 3).all()
    assert (rows["identical"] == rows["checked"]).all()  # fp32: exactly generate's tokens
    # linguistic prompts: 17 n + 8 digits per prompt (n=1 has 25) + the 8-digit target
    assert rows.loc[rows.n == 1, "tokens"].tolist()[0] == 6 * (25 + 8)
    for column in ("project_s", "pass_s", "cost_vs_pass", "speedup_vs_generate", "mfu"):
        assert (rows[column] > 0).all(), column
    for model in MODELS.split(","):
        assert f"{model}: " in run.stdout
    assert run.stdout.count("extrapolated from these n") == len(MODELS.split(","))
    assert run.stdout.count("batch_tokens at n=8: 64: ") == len(MODELS.split(","))
    assert (
        "qwen3-14b: ~" in run.stdout and "(scaled from qwen3-0.6b by parameter count" in run.stdout
    )


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

    from genomic_icl.models.evo2 import Evo2Backend

    model = gpu.build_evo2("evo2-7b", True, torch.device("cpu"), torch.bfloat16)
    dtypes = {name: p.dtype for name, p in model.named_parameters()}
    fp32 = {name for name, dtype in dtypes.items() if dtype == torch.float32}
    assert fp32 and all("log_poles" in name or "residues" in name for name in fp32)
    assert {dtypes[name] for name in dtypes if name not in fp32} == {torch.bfloat16}
    backend = Evo2Backend({"name": "b", "checkpoint": "random"}, model=model)
    prompts = gpu.paper_prompts("genomic", 4, 3)
    result = backend.run(prompts)
    assert len(result.token_ids) == 3 and all(len(ids) == 8 for ids in result.token_ids)
