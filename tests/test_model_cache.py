"""Jobs see the model cache that planning checked, and a model that asks for GPUs
never runs on the CPU.

The model cache test runs the real workflow with a tiny transformers model
stored in a Hugging Face hub cache layout (as `hf download` leaves it), the hub
offline, and the shell's HF_HOME pointing elsewhere: only the config's
`model_cache` leads planning and the job to the weights. No network, no
downloaded weights."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import torch
from test_inference import tiny_qwen3  # noqa: E402

from conftest import small_config, snakemake, write_config  # noqa: E402
from genomic_icl.inference import load_backend, predict_files  # noqa: E402
from genomic_icl.io import write_table  # noqa: E402
from genomic_icl.models import BackendError  # noqa: E402
from genomic_icl.prompts import Encoding, prompt_table  # noqa: E402
from genomic_icl.tokenization import char_tokenizer  # noqa: E402
from genomic_icl.workflow import export_model_cache, hf_home, hub_cache, job_gpus  # noqa: E402

REPO_ID = "lab/tiny-digits"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def tiny_model_dir(path: Path) -> Path:
    """A tiny random Qwen3 with a digit tokenizer, saved as save_pretrained does."""
    tok = char_tokenizer("0123456789")
    tiny_qwen3(len(tok), eos=tok.eos_token_id).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def hub_layout(cache: Path, repo_id: str = REPO_ID) -> Path:
    """The model in a hub cache under ``cache`` (HF_HOME): hub/models--org--name with
    a snapshot and refs/main, as huggingface_hub's downloads leave it."""
    repo = cache / "hub" / f"models--{repo_id.replace('/', '--')}"
    tiny_model_dir(repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    return repo


def hf_entry(name: str, **kw) -> dict:
    return {"name": name, "backend": "hf", "checkpoint": REPO_ID, "encoding": "linguistic", **kw}


# -- GPU requests ------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal where CUDA is absent")
def test_gpu_model_refuses_to_run_on_the_cpu(tmp_path):
    path = tiny_model_dir(tmp_path / "m")
    spec = {"name": "q", "backend": "hf", "checkpoint": str(path), "encoding": "linguistic"}
    for device in ("auto", "cuda"):
        with pytest.raises(BackendError) as err:
            load_backend({**spec, "device": device, "resources": {"gpu": 1}}, 0)
        msg = str(err.value)
        assert "asks for 1 GPU" in msg and "refusing to run it on the CPU" in msg, msg
        if torch.version.cuda is None:
            assert "CPU-only build" in msg and "containers/hf.def" in msg, msg
        else:
            assert "--nv" in msg and "driver" in msg and "partition" in msg, msg
    # asking for no GPU, or choosing the CPU on purpose, runs on the CPU
    assert str(load_backend({**spec, "device": "auto"}, 0).device) == "cpu"
    assert str(load_backend({**spec, "device": "cpu", "resources": {"gpu": 1}}, 0).device) == "cpu"


def test_reference_learners_ignore_gpu_requests():
    spec = {"name": "o", "backend": "reference", "checkpoint": "oracle", "resources": {"gpu": 2}}
    load_backend(spec, 0)  # the scheduler tests give them GPUs they never use


def test_job_gpus_reads_gpu_and_gres():
    assert job_gpus({"gpu": 2}) == 2
    assert job_gpus({"gres": "gpu:3"}) == 3
    assert job_gpus({"gres": "gpu:h100:2", "gpu": 0}) == 2
    assert job_gpus({"gres": "", "gpu": 0}) == 0 and job_gpus({}) == 0


# -- the cache path ------------------------------------------------------------------


def test_cache_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hf_home() == tmp_path / "xdg" / "huggingface"
    monkeypatch.setenv("APPTAINER_BIND", "/scratch")
    monkeypatch.delenv("SINGULARITY_BIND", raising=False)
    cache = export_model_cache(str(tmp_path / "models"))
    assert cache == tmp_path / "models" and cache.is_dir()
    assert os.environ["HF_HOME"] == str(cache) and hub_cache() == cache / "hub"
    assert os.environ["APPTAINER_BIND"] == f"/scratch,{cache}"
    assert os.environ["SINGULARITY_BIND"] == str(cache)
    export_model_cache(str(cache))  # bound once, however often it is exported
    assert os.environ["APPTAINER_BIND"] == f"/scratch,{cache}"
    # without a setting: this shell's Hugging Face home
    monkeypatch.setenv("HF_HOME", str(tmp_path / "mine"))
    assert export_model_cache(None) == tmp_path / "mine"


# -- one weight load per model ----------------------------------------------------------


def test_predict_files_loads_once_and_reuses_unchanged_tables(tmp_path, monkeypatch):
    import genomic_icl.inference as inference

    loads = []
    real = inference.load_backend
    monkeypatch.setattr(inference, "load_backend", lambda *a: loads.append(a) or real(*a))
    enc = Encoding("linguistic", "0123456789")
    tables = []
    for n in (1, 2, 4):
        write_table(prompt_table(["identity", "rotl1"], n, 2, enc, 3), tmp_path / f"p{n}.parquet")
        tables.append((tmp_path / f"p{n}.parquet", tmp_path / "out" / f"n{n}.parquet"))
    spec = {"name": "tiny", "backend": "hf", "checkpoint": str(tiny_model_dir(tmp_path / "m"))}
    spec |= {"encoding": "linguistic", "device": "cpu"}
    first = predict_files(spec, tables[:2], 5, progress=False)
    assert set(first.values()) == {"computed"} and len(loads) == 1
    before = {out: out.read_bytes() for _, out in tables[:2]}
    # Snakemake deletes a job's outputs before running it again (a shot count added):
    for _, out in tables[:2]:
        out.unlink()
    again = predict_files(spec, tables, 5, progress=False)
    assert again == {str(tables[0][1]): "reused", str(tables[1][1]): "reused",
                     str(tables[2][1]): "computed"}  # fmt: skip
    assert len(loads) == 2  # one load for the new table, none for the reused ones
    assert all(out.read_bytes() == before[out] for out in before)
    # nothing to compute: no load at all
    assert set(predict_files(spec, tables, 5, progress=False).values()) == {"reused"}
    assert len(loads) == 2
    # a changed setting that changes predictions recomputes; the old copy is dropped
    changed = predict_files({**spec, "batch_size": 1}, tables[:1], 5, progress=False)
    assert changed == {str(tables[0][1]): "computed"} and len(loads) == 3
    assert len(list((tmp_path / "out" / ".store").glob("n1-*.parquet"))) == 1
    # so do other code (the workflow's code fingerprint) and retrained weights
    assert predict_files(spec, tables[1:2], 5, code="v2", progress=False) == {
        str(tables[1][1]): "computed"
    }
    assert predict_files(spec, tables[1:2], 5, code="v2", progress=False) == {
        str(tables[1][1]): "reused"
    }
    # the weights' content counts, not their files' times: touched or re-created
    # with the same bytes they are the same weights; other bytes are other weights
    weights = next((tmp_path / "m").glob("model.safetensors"))
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert predict_files(spec, tables[1:2], 5, code="v2", progress=False) == {
        str(tables[1][1]): "reused"
    }
    tok = char_tokenizer("0123456789")
    tiny_qwen3(len(tok), seed=1, eos=tok.eos_token_id).save_pretrained(tmp_path / "m")
    assert predict_files(spec, tables[1:2], 5, code="v2", progress=False) == {
        str(tables[1][1]): "computed"
    }


# -- the workflow: planning and jobs use the config's model cache ------------------------


@pytest.mark.slow
def test_jobs_use_the_configured_model_cache(tmp_path, monkeypatch):
    cache = tmp_path / "site-models"
    hub_layout(cache)
    config = small_config(
        shots=[1, 2],
        encodings={"linguistic": {"alphabet": "0123456789"}},
        models=[
            hf_entry("tiny"),
            hf_entry("tiny-gpu", resources={"gpu": 1}),
        ],
        stats={"baseline": "tiny"},
    )
    write_config(tmp_path, config)
    env_home = tmp_path / "elsewhere"  # the shell's HF_HOME: empty
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(env_home))
    # without model_cache, preflight looks in the shell's cache and stops the run
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert f"looked in {env_home / 'hub'}" in proc.stdout + proc.stderr
    config["model_cache"] = str(cache)
    write_config(tmp_path, config)
    targets = [f"results/predictions/{m}/n{n}.parquet" for m in ("tiny", "tiny-gpu")
               for n in (1, 2)]  # fmt: skip
    proc = snakemake(tmp_path, "--cores", "2", "--keep-going", *targets, check=False)
    # the CPU model's job found the weights through model_cache, loaded them once
    for n in (1, 2):
        table = pd.read_parquet(tmp_path / f"results/predictions/tiny/n{n}.parquet")
        assert len(table) == 8 and table["model"].eq("tiny").all()
    log = (tmp_path / "logs/predict/tiny.log").read_text()
    assert log.count("loaded hf") == 1 and "1 weight load(s) for 2 table(s)" in log
    # the GPU model's job refused to run on this CPU machine, with the reason
    assert proc.returncode != 0
    gpu_log = (tmp_path / "logs/predict/tiny-gpu.log").read_text()
    assert "refusing to run it on the CPU" in gpu_log, gpu_log[-2000:]
    assert not (tmp_path / "results/predictions/tiny-gpu/n1.parquet").exists()
