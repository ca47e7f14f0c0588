"""Inference speed on CPU: the project's greedy path against per-prompt
``generate(do_sample=False, max_new_tokens=8)`` on the same prompts.

A tiny random-weight Qwen3 (built from a config, character tokenizer, no
download) answers a few hundred linguistic prompts spanning n = 1..128. Both
paths run on the same prompts with the same torch thread count; the last line is
``speedup: <x>x identical: <k>/<N>`` (identical = same greedy tokens).

    python benchmarks/inference.py [--per-n 40] [--threads 1]

``--dna`` instead times the default config's DNA model (its shipped or workflow-
trained weights) on the default genomic prompts (``--trials`` per function and n):
the hf backend's exact greedy predictions against the floor, one batched
teacher-forced forward pass over the same prompts + targets in the same batches
(8 logits kept; ``use_cache=True``, the faster path for LFM2), and against
``greedy_kv`` (the path LFM2 took before ``greedy_stepwise``), in CPU seconds of
the process (robust to other jobs on the machine at ``--threads 1``; wall seconds
in brackets). The last line is ``greedy_kv/forward: <x> predictions/forward: <y>``.

    python benchmarks/inference.py --dna [--trials 2] [--threads 2] [--answers]

``--answers`` (with ``--dna`` or ``--evo2``) times the backend with ``answers: true``:
greedy decoding, the target's per-position log-probabilities and all 256 answers'
log-probabilities from the answer tree (``decoding: rank`` costs the same: it is the
argmax of those).

``--evo2`` times the Evo 2 backend on a CPU: a tiny random StripedHyena 2 (evo2's
packaged 7B config cut down to 4 blocks, the tests' model) on the real evo2 0.6.0 /
vtx 1.1.0 code, with vortex's two CUDA-only imports replaced by pure-torch stand-ins
(``genomic_icl.models.evo2.patches.install_cpu_standins``). Its cached exact greedy
against one batched teacher-forced pass over the same prompts and batches (the floor
of any exact method) and against per-prompt greedy decoding (one full forward pass per new
token, on ``--greedy-per-n`` prompts per n, projected to all), in CPU seconds of the
process. The last line is ``cost vs one pass: <x>x  speedup vs per-prompt greedy:
<y>x  identical: <k>/<N>``.

    python benchmarks/inference.py --evo2 [--per-n 16] [--greedy-per-n 4] [--shots 16 128]

``--like evo2-1b-8k.yml`` builds the tiny model's 4 blocks at that packaged model's
width (hidden size, MLP size, attention heads, state size: 178M parameters for the
1B's), to see how the costs scale with width; ``--greedy-per-n 0`` skips the
per-prompt decoding, which costs 8 passes per prompt at that width.

``--tree`` times the answer distribution (``answers: true``: greedy, the target's
per-position log-probabilities and all 256 answers) per architecture, on tiny random
transformers models of the default DNA model's size (2 layers, width 128, character
tokenizer) and genomic prompts at n = 4 and n = 128 (``--per-n`` prompts each),
against one batched teacher-forced pass over the same prompts + targets in the same
batches: the tree the model takes (``shared``: over the prompt's shared keys in one
pass; ``prompt-keys``: row by row, the prompt's attention keys shared, for hybrid
models such as LFM2) and the row-copy tree (``rows``, forced for comparison), in CPU seconds of the
process, the least of ``--repeat`` interleaved timings. One line per architecture
and n: ``<arch> n=<n> <L> tokens: pass <s>s <tree> <s>s (<x>x) rows <s>s (<y>x)``,
and the ratio of tokens the shared tree reads to the pass's, (L + 254)/(L + 7): its
floor, which only long prompts bring near 1.

    python benchmarks/inference.py --tree [--per-n 16] [--shots 4 128] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-n", type=int, default=40, help="prompts per shot count")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-tokens", type=int, default=65536)
    ap.add_argument("--dna", action="store_true", help="time the default DNA model instead")
    ap.add_argument("--config", default="config.yaml", help="--dna: config of the model")
    ap.add_argument("--model", default="dna-lfm2", help="--dna: model entry")
    ap.add_argument("--trials", type=int, default=2, help="--dna: trials per function and n")
    ap.add_argument("--evo2", action="store_true", help="time the Evo 2 backend instead")
    ap.add_argument(
        "--answers", action="store_true", help="--dna/--evo2: with the answer distribution"
    )
    ap.add_argument(
        "--greedy-per-n",
        type=int,
        default=4,
        help="--evo2: prompts also decoded one by one (0: none)",
    )
    ap.add_argument(
        "--like",
        help="--evo2: the tiny model's 4 blocks at this packaged config's width (evo2-1b-8k.yml)",
    )
    ap.add_argument("--tree", action="store_true", help="time the answer tree per architecture")
    ap.add_argument("--arch", nargs="*", help="--tree: only these architectures")
    ap.add_argument(
        "--shots", type=int, nargs="*", help="shot counts (--tree: 4 128; --evo2: 1..128)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="--tree: timings (the least is kept)")
    args = ap.parse_args()
    if args.tree:
        tree(args)
        return
    if args.dna:
        dna(args)
        return
    if args.evo2:
        evo2(args)
        return

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


def dna(args) -> None:
    """The DNA model's exact greedy predictions against one batched forward pass."""
    import os
    from pathlib import Path

    import torch

    from genomic_icl.config import (
        encoding,
        function_names,
        load_config,
        model_entry,
        pretrained_dir,
        pretrained_name,
    )
    from genomic_icl.models.base import N_TARGET
    from genomic_icl.models.greedy import greedy_kv
    from genomic_icl.models.hf import HFBackend
    from genomic_icl.pretrain import shipped_weights
    from genomic_icl.prompts import prompt_table

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    spec = model_entry(cfg, args.model)
    name = pretrained_name(spec)
    ckpt = Path(pretrained_dir(name)) if name else Path(spec["checkpoint"])
    if name and not ckpt.is_dir():
        ckpt = shipped_weights(cfg["pretrain"][name])
    if ckpt is None or not Path(ckpt).is_dir():
        raise SystemExit(f"no weights for {args.model}: run the workflow's pretraining first")
    spec = {**spec, "checkpoint": str(ckpt), "answers": args.answers}
    backend = HFBackend(spec)
    model = backend.model
    print(
        f"{backend.describe()}; greedy path {backend._greedy.__name__}; "
        f"answers {backend.answers}; "
        f"{args.threads} thread(s); cpu {torch.backends.cpu.get_cpu_capability()}; "
        f"load {os.getloadavg()}"
    )
    enc = encoding(cfg, spec["encoding"])
    fns = function_names(cfg)
    clock = time.process_time  # CPU seconds of this process: robust to other jobs
    print("seconds are CPU seconds of this process (wall seconds in brackets)")
    tot = {"pred": 0.0, "fwd": 0.0, "kv": 0.0, "wall": 0.0, "tokens": 0}
    for n in sorted(cfg["shots"]):
        sub = prompt_table(fns, n, args.trials, enc, cfg["seed"]).reset_index(drop=True)
        plan = backend.plan(sub)
        batches, tokens = [], 0
        for rows in plan:
            p, t = backend.encode(sub.prompt.iloc[rows].tolist(), sub.target.iloc[rows].tolist())
            batches.append((torch.tensor(p), torch.tensor(t)))
            tokens += len(rows) * (len(p[0]) + len(t[0]) - 1)
        w0, t0 = time.perf_counter(), clock()
        for rows in plan:
            backend.run(sub.iloc[rows])
        w1, t1 = time.perf_counter(), clock()
        with torch.inference_mode():
            for p, t in batches:
                # use_cache=True: LFM2's forward without a cache is ~1.7x slower on CPU
                model(input_ids=torch.cat([p, t[:, :-1]], 1), use_cache=True, logits_to_keep=8)
        t2 = clock()
        for p, t in batches:
            greedy_kv(model, p, t, N_TARGET, backend.eos_ids, backend._keep)
        t3 = clock()
        pred, fwd, kv = t1 - t0, t2 - t1, t3 - t2
        for k, v in (
            ("pred", pred),
            ("fwd", fwd),
            ("kv", kv),
            ("wall", w1 - w0),
            ("tokens", tokens),
        ):
            tot[k] += v
        print(
            f"n={n:3d}: {len(sub)} prompts, {tokens} tokens; predictions {pred:6.2f}s "
            f"[{w1 - w0:6.2f}s] ({tokens / pred:8,.0f} tokens/s)  one forward {fwd:6.2f}s  "
            f"greedy_kv {kv:6.2f}s  predictions/forward {pred / fwd:4.2f}  "
            f"greedy_kv/forward {kv / fwd:4.2f}",
            flush=True,
        )
    print(
        f"all n: predictions {tot['pred']:.1f}s [{tot['wall']:.1f}s] "
        f"({tot['tokens'] / tot['pred']:,.0f} tokens/s), one forward {tot['fwd']:.1f}s "
        f"({tot['tokens'] / tot['fwd']:,.0f} tokens/s), greedy_kv {tot['kv']:.1f}s; "
        f"load {os.getloadavg()}"
    )
    print(
        f"greedy_kv/forward: {tot['kv'] / tot['fwd']:.2f} "
        f"predictions/forward: {tot['pred'] / tot['fwd']:.2f}"
    )


