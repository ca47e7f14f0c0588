"""GPU throughput of the project's exact greedy path at real model sizes.

Models are built with random weights at their published dimensions (nothing is
downloaded): Qwen3 from ``transformers.Qwen3Config`` in bf16 (tokens: one per digit, as
Qwen3's tokenizer splits digits), Evo 2 from evo2's packaged vortex config in bf16 with
FP8 off (how evo2 runs 7B without Transformer Engine). Random weights give random
answers, so accuracy means nothing here; cost does not depend on the weights.
Prompts are ``configs/paper.yaml``'s (its seed, functions and encodings), ``--per-n``
of them at each of ``--shots``.

For every model and n it prints and writes (``--out``, TSV):

* prompts/s and tokens/s of the backend's exact greedy path (``backend.plan`` and
  ``backend.run``, as the workflow's predict job calls them), peak GPU memory, and
  MFU: 2 x (parameters less the input embedding) x tokens per second over
  ``--peak-tflops`` (dense bf16 peak; 989 for an H100 or H200 SXM);
* ``cost_vs_pass``: its time over one teacher-forced forward pass over the same
  prompts + targets in the same batches (the floor of any exact method);
* ``speedup_vs_generate``: per-prompt greedy decoding (transformers'
  ``generate(do_sample=False, max_new_tokens=8)``; for Evo 2 vortex's cached
  ``Generator(top_k=1)`` on the same model instance) on ``--generate-per-n`` of the
  prompts, projected to all, over the project's time; ``identical`` counts equal
  greedy tokens (bf16: a near tie may round either way), and ``disagree_margins``
  gives, for each prompt where they differ, the logit gap between the two tokens at
  the first position where they part (one full forward pass over the shared
  context; a small gap is a near tie that rounding decided, a large one a bug).

Then, at the largest n, prompts/s for each of ``--batch-tokens`` (the best one is the
value for ``configs/paper.yaml``), and the GPU minutes of the paper's whole workload
per model: measured seconds per token at each measured n, the nearest measured n for
the others, and for the paper's models that were not measured, scaled from the
nearest measured model of the same family by parameter count (all stated as
extrapolations).

On a GPU (one command; evo2/vtx as wheels where they are missing, see
docs/performance.md)::

    python benchmarks/gpu.py --out gpu.tsv [--models qwen3-0.6b,qwen3-8b,evo2-7b]

On a CPU, tiny models of the same code paths check the script in seconds::

    python benchmarks/gpu.py --tiny

``--tiny`` hides every GPU (``CUDA_VISIBLE_DEVICES=''``) so that it rehearses on the CPU
on any machine. ``--out`` gets each row as soon as it is measured (a late crash keeps
the rows before it); ``benchmarks/gpu_session.sh`` runs this in a lent GPU session.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genomic_icl.models import Backend

REPO = Path(__file__).resolve().parents[1]
QWEN3_VOCAB = 151936
#: Published Qwen3 base-model dimensions (the models' config.json on the hub).
QWEN3 = {
    "qwen3-0.6b": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                       num_attention_heads=16, tie_word_embeddings=True),
    "qwen3-1.7b": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                       num_attention_heads=16, tie_word_embeddings=True),
    "qwen3-4b": dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
                     num_attention_heads=32, tie_word_embeddings=True),
    "qwen3-8b": dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                     num_attention_heads=32, tie_word_embeddings=False),
    "qwen3-14b": dict(hidden_size=5120, intermediate_size=17408, num_hidden_layers=40,
                      num_attention_heads=40, tie_word_embeddings=False),
}  # fmt: skip
QWEN3_TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=32,
    tie_word_embeddings=True,
)
#: evo2's packaged vortex configs of the paper's Evo 2 models.
EVO2 = {"evo2-1b": "evo2-1b-8k.yml", "evo2-7b": "evo2-7b-1m.yml", "evo2-40b": "evo2-40b-1m.yml"}
COLUMNS = [
    "model", "n", "prompts", "tokens", "batch_tokens", "project_s", "prompts_per_s",
    "tokens_per_s", "pass_s", "cost_vs_pass", "generate_s_per_prompt",
    "speedup_vs_generate", "identical", "checked", "disagree_margins", "peak_mem_gib", "mfu",
]  # fmt: skip


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_qwen3(
    name: str, tiny: bool, device, dtype, spec: dict
) -> tuple[Backend, torch.nn.Module]:
    """The ``hf`` backend on a random-weight Qwen3 at ``name``'s dimensions (tiny: a
    2-layer one) with a digit tokenizer (one token per digit, no BOS, as Qwen3's
    tokenizer encodes digits); and the model's blocks."""
    import transformers

    from genomic_icl.models.hf import HFBackend
    from genomic_icl.tokenization import char_tokenizer

    tok = char_tokenizer("0123456789")
    dims = QWEN3_TINY if tiny else {"num_key_value_heads": 8, "head_dim": 128, **QWEN3[name]}
    cfg = transformers.Qwen3Config(
        vocab_size=QWEN3_VOCAB,
        max_position_embeddings=32768,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **dims,
    )
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = transformers.Qwen3ForCausalLM(cfg)
    finally:
        torch.set_default_dtype(default)
    backend = HFBackend({**spec, "backend": "hf"}, model=model.eval(), tokenizer=tok)
    return backend, model.model.layers


