"""Evo 2 inference cost on CPU: the project's cached exact greedy against one batched
teacher-forced pass over the same prompts and batches (the floor of any exact method)
and against per-prompt greedy decoding (one full forward pass per new token).

A tiny random StripedHyena 2 (evo2's packaged 7B config cut down to 4 blocks, the
tests' model) runs on the real evo2 0.6.0 / vtx 1.1.0 code; vortex's two CUDA-only
imports are replaced by the test stand-ins (tests/support/vortex_cpu.py). Timings are
process CPU time, so they hold on a shared machine. The last line is
``cost vs one pass: <x>x  speedup vs per-prompt greedy: <y>x  identical: <k>/<N>``.

    python benchmarks/inference_evo2.py [--per-n 16] [--greedy-per-n 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-n", type=int, default=16, help="prompts per shot count")
    ap.add_argument(
        "--greedy-per-n", type=int, default=4, help="of those, decoded per prompt as well"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-tokens", type=int, default=65536)
    args = ap.parse_args()

    sys.path.insert(0, str(REPO / "tests" / "support"))
    import vortex_cpu

    vortex_cpu.install()
    import torch
    from tiny_evo2 import write_tiny_evo2

    from genomic_icl.functions import FUNCTION_NAMES
    from genomic_icl.models.evo2 import Evo2Backend
    from genomic_icl.prompts import Encoding, prompt_table

    torch.set_num_threads(args.threads)
    clock = time.process_time
    ckpt, config = write_tiny_evo2(Path(tempfile.mkdtemp()))
    spec = {
        "name": "bench",
        "backend": "evo2",
        "checkpoint": str(ckpt),
        "config": str(config),
        "device": "cpu",
        "dtype": "float32",
        "batch_tokens": args.batch_tokens,
    }
    backend = Evo2Backend(spec)
    model = backend.model
    enc = Encoding("genomic", "ACGT")
    fns = list(FUNCTION_NAMES[: args.per_n])
    shots = [1, 2, 4, 8, 16, 32, 64, 128]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(fns)} prompts per n, n in {shots}, {n_params} params, {args.threads} thread(s)")
    backend.run(prompt_table(fns[:2], 1, 1, enc, 1))  # warm-up

    t_ours = t_pass = t_greedy = t_ours_sample = 0.0
    same = checked = total = 0
    with torch.inference_mode():
        for n in shots:
            df = prompt_table(fns, n, 1, enc, 2025)
            ours, pass_s, tok = 0.0, 0.0, {}
            for rows in backend.plan(df):
                batch = df.iloc[rows]
                t0 = clock()
                res = backend.run(batch)
                t1 = clock()
                ids = [
                    list((p + t[:-1]).encode())
                    for p, t in zip(batch.prompt, batch.target, strict=True)
                ]
                model(torch.tensor(ids))
                t2 = clock()
                ours += t1 - t0
                pass_s += t2 - t1
                tok.update(dict(zip(rows, res.token_ids, strict=True)))
            k = min(args.greedy_per_n, len(df))
            t0 = clock()
            ok = 0
            for r in range(k):
                seq = list(df.prompt.iloc[r].encode())
                for _ in range(8):
                    logits, _ = model(torch.tensor([seq]))
                    seq.append(int(logits[0, -1].argmax()))
                ok += seq[-8:] == tok[r]
            greedy = clock() - t0
            t_ours += ours
            t_pass += pass_s
            t_greedy += greedy * len(df) / k  # per-prompt greedy, projected to all prompts
            t_ours_sample += ours
            same += ok
            checked += k
            total += len(df)
            print(
                f"n={n:3d}: project {ours:7.3f}s  one pass {pass_s:7.3f}s  "
                f"cost {ours / pass_s:5.2f}x  per-prompt greedy {greedy / k:7.3f}s/prompt  "
                f"speedup {greedy * len(df) / k / ours:6.1f}x  identical {ok}/{k}"
            )
    print(
        f"project path: {t_ours:.2f}s CPU ({total / t_ours:.1f} prompts/s); one teacher-forced "
        f"pass: {t_pass:.2f}s; per-prompt greedy (projected): {t_greedy:.2f}s"
    )
    print(
        f"cost vs one pass: {t_ours / t_pass:.2f}x  speedup vs per-prompt greedy: "
        f"{t_greedy / t_ours:.1f}x  identical: {same}/{checked}"
    )


if __name__ == "__main__":
    main()
