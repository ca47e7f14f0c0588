"""Benchmark: corpus generation and pretraining throughput of the small DNA model.

Prints corpus bases/s, then training tokens/s (forward + backward + AdamW) for each
(layers, d_model, heads) and context, in fp32 and under bf16 autocast, on the device
pretraining would use (CUDA when present). Wall-clock figures on shared CPUs move
with contention: run it on idle cores and read `uptime` before and after.
Usage: python benchmarks/pretrain.py [--steps 4] [--threads 2] [--models 2x128x8,4x128x4]
[--contexts 512,2304] [--tokens 8192]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=4, help="timed steps (after one warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="2x128x8,4x128x4", help="LAYERSxDMODELxHEADS,...")
    ap.add_argument("--contexts", default="512,2304")
    ap.add_argument("--tokens", type=int, default=8192, help="tokens per batch")
    args = ap.parse_args()

    import torch

    from genomic_icl import corpus, pretrain

    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()}")
    recipe = corpus.CorpusRecipe(chromosomes=16)
    t = time.perf_counter()
    for i in range(recipe.chromosomes):
        corpus.chromosome(recipe, i)
    dt = time.perf_counter() - t
    print(f"corpus: {recipe.chromosomes * recipe.length / dt:,.0f} bases/s")

    tok = pretrain.tokenizer()
    special = {"pad": tok.pad_token_id, "bos": tok.bos_token_id, "eos": tok.eos_token_id}
    device = pretrain.pick_device("auto")
    for spec in args.models.split(","):
        layers, d, heads = (int(v) for v in spec.split("x"))
        mr = pretrain.ModelRecipe(layers=layers, d_model=d, heads=heads, context=4096)
        for context in (int(c) for c in args.contexts.split(",")):
            batch = max(1, args.tokens // context)
            for precision in ("fp32", "bf16"):
                amp = pretrain.autocast_dtype(precision, device)
                torch.manual_seed(0)
                model = pretrain.build_model(mr, len(tok), special).to(device)
                opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
                x = torch.from_numpy(np.random.default_rng(0).integers(4, 8, (batch, context)))
                x = x.to(device)
                for i in range(args.steps + 1):
                    if i == 1:
                        if device.type == "cuda":
                            torch.cuda.synchronize()
                        t = time.perf_counter()
                    with torch.autocast(
                        device.type, dtype=amp or torch.float32, enabled=amp is not None
                    ):
                        loss = model(input_ids=x, labels=x).loss
                    loss.backward()
                    opt.step()
                    opt.zero_grad()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                dt = (time.perf_counter() - t) / args.steps
                params = sum(p.numel() for p in model.parameters())
                print(
                    f"{device.type} {layers}L d{d} h{heads} ({params / 1e6:.2f}M) "
                    f"context {context} batch {batch} {precision}: "
                    f"{batch * context / dt:,.0f} tokens/s ({dt:.2f} s/step)",
                    flush=True,
                )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
