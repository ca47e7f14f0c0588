"""Benchmark: corpus generation and pretraining throughput of the small DNA model.

Prints corpus bases/s; then, for every pretrain recipe of a config (default
config.yaml), the time per step of each training phase and the projected
pretraining time against the 8-minute target; then training tokens/s (forward +
backward + AdamW) of Llama models for each (layers, d_model, heads) and context,
in fp32 and under bf16 autocast. All on the device pretraining would use (CUDA when
present). Wall-clock figures on shared CPUs move with contention: run it on idle
cores and read the load averages it prints before and after.
Usage: python benchmarks/pretrain.py [--config config.yaml] [--steps 4] [--threads 2]
[--models 2x128x8,4x128x4] [--contexts 512,2304] [--tokens 8192]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

TARGET_S = 8 * 60  # the default run's pretraining budget on 2 CPU cores


def seconds_per_step(model_recipe, batch: int, context: int, precision: str, steps: int):
    """(mean wall seconds of a training step after one warm-up, parameter count)."""
    import torch

    from genomic_icl import pretrain

    tok = pretrain.tokenizer()
    special = pretrain.special_ids(tok)
    device = pretrain.pick_device("auto")
    amp = pretrain.autocast_dtype(precision, device)
    torch.manual_seed(0)
    model = pretrain.build_model(model_recipe, len(tok), special).to(device)
    opt = pretrain.configure_optimizer(model, pretrain.TrainingRecipe())
    x = torch.from_numpy(np.random.default_rng(0).integers(4, 8, (batch, context))).to(device)
    for i in range(steps + 1):
        if i == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps, sum(p.numel() for p in model.parameters())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="config.yaml", help="config whose pretrain recipes to time")
    ap.add_argument("--steps", type=int, default=4, help="timed steps (after one warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="2x128x8,4x128x4", help="LAYERSxDMODELxHEADS,...")
    ap.add_argument("--contexts", default="512,2304")
    ap.add_argument("--tokens", type=int, default=8192, help="tokens per batch")
    args = ap.parse_args()

    import torch
    import yaml

    from genomic_icl import corpus, pretrain

    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()}")
    recipe = corpus.CorpusRecipe(chromosomes=16)
    t = time.perf_counter()
    for i in range(recipe.chromosomes):
        corpus.chromosome(recipe, i)
    dt = time.perf_counter() - t
    print(f"corpus: {recipe.chromosomes * recipe.length / dt:,.0f} bases/s")

    device = pretrain.pick_device("auto").type
    with open(args.config) as fh:
        recipes = (yaml.safe_load(fh) or {}).get("pretrain") or {}
    for name, rec in recipes.items():
        _, mr, tr = pretrain.parse_recipe(rec)
        total = 0.0
        for ph in tr.phases:
            dt, _ = seconds_per_step(mr, ph.batch, ph.context, tr.precision, args.steps)
            total += ph.steps * dt
            print(
                f"{device} recipe {name!r}: {ph.steps} steps at context {ph.context} x batch "
                f"{ph.batch}: {dt:.3f} s/step ({ph.batch * ph.context / dt:,.0f} tokens/s)",
                flush=True,
            )
        print(
            f"{device} recipe {name!r}: projected pretraining {total:.0f} s "
            f"(target < {TARGET_S} s on 2 CPU cores; checkpoints and the copy probe add a few %)",
            flush=True,
        )

    for spec in args.models.split(","):
        layers, d, heads = (int(v) for v in spec.split("x"))
        mr = pretrain.ModelRecipe(layers=layers, d_model=d, heads=heads, context=4096)
        for context in (int(c) for c in args.contexts.split(",")):
            batch = max(1, args.tokens // context)
            for precision in ("fp32", "bf16"):
                dt, params = seconds_per_step(mr, batch, context, precision, args.steps)
                print(
                    f"{device} {layers}L d{d} h{heads} ({params / 1e6:.2f}M) "
                    f"context {context} batch {batch} {precision}: "
                    f"{batch * context / dt:,.0f} tokens/s ({dt:.2f} s/step)",
                    flush=True,
                )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
