"""The GPU memory model (genomic_icl.memory) and planning's check against the GPUs an
entry asks for. How close the estimates come to a measurement is benchmarks/memory.py's
business (docs/performance.md); here: the architectures are the real ones, and the
check refuses what does not fit with a fix that does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from conftest import REPO, small_config, snakemake, write_config
from genomic_icl.config import load_config
from genomic_icl.memory import (
    ARCHS,
    GIB,
    arch_of,
    check_fits,
    estimate,
    shortest_prompt_tokens,
)
from genomic_icl.models import BackendError

PAPER = REPO / "configs" / "paper.yaml"


def qwen_entry(**kw) -> dict:
    entry = {"name": "q", "backend": "hf", "checkpoint": "Qwen/Qwen3-0.6B-Base"}
    entry |= {"encoding": "linguistic", "batch_tokens": 262144, "resources": {"gpu": 1}}
    return entry | kw


@pytest.mark.parametrize("checkpoint", [k for k in ARCHS if k.startswith("Qwen/")])
def test_qwen3_parameters_are_those_transformers_builds(checkpoint):
    """Built on the meta device (no memory) at the published dimensions."""
    import torch
    import transformers

    arch = ARCHS[checkpoint]
    cfg = transformers.Qwen3Config(
        vocab_size=arch.vocab,
        hidden_size=arch.hidden,
        intermediate_size=arch.inner,
        num_hidden_layers=arch.layers,
        num_attention_heads=arch.q_width // 128,
        num_key_value_heads=arch.kv_width // 128,
        head_dim=128,
        tie_word_embeddings=checkpoint.split("-")[1] in ("0.6B", "1.7B", "4B"),
    )
    with torch.device("meta"):
        model = transformers.Qwen3ForCausalLM(cfg)
    assert sum(p.numel() for p in model.parameters()) == arch.params


@pytest.mark.skipif(importlib.util.find_spec("evo2") is None, reason="evo2 is not installed")
def test_evo2_architectures_are_the_packaged_configs():
    from genomic_icl.models.evo2 import PACKAGED
    from genomic_icl.models.evo2.random_weights import packaged_config

    assert set(PACKAGED) <= set(ARCHS)
    for name, (_, path) in PACKAGED.items():
        cfg = packaged_config(Path(path).name)
        arch = ARCHS[name]
        assert (arch.hidden, arch.layers, arch.inner) == (
            cfg["hidden_size"],
            cfg["num_layers"],
            cfg["inner_mlp_size"],
        ), name
        assert arch.attn_layers == len(cfg["attn_layer_idxs"]) and arch.vocab == cfg["vocab_size"]
        assert arch.fp8 == cfg["use_fp8_input_projections"]


def test_estimates_grow_with_the_batch_and_split_over_gpus():
    small, big = (estimate(qwen_entry(batch_tokens=bt), 33) for bt in (16384, 262144))
    assert small.weights_gib == big.weights_gib == pytest.approx(596049408 * 2 / GIB)
    assert small.peak_gib < big.peak_gib
    # n = 1 prompts (33 tokens): the kept logits of 7,943 prompts dominate
    assert big.peak_gib > 8 * 262144 / 33 * 151936 * 10 / GIB
    entry = {"name": "e", "backend": "evo2", "checkpoint": "evo2_40b", "batch_tokens": 16384}
    one = estimate(entry | {"resources": {"gpu": 1}}, 33)
    two = estimate(entry | {"resources": {"gpu": 2}}, 33)
    assert one.weights_gib == pytest.approx(76.6, abs=0.1)
    assert two.peak_gib < one.peak_gib - 76.6 / 2 + 0.5
    assert arch_of({"backend": "hf", "checkpoint": "some/model"}) is None
    assert estimate({"backend": "hf", "checkpoint": "some/model"}, 33) is None


def test_planning_check_refuses_what_does_not_fit_and_names_a_fix():
    config = load_config(PAPER)
    big = qwen_entry()
    with pytest.raises(BackendError, match=r"set batch_tokens: (\d+)") as err:
        check_fits(big, config)
    msg = str(err.value)
    assert "'q'" in msg and "exceeds the 80 GB" in msg
    fits = int(msg.rsplit("set batch_tokens: ", 1)[1].split()[0])
    assert check_fits(big | {"batch_tokens": fits}, config).peak_gib <= 0.9 * 80e9 / GIB
    h200 = big | {"resources": {"gpu": 1, "gpu_memory_gb": 141}}
    assert check_fits(h200, config) is not None  # an entry's own GPU size wins
    assert check_fits(big | {"resources": {"gpu": 0}}, config) is None  # no GPU: no check
    forty = {"name": "e", "backend": "evo2", "checkpoint": "evo2_40b", "encoding": "genomic"}
    with pytest.raises(BackendError, match="ask for more GPUs"):
        check_fits(forty | {"batch_tokens": 16384, "resources": {"gpu": 1}}, config)
    check_fits(forty | {"batch_tokens": 16384, "resources": {"gpu": 2}}, config)
    check_fits(
        forty | {"batch_tokens": 16384, "resources": {"gpu": 1, "gpu_memory_gb": 141}}, config
    )


def test_paper_config_fits_80_gb_gpus_with_15_percent_free():
    config = load_config(PAPER)
    assert config["slurm"]["gpu_memory_gb"] == 80
    checked = [check_fits(m, config) for m in config["models"]]
    peaks = [e.peak_gib for e in checked if e is not None]
    assert len(peaks) == 8 and max(peaks) <= 0.85 * 80e9 / GIB


def test_planning_refuses_an_entry_too_big_for_its_gpus(tmp_path):
    config = small_config()
    config["encodings"]["linguistic"] = {"alphabet": "0123456789"}
    config["models"].append(qwen_entry())
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", check=False, env={"HF_HUB_OFFLINE": "0"})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "estimated peak" in out and "set batch_tokens" in out
    assert "Traceback" not in out
    config["slurm"] = {"gpu_memory_gb": None}  # no check
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert snakemake(tmp_path, "-n", check=False, env={"HF_HUB_OFFLINE": "0"}).returncode == 0


def test_plan_prints_costs_and_says_what_they_rest_on(tmp_path, capsys):
    from genomic_icl.cli import main

    config = small_config(shots=[1, 8], trials=2)
    config["encodings"]["linguistic"] = {"alphabet": "0123456789"}
    gpu = {"gpu": 1, "mem_mb": 32000, "runtime": 60, "slurm_partition": "gpu"}
    config["models"] += [
        qwen_entry(name="q06", batch_tokens=65536, resources=gpu),
        qwen_entry(name="q8", checkpoint="Qwen/Qwen3-8B-Base", resources=gpu, batch_tokens=8192),
    ]
    path = write_config(tmp_path, config)
    measured = tmp_path / "gpu.tsv"
    measured.write_text("model\tn\ttokens\tproject_s\nq8\t1\t1000\t0.5\nq8\t8\t3000\t1.5\n")
    assert main(["plan", str(path), "--measured", str(measured), "--tflops", "100"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line and line[0] != " "}
    # 4 functions x 2 trials x 2 shot counts; n = 1: 25 + 8 symbols, n = 8: 144 + 8
    assert rows["q06"].split()[1] == "16" and f"{8 * 33 + 8 * 152:,}" in rows["q06"]
    assert rows["q06"].endswith("100 TFLOP/s assumed") and rows["q8"].endswith("measured")
    assert f"{(8 * 33 + 8 * 152) / 2000 / 3600:7.3f}" in rows["q8"]  # 2000 tokens/s measured
    assert "sbatch --gpus=1 --mem=32000M --time=60 --cpus-per-task=2 --partition=gpu" in out
    assert "(1 x 80 GB)" in out and "(no GPU model)" in rows["mode"]


@pytest.mark.parametrize("shots", [[3, 8], [1], [64, 16]])
def test_shortest_prompt_tokens_are_those_of_the_prompts_built(shots):
    """Counted without building prompts (planning needs no numpy), the same number as
    the shortest prompt and target built at the smallest shot count."""
    from genomic_icl.config import encoding, function_names, validate_config
    from genomic_icl.prompts import prompt_table

    config = validate_config(small_config(shots=shots))
    for spec in config["models"]:
        table = prompt_table(
            function_names(config),
            min(shots),
            2,
            encoding(config, spec["encoding"]),
            config["seed"],
        )
        built = table.prompt.str.len().min() + table.target.str.len().min()
        assert shortest_prompt_tokens(spec, config) == built


def test_evo2_answer_tree_counts_its_copies():
    """The row-copy answer tree (Evo 2) holds the prompts' KV cache and up to 4 copies'
    worth: more than the two greedy streams."""
    entry = {"backend": "evo2", "checkpoint": "evo2_7b", "batch_tokens": 65536}
    plain = estimate(entry, 33)
    for answers in ({"answers": True}, {"decoding": "rank"}):
        assert estimate(entry | answers, 33).bytes_per_token > plain.bytes_per_token