def build_evo2(name: str, tiny: bool, device, dtype, spec: dict) -> tuple[Backend, torch.nn.Module]:
    """The ``evo2`` backend on a random-weight StripedHyena 2 from evo2's packaged config
    of ``name`` (tiny: the tests' 4-block model) with FP8, flash attention and FlashFFT
    off, in the dtypes a loaded checkpoint has; and the model's blocks."""
    import importlib.util

    from genomic_icl.models.evo2 import patches, random_weights

    if importlib.util.find_spec("flash_attn") is None:
        # vortex.ops imports flash-attn's CUDA extension at import
        patches.install_cpu_standins()
        print("flash-attn missing: vortex's rotary is the pure-torch stand-in", flush=True)
    from genomic_icl.models.evo2 import Evo2Backend

    patches.quiet_vortex_logs()
    config = random_weights.tiny_config() if tiny else random_weights.packaged_config(EVO2[name])
    model = random_weights.random_model(config, device, dtype)
    backend = Evo2Backend({**spec, "backend": "evo2"}, model=model)
    return backend, backend.model.blocks


@dataclasses.dataclass(frozen=True)
class Family:
    """A family of benchmarked models: its models' published sizes (name -> dimensions
    or config), its prompts' encoding, and its builder: ``(name, tiny, device, dtype,
    spec) -> (backend, blocks)`` with random weights."""

    sizes: dict
    encoding: str
    build: Callable[..., tuple[Backend, torch.nn.Module]]


FAMILIES = {
    "Qwen3": Family(QWEN3, "linguistic", build_qwen3),
    "Evo2": Family(EVO2, "genomic", build_evo2),
}


def family_of(name: str) -> str | None:
    """The family a model name belongs to (None: unknown)."""
    return next((f for f, family in FAMILIES.items() if name in family.sizes), None)


@functools.cache
def paper_config() -> dict:
    """``configs/paper.yaml``, read once (without its schema check: the GPU image has no
    jsonschema; the tests validate this config in full)."""
    from genomic_icl.config import load_config_without_schema

    return load_config_without_schema(REPO / "configs" / "paper.yaml")


def paper_prompts(encoding: str, n: int, count: int | None) -> pd.DataFrame:
    """``configs/paper.yaml``'s prompts of one encoding at n shots (the first
    ``count`` of one trial each, functions in the config's order; None: all trials)."""
    from genomic_icl.config import encoding as encoding_of
    from genomic_icl.config import function_names
    from genomic_icl.prompts import prompt_table

    cfg = paper_config()
    trials = cfg["trials"] if count is None else 1
    table = prompt_table(
        function_names(cfg), n, trials, encoding_of(cfg, encoding), cfg["seed"]
    ).reset_index(drop=True)
    return table if count is None else table.iloc[:count].reset_index(drop=True)


class Subject:
    """One benchmarked model: its backend and its three ways through a batch (the
    backend's :meth:`~genomic_icl.models.Backend.run`, one forward pass, and the model
    library's own decoding), all through the backend contract."""

    def __init__(self, name: str, tiny: bool, device, dtype, batch_tokens: int) -> None:
        self.name, self.device = name, device
        self.family = family_of(name)
        family = FAMILIES[self.family]
        self.encoding = family.encoding
        spec = {"name": name, "checkpoint": "random", "batch_tokens": batch_tokens}
        self.backend, blocks = family.build(name, tiny, device, dtype, spec)
        self.params = sum(p.numel() for p in self.backend.model.parameters())
        # MFU counts the blocks' matmuls (2 FLOPs per parameter and token): not the
        # embedding lookup, the 8 kept logits or attention's L^2 term
        self.flop_params = sum(p.numel() for p in blocks.parameters())

    def ids(self, batch: pd.DataFrame):
        """(prompt ids, target ids) of a batch, as the backend encodes them."""
        return self.backend.encode(batch.prompt.tolist(), batch.target.tolist())

    def one_pass(self, batch: pd.DataFrame) -> None:
        """One teacher-forced forward pass over prompt + target (8 logits kept)."""
        p, t = self.ids(batch)
        x = torch.tensor([a + b[:-1] for a, b in zip(p, t, strict=True)], device=self.device)
        self.backend.logits(x, keep=8)

    def margin(self, row: pd.DataFrame, ours: list[int], theirs: list[int]) -> float:
        """The logit gap between our and the baseline's token where they first differ
        (``row``: the prompt's one-row table), from one full forward pass."""
        p = self.ids(row)[0][0]
        j = next(i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b)
        x = torch.tensor([p + ours[:j]], device=self.device)
        logits = self.backend.logits(x, keep=1)[0, -1].float()
        return abs(float(logits[ours[j]] - logits[theirs[j]]))

    def generate(self, prompt: str) -> list[int]:
        """Greedy tokens of one prompt by per-prompt decoding (the baseline)."""
        return self.backend.baseline_greedy(prompt, 8)


