"""What a config will cost before it is launched (`genomic-icl plan CONFIG`).

Per model entry: the prompts and tokens it reads (every shot count, every trial),
its forward FLOPs, weights and estimated peak GPU memory (genomic_icl.memory), the
GPU-hours, and the SLURM job that runs it with its requests. GPU-hours come from a
stated throughput: measured tokens/s of the model from a GPU session's
``gpu.tsv`` (benchmarks/gpu.py, ``--measured``) when it holds the model, else the
FLOPs at an assumed achieved rate (``--tflops``, default 35% of an H100's dense
bf16 peak) - an estimate until a GPU session measures it, and the table says
which each row used. Nothing heavy is imported (a login node runs it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from genomic_icl.config import encoding, function_names
from genomic_icl.memory import arch_of, estimate, gpu_memory_gb, shortest_prompt_tokens
from genomic_icl.prompts import prompt_table

#: Assumed achieved bf16 throughput per GPU when nothing was measured (TFLOP/s):
#: 35% of the H100 SXM's 989 dense peak.
ASSUMED_TFLOPS = 346.0
#: Greedy steps after the teacher-forced pass, at most, per prompt.
DECODE_STEPS = 7


def workload(config: dict[str, Any], enc: str) -> tuple[int, int, int]:
    """(prompts, tokens, sum of squared prompt lengths) of one encoding over every
    shot count and trial of the config (one token per symbol)."""
    prompts = tokens = squares = 0
    for n in config["shots"]:
        table = prompt_table(
            function_names(config), n, config["trials"], encoding(config, enc), config["seed"]
        )
        lengths = table.prompt.str.len() + table.target.str.len()
        prompts += len(table)
        tokens += int(lengths.sum())
        squares += int((lengths.astype("int64") ** 2).sum())
    return prompts, tokens, squares


def measured_tokens_per_s(path: str | Path | None) -> dict[str, float]:
    """Tokens/s per model over all its rows of a GPU session's gpu.tsv."""
    if path is None:
        return {}
    rows = pd.read_csv(path, sep="\t")
    sums = rows.groupby("model")[["tokens", "project_s"]].sum()
    return (sums.tokens / sums.project_s).to_dict()


def cost_plan(
    config: dict[str, Any], tflops: float = ASSUMED_TFLOPS, measured: str | Path | None = None
) -> pd.DataFrame:
    """One row per model entry of the config: its workload, memory, GPU-hours and job."""
    rates = measured_tokens_per_s(measured)
    loads = {enc: workload(config, enc) for enc in {m["encoding"] for m in config["models"]}}
    slurm = config["slurm"]
    rows = []
    for spec in config["models"]:
        prompts, tokens, squares = loads[spec["encoding"]]
        res = spec.get("resources", {})
        gpus = int(res.get("gpu", 0) or 0)
        arch = arch_of(spec)
        row: dict[str, Any] = {"model": spec["name"], "prompts": prompts, "tokens": tokens}
        if arch is not None:
            flops = 2 * arch.params * (tokens + DECODE_STEPS * prompts)
            flops += 2 * arch.attn_layers * arch.q_width * squares  # causal attention
            est = estimate(spec, shortest_prompt_tokens(spec, config))
            row |= {"flops": flops, "weights_gib": est.weights_gib, "peak_gib": est.peak_gib}
            if spec["name"] in rates:
                hours, source = tokens / rates[spec["name"]] / 3600, "measured"
            else:
                hours, source = flops / (tflops * 1e12) / 3600, f"{tflops:g} TFLOP/s assumed"
            row |= {"gpu_hours": hours * max(gpus, 1), "source": source}
        gb = gpu_memory_gb(spec, config)
        request = f"--gres=gpu:{gpus}" if slurm["gpu_request"] == "gres" else f"--gpus={gpus}"
        job = [request] if gpus else []
        job += [f"--mem={res.get('mem_mb', 4000)}M", f"--time={res.get('runtime', 60)}"]
        job += [f"--cpus-per-task={res.get('cpus_per_task', 2)}"]
        if res.get("slurm_partition"):
            job.append(f"--partition={res['slurm_partition']}")
        row["job"] = " ".join(job) + (f" ({gpus} x {gb:g} GB)" if gpus and gb else "")
        rows.append(row)
    return pd.DataFrame(rows)


def format_plan(plan: pd.DataFrame, config_path: str, tflops: float) -> str:
    """The plan as a text table, with its total and what its figures rest on."""
    lines = [
        f"cost plan of {config_path}: memory estimated (genomic_icl.memory; peak per GPU at "
        "the entry's batch_tokens); GPU-hours from measured tokens/s where a row says "
        f"'measured', else FLOPs at {tflops:g} TFLOP/s per GPU, an estimate until a GPU "
        "session measures it; one token per symbol",
        f"{'model':<12} {'prompts':>8} {'tokens':>11} {'PFLOP':>8} {'weights':>9} "
        f"{'peak/GPU':>9} {'GPU-h':>7}  GPU-hours from",
    ]
    for r in plan.to_dict("records"):
        head = f"{r['model']:<12} {r['prompts']:>8,} {r['tokens']:>11,}"
        if isinstance(r.get("flops"), float | int) and not math.isnan(r["flops"]):
            lines.append(
                f"{head} {r['flops'] / 1e15:8.1f} {r['weights_gib']:6.1f}GiB "
                f"{r['peak_gib']:6.1f}GiB {r['gpu_hours']:7.3f}  {r['source']}"
            )
        else:
            lines.append(f"{head} {'-':>8} {'-':>9} {'-':>9} {'-':>7}  (no GPU model)")
        lines.append(f"{'':<12} predict job: sbatch {r['job']}")
    if "gpu_hours" in plan:
        lines.append(
            f"total: {plan['gpu_hours'].sum():.1f} GPU-hours of computation (GPUs x hours), "
            "plus loading the weights once per job"
        )
    return "\n".join(lines)