def tiny_model(arch: str, vocab: int, eos: int):
    """A random transformers model of the default DNA model's size (2 layers, width 128,
    8 heads, context 4096)."""
    import torch
    import transformers

    torch.manual_seed(0)
    if arch == "gpt2":
        cfg = transformers.GPT2Config(
            vocab_size=vocab, n_embd=128, n_layer=2, n_head=8, n_positions=4096, eos_token_id=eos
        )
        return transformers.GPT2LMHeadModel(cfg).eval()
    classes = {
        "llama": ("LlamaConfig", "LlamaForCausalLM", {}),
        "mistral": ("MistralConfig", "MistralForCausalLM", {}),
        "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", {"head_dim": 16}),
        "lfm2": ("Lfm2Config", "Lfm2ForCausalLM", {"layer_types": ["conv", "full_attention"]}),
    }
    cfg_name, model_name, extra = classes[arch]
    cfg = getattr(transformers, cfg_name)(
        vocab_size=vocab,
        hidden_size=128,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=8,
        num_key_value_heads=8,
        max_position_embeddings=4096,
        eos_token_id=eos,
        **extra,
    )
    return getattr(transformers, model_name)(cfg).eval()


def tree(args) -> None:
    """The answer tree's cost per architecture (``--tree``): see the module docstring."""
    import os

    import torch

    from genomic_icl.functions import FUNCTION_NAMES
    from genomic_icl.models.answers import TREE_NODES, TreePaths
    from genomic_icl.models.base import N_TARGET
    from genomic_icl.models.hf import HFBackend
    from genomic_icl.prompts import Encoding, prompt_table
    from genomic_icl.tokenization import char_tokenizer

    torch.set_num_threads(args.threads)
    tok = char_tokenizer("ACGT")
    enc = Encoding("genomic", "ACGT")
    fns = list(FUNCTION_NAMES[: args.per_n])
    print(
        f"{len(fns)} prompts per n; {args.threads} thread(s); CPU seconds of this process; "
        f"load {os.getloadavg()}"
    )
    for arch in args.arch or ["llama", "qwen3", "mistral", "gpt2", "lfm2"]:
        model = tiny_model(arch, len(tok), tok.eos_token_id)
        spec = {
            "name": arch,
            "backend": "hf",
            "checkpoint": "-",
            "batch_tokens": args.batch_tokens,
            "answers": True,
        }
        HFBackend(spec, model=model, tokenizer=tok).run(prompt_table(fns[:2], 1, 1, enc, 1))
        for n in args.shots or [4, 128]:
            df = prompt_table(fns, n, 1, enc, 2025)
            backends = {"shared": HFBackend(spec, model=model, tokenizer=tok)}
            if backends["shared"]._paths != TreePaths():
                backends["rows"] = HFBackend(spec, model=model, tokenizer=tok)
                backends["rows"]._paths = TreePaths()  # the row-copy tree, forced
            plan = backends["shared"].plan(df)
            batches = []
            for rows in plan:
                p, t = backends["shared"].encode(
                    df.prompt.iloc[rows].tolist(), df.target.iloc[rows].tolist()
                )
                batches.append(torch.cat([torch.tensor(p), torch.tensor(t)[:, :-1]], 1))

            best = _least_times(model, backends, df, plan, batches, args.repeat)
            length = batches[0].shape[1] - N_TARGET + 1
            floor = (length + TREE_NODES) / (length + N_TARGET - 1)
            path = backends["shared"].tree_path
            one = best["pass"]
            line = f"{arch:8s} n={n:3d} {length:5d} tokens: pass {one:6.3f}s  "
            line += f"{path} {best['shared']:6.3f}s ({best['shared'] / one:5.2f}x)  "
            if path != "rows":
                line += f"rows {best['rows']:6.3f}s ({best['rows'] / one:5.2f}x)  "
            print(line + f"tokens (L + 254)/(L + 7) {floor:4.2f}", flush=True)