def timed(fn, device) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def measure(subject: Subject, n: int, args) -> dict:
    """One row of :data:`COLUMNS`: the model at n shots on ``args.per_n`` prompts."""
    backend, device = subject.backend, subject.device
    df = paper_prompts(subject.encoding, n, args.per_n)
    plan = backend.plan(df)
    ours: dict[int, list[int]] = {}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def project() -> None:
        for rows in plan:
            res = backend.run(df.iloc[rows])
            ours.update(zip(rows.tolist(), res.token_ids, strict=True))

    def one_pass() -> None:
        for rows in plan:
            subject.one_pass(df.iloc[rows])

    with torch.inference_mode():
        project_s = timed(project, device)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else np.nan
        pass_s = timed(one_pass, device)
        k = min(args.generate_per_n, len(df))
        naive: list[list[int]] = []
        gen_s = timed(lambda: naive.extend(subject.generate(p) for p in df.prompt[:k]), device)
        differ = [i for i in range(k) if naive[i][:8] != list(ours[i])[:8]]
        margins = [subject.margin(df.iloc[[i]], list(ours[i]), naive[i]) for i in differ]
    p, t = subject.ids(df)
    tokens = sum(len(a) + len(b) for a, b in zip(p, t, strict=True))
    generate_total = gen_s / k * len(df)
    return {
        "model": subject.name,
        "n": n,
        "prompts": len(df),
        "tokens": tokens,
        "batch_tokens": backend.batch_tokens,
        "project_s": project_s,
        "prompts_per_s": len(df) / project_s,
        "tokens_per_s": tokens / project_s,
        "pass_s": pass_s,
        "cost_vs_pass": project_s / pass_s,
        "generate_s_per_prompt": gen_s / k,
        "speedup_vs_generate": generate_total / project_s,
        "identical": k - len(differ),
        "checked": k,
        "disagree_margins": ",".join(f"{m:.4g}" for m in margins),
        "peak_mem_gib": peak,
        "mfu": 2 * subject.flop_params * tokens / project_s / (args.peak_tflops * 1e12),
    }


def sweep_batch_tokens(subject: Subject, n: int, args) -> list[tuple[int, float | None]]:
    """(batch_tokens, prompts/s or None where it ran out of memory) at n shots."""
    backend = subject.backend
    df = paper_prompts(subject.encoding, n, args.per_n)
    out = []
    for bt in args.batch_tokens_sweep:
        backend.batch_tokens = bt
        try:
            with torch.inference_mode():
                s = timed(
                    lambda: [backend.run(df.iloc[r]) for r in backend.plan(df)], subject.device
                )
            out.append((bt, len(df) / s))
        except torch.OutOfMemoryError:
            backend.after_out_of_memory()
            out.append((bt, None))
    backend.batch_tokens = args.batch_tokens
    return out


@functools.cache
def paper_tokens(encoding: str, n: int) -> int:
    """Symbols (= tokens) of all of ``configs/paper.yaml``'s prompts + targets at n."""
    df = paper_prompts(encoding, n, None)
    return int(df.prompt.str.len().sum() + df.target.str.len().sum())


def paper_minutes(rows: pd.DataFrame, encoding: str) -> float:
    """GPU minutes of one model's whole paper workload: each n's prompt tokens times the
    seconds per token measured at the nearest measured n (in log n)."""
    measured = rows.set_index("n")
    total = 0.0
    for n in paper_config()["shots"]:
        near = min(measured.index, key=lambda m: abs(math.log2(m) - math.log2(n)))
        total += paper_tokens(encoding, n) / measured.loc[near, "tokens_per_s"]
    return total / 60


