"""The memory model (genomic_icl.memory) against a measurement on the CPU.

Each case builds a random-weight model at a real width with few blocks (bf16, as on a
GPU; weights allocated on the CPU), runs one batch of ``configs/paper.yaml``'s
prompts through the backend's exact greedy path in a fresh process, and compares
the peak resident memory above the built model (Linux's VmHWM, reset after
building and a warm-up, less the resident size then) with the estimate for the same architecture cut
to those blocks (:func:`genomic_icl.memory.estimate`, weights and CUDA context
left out). CPU kernels are not CUDA's (attention's math path, glibc's allocator),
so this checks the terms of the model, not a GPU's exact peak.

    python benchmarks/memory.py [--cases qwen3-0.6b:1:8192,evo2-7b:1:4096]

Each case is MODEL:N_SHOTS:BATCH_TOKENS (models of benchmarks/gpu.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: blocks kept per model (Evo 2: one each of HCS, HCM, HCL and attention)
BLOCKS = {"qwen": 2, "evo2": 4}


def rss_bytes() -> int:
    """Resident memory of this process now."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def peak_rss_bytes() -> int:
    """The peak resident memory since :func:`reset_peak` (Linux's VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak() -> None:
    """Reset the peak resident memory to the current one (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def measure(model: str, n: int, batch_tokens: int) -> dict:
    """In this process: build, warm up, run one batch; the peak above the built model."""
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu

    torch.set_num_threads(2)
    device = torch.device("cpu")
    if model in gpu.EVO2:
        from genomic_icl.models.evo2 import random_weights

        full = random_weights.packaged_config(gpu.EVO2[model])
        cut = {k: full[k] for k in ("hidden_size", "inner_mlp_size", "num_attention_heads")}
        old = random_weights.tiny_config
        random_weights.tiny_config = lambda: {**old(), **cut, "num_filters": cut["hidden_size"],
                                              "hcl_filter_groups": cut["hidden_size"]}  # fmt: skip
        try:
            subject = gpu.Subject(model, True, device, torch.bfloat16, batch_tokens)
        finally:
            random_weights.tiny_config = old
    else:
        gpu.QWEN3_TINY.clear()
        gpu.QWEN3_TINY.update(
            {"num_key_value_heads": 8, "head_dim": 128, **gpu.QWEN3[model]},
            num_hidden_layers=BLOCKS["qwen"],
        )
        subject = gpu.Subject(model, True, device, torch.bfloat16, batch_tokens)
    df = gpu.paper_prompts(subject.encoding, n, None)
    with torch.inference_mode():
        subject.backend.run(df.iloc[:2])  # warm-up
        rows = subject.backend.plan(df)[0]
        reset_peak()
        base = rss_bytes()
        subject.backend.run(df.iloc[rows])
    peak = peak_rss_bytes()
    params = sum(p.numel() for p in subject.backend.model.parameters())
    tokens = int(df.prompt.str.len().iloc[0] + df.target.str.len().iloc[0])
    return {"measured": peak - base, "rows": len(rows), "tokens": tokens, "params": params}


def estimated(model: str, tokens: int, batch_tokens: int, params: int) -> float:
    """The memory model's bytes above the weights for the cut-down architecture."""
    from genomic_icl import memory

    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu

    if model in gpu.EVO2:
        spec = {"backend": "evo2", "checkpoint": model.replace("-", "_")}
        spec["checkpoint"] = {"evo2_1b": "evo2_1b_base"}.get(spec["checkpoint"], spec["checkpoint"])
        arch = memory.arch_of(spec)
        arch = dataclasses.replace(arch, layers=4, attn_layers=1, params=params)
    else:
        spec = {"backend": "hf", "checkpoint": f"Qwen/Qwen3-{model.split('-')[1].upper()}-Base"}
        arch = memory.arch_of(spec)
        arch = dataclasses.replace(
            arch, layers=BLOCKS["qwen"], attn_layers=BLOCKS["qwen"], params=params
        )
    key = f"_bench_{model}"
    memory.ARCHS[key] = arch
    est = memory.estimate(
        {"backend": arch.kind, "checkpoint": key, "batch_tokens": batch_tokens}, tokens
    )
    return (est.peak_gib - est.fixed_gib) * memory.GIB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--cases", default="qwen3-0.6b:1:8192,qwen3-0.6b:32:8192,qwen3-8b:32:8192,evo2-7b:1:4096"
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        model, n, bt = args.one.split(":")
        print(json.dumps(measure(model, int(n), int(bt))))
        return
    print("model\tn\tbatch_tokens\tprompts\testimated_gib\tmeasured_gib\tratio")
    for case in args.cases.split(","):
        model, n, bt = case.split(":")
        out = (
            subprocess.run(
                [sys.executable, __file__, "--one", case],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        got = json.loads(out)
        est = estimated(model, got["tokens"], int(bt), got["params"])
        print(
            f"{model}\t{n}\t{bt}\t{got['rows']}\t{est / 2**30:.3f}\t"
            f"{got['measured'] / 2**30:.3f}\t{got['measured'] / est:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