def _least_times(model, backends: dict, df, plan, batches, repeat: int) -> dict[str, float]:
    """CPU seconds of one teacher-forced pass over ``batches`` ("pass") and of each
    backend's run over ``plan``: the least of ``repeat`` interleaved timings (robust
    to other jobs on the machine)."""
    import torch

    best = dict.fromkeys(["pass", *backends], float("inf"))
    for _ in range(repeat):
        t0 = time.process_time()
        with torch.inference_mode():
            for ids in batches:
                model(input_ids=ids, use_cache=True, logits_to_keep=8)
        best["pass"] = min(best["pass"], time.process_time() - t0)
        for key, backend in backends.items():
            t0 = time.process_time()
            for rows in plan:
                backend.run(df.iloc[rows])
            best[key] = min(best[key], time.process_time() - t0)
    return best


def evo2(args) -> None:
    """The Evo 2 backend's cached exact greedy (``--evo2``): see the module docstring."""
    from genomic_icl.models.evo2.patches import install_cpu_standins

    install_cpu_standins()
    import torch

    from genomic_icl.functions import FUNCTION_NAMES
    from genomic_icl.models.evo2 import Evo2Backend
    from genomic_icl.models.evo2.random_weights import write_tiny_evo2
    from genomic_icl.prompts import Encoding, prompt_table

    torch.set_num_threads(args.threads)
    clock = time.process_time
    ckpt, config = write_tiny_evo2(Path(tempfile.mkdtemp()), like=args.like)
    spec = {
        "name": "bench",
        "backend": "evo2",
        "checkpoint": str(ckpt),
        "config": str(config),
        "device": "cpu",
        "dtype": "float32",
        "batch_tokens": args.batch_tokens,
        "answers": args.answers,
    }
    backend = Evo2Backend(spec)
    model = backend.model
    enc = Encoding("genomic", "ACGT")
    fns = list(FUNCTION_NAMES[: args.per_n])
    shots = args.shots or [1, 2, 4, 8, 16, 32, 64, 128]
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
            greedy = (clock() - t0) / k if k else float("nan")  # per prompt (0: not run)
            t_ours += ours
            t_pass += pass_s
            t_greedy += greedy * len(df)  # per-prompt greedy, projected to all prompts
            t_ours_sample += ours
            same += ok
            checked += k
            total += len(df)
            print(
                f"n={n:3d}: project {ours:7.3f}s  one pass {pass_s:7.3f}s  "
                f"cost {ours / pass_s:5.2f}x  per-prompt greedy {greedy:7.3f}s/prompt  "
                f"speedup {greedy * len(df) / ours:6.1f}x  identical {ok}/{k}"
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