def scaled_minutes(measured: dict[str, tuple[str, int, float]]) -> list[str]:
    """For each Qwen3 or Evo 2 model of ``configs/paper.yaml`` that was not measured: its
    paper workload's GPU-minutes scaled from the measured model of its family nearest
    in size (``measured``: name -> (family, parameters, minutes)) by the ratio of
    parameter counts (``params:`` in the config), as FLOPs per token scale."""
    lines = []
    for model in paper_config()["models"]:
        name, family = model["name"], family_of(model["name"])
        same = [(p, m, k) for k, (f, p, m) in measured.items() if f == family]
        if name in measured or family is None or not same:
            continue
        params, minutes, base = min(same, key=lambda x: abs(math.log(x[0] / model["params"])))
        lines.append(
            f"{name}: ~{minutes * model['params'] / params:.0f} GPU-minutes for the paper "
            f"workload (scaled from {base} by parameter count, not measured)"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="qwen3-0.6b,qwen3-8b,evo2-7b")
    ap.add_argument("--shots", default="1,8,32,128")
    ap.add_argument("--per-n", type=int, default=256, help="prompts per n")
    ap.add_argument("--generate-per-n", type=int, default=8, help="prompts decoded one by one")
    ap.add_argument("--batch-tokens", type=int, default=65536, help="batch size in tokens")
    ap.add_argument("--sweep", default="16384,65536,262144", help="batch_tokens to compare")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak")
    ap.add_argument("--tiny", action="store_true", help="tiny models on the CPU: checks the script")
    ap.add_argument("--out", help="write the rows as TSV here")
    args = ap.parse_args()
    args.batch_tokens_sweep = [int(v) for v in args.sweep.split(",") if v]
    names = args.models.split(",")
    unknown = [n for n in names if family_of(n) is None]
    if unknown:
        known = sorted(n for family in FAMILIES.values() for n in family.sizes)
        raise SystemExit(f"unknown model {unknown[0]!r}; known: {known}")

    if args.tiny:
        # before anything asks CUDA: vortex would place the layers on a visible GPU
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        device, dtype = torch.device("cpu"), torch.float32
        torch.set_num_threads(2)
        print("--tiny: tiny models on the CPU check the code paths; the figures mean nothing")
    elif torch.cuda.is_available():
        device, dtype = torch.device("cuda"), torch.bfloat16
        print(f"gpu: {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    else:
        raise SystemExit("no CUDA device: run on a GPU, or pass --tiny to check the script")
    shots = sorted(int(v) for v in args.shots.split(","))
    if args.out:  # the header now, each row as soon as it is measured
        pd.DataFrame(columns=COLUMNS).to_csv(args.out, sep="\t", index=False)
    measured: dict[str, tuple[str, int, float]] = {}
    for name in names:
        start = time.perf_counter()
        subject = Subject(name, args.tiny, device, dtype, args.batch_tokens)
        print(
            f"{name}: {subject.params / 1e9:.3f} B parameters (random, {dtype}), built in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
        # warm-up (CUDA context, cuBLAS, kernel selection), not recorded
        measure(
            subject, shots[0], argparse.Namespace(**{**vars(args), "per_n": 8, "generate_per_n": 1})
        )
        mine = []
        for n in shots:
            row = measure(subject, n, args)
            mine.append(row)
            if args.out:
                pd.DataFrame([row], columns=COLUMNS).to_csv(
                    args.out, sep="\t", index=False, header=False, mode="a", float_format="%.6g"
                )
            print(
                f"  n={n:3d}: {row['prompts_per_s']:8.1f} prompts/s "
                f"{row['tokens_per_s']:10,.0f} tokens/s  cost vs one pass "
                f"{row['cost_vs_pass']:4.2f}x  vs per-prompt generate "
                f"{row['speedup_vs_generate']:6.1f}x  identical {row['identical']}/"
                f"{row['checked']}  peak {row['peak_mem_gib']:5.1f} GiB  MFU {row['mfu']:.1%}",
                flush=True,
            )
        table = pd.DataFrame(mine)
        total_gen = (table.generate_s_per_prompt * table.prompts).sum()
        print(
            f"  all n: {table.prompts.sum() / table.project_s.sum():.1f} prompts/s; "
            f"cost vs one pass {table.project_s.sum() / table.pass_s.sum():.2f}x; "
            f"speedup vs per-prompt generate {total_gen / table.project_s.sum():.1f}x",
            flush=True,
        )
        sweep = sweep_batch_tokens(subject, shots[-1], args)
        print(
            f"  batch_tokens at n={shots[-1]}: "
            + ", ".join(f"{bt}: {'OOM' if v is None else f'{v:.1f} prompts/s'}" for bt, v in sweep),
            flush=True,
        )
        minutes = paper_minutes(table, subject.encoding)
        print(f"  paper workload (all n, extrapolated from these n): {minutes:.1f} GPU-minutes")
        measured[name] = (subject.family, subject.params, minutes)
        del subject
        if device.type == "cuda":
            torch.cuda.empty_cache()
    for line in scaled_minutes(measured):
        print(line)
    if args.out:
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
