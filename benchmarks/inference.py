"""Inference speed on CPU: the project's greedy path against per-prompt
``generate(do_sample=False, max_new_tokens=8)`` on the same prompts.

A tiny random-weight Qwen3 (built from a config, character tokenizer, no
download) answers a few hundred linguistic prompts spanning n = 1..128. Both
paths run on the same prompts with the same torch thread count; the last line is
``speedup: <x>x identical: <k>/<N>`` (identical = same greedy tokens).

    python benchmarks/inference.py [--per-n 40] [--threads 1]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-n", type=int, default=40, help="prompts per shot count")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-tokens", type=int, default=65536)
    args = ap.parse_args()

    import pandas as pd
    import torch
    import transformers

    from genomic_icl.functions import FUNCTION_NAMES
    from genomic_icl.models.hf import HFBackend
    from genomic_icl.prompts import Encoding, prompt_table
    from genomic_icl.tokenization import char_tokenizer

    torch.set_num_threads(args.threads)
    tok = char_tokenizer("0123456789")
    torch.manual_seed(0)
    cfg = transformers.Qwen3Config(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=4096,
        eos_token_id=tok.eos_token_id,
    )
    model = transformers.Qwen3ForCausalLM(cfg).eval()
    with torch.no_grad():  # decisive, varied greedy picks
        model.get_output_embeddings().weight.mul_(8.0)

    shots = [1, 2, 4, 8, 16, 32, 64, 128]
    enc = Encoding("linguistic", "0123456789")
    fns = list(FUNCTION_NAMES[: args.per_n])
    df = pd.concat([prompt_table(fns, n, 1, enc, 2025) for n in shots], ignore_index=True)
    N = len(df)
    print(
        f"{N} prompts, n in {shots}, {sum(p.numel() for p in model.parameters())} params, "
        f"{args.threads} thread(s)"
    )

    spec = {"name": "bench", "backend": "hf", "checkpoint": "-", "batch_tokens": args.batch_tokens}
    backend = HFBackend(spec, model=model, tokenizer=tok)
    t_ours = t_naive = 0.0
    same = 0
    for n in shots:
        sub = df[df["n_shots"] == n].reset_index(drop=True)
        t0 = time.perf_counter()
        ours: list = [None] * len(sub)
        for rows in backend.plan(sub):
            res = backend.run(sub.iloc[rows])
            for j, r in enumerate(rows):
                ours[r] = res.token_ids[j]
        t1 = time.perf_counter()
        naive = []
        with torch.inference_mode():
            for prompt in sub["prompt"]:
                x = tok(prompt, return_tensors="pt")
                out = model.generate(
                    **x, do_sample=False, max_new_tokens=8, pad_token_id=tok.pad_token_id
                )
                naive.append(out[0, x["input_ids"].shape[1] :].tolist())
        t2 = time.perf_counter()
        k = sum(a == b for a, b in zip(ours, naive, strict=True))
        same += k
        t_ours += t1 - t0
        t_naive += t2 - t1
        print(
            f"n={n:3d}: project {t1 - t0:6.3f}s  generate {t2 - t1:6.3f}s  "
            f"speedup {(t2 - t1) / (t1 - t0):6.1f}x  identical {k}/{len(sub)}"
        )
    print(
        f"project path: {t_ours:.2f}s ({N / t_ours:.0f} prompts/s); "
        f"per-prompt generate: {t_naive:.2f}s ({N / t_naive:.1f} prompts/s)"
    )
    print(f"speedup: {t_naive / t_ours:.1f}x identical: {same}/{N}")


if __name__ == "__main__":
    main()
