"""Pretrain a small causal transformer on the DNA-like corpus by next-token loss.

The model is any decoder-only architecture transformers ships whose config takes
the usual Llama-style keys (``llama`` by default; ``mistral``, ``qwen2``, ... work
too), trained from scratch on windows of the corpus (``genomic_icl.corpus``) with
one token per nucleotide (``tokenization.char_tokenizer("ACGT")``). Training runs in
phases of (steps, context, batch), typically most steps at a short context and a
short phase at the full context so RoPE positions up to the longest prompt are
seen. The result is an ordinary local checkpoint directory
(``AutoModelForCausalLM`` / ``AutoTokenizer``) plus ``loss.tsv`` and
``pretrain.json``.

Shipped weights: the default recipe's model is trained once and ships with the
package (``genomic_icl/data/pretrained/NAME``, its ``pretrain.json`` holding the
recipe and its digest). :func:`shipped_weights` finds the shipped checkpoint of a
recipe by digest and :func:`install_shipped` copies it into the workflow's output,
so the default run needs no training and gives the same model on every machine;
any other recipe (or ``shipped_weights: false`` in the config) is trained here.

Determinism: the weights derive from ``training.seed``; the batch of step s derives
from ``(seed, s)`` alone, so a run interrupted and resumed from its checkpoint sees
the same batches as an uninterrupted one. Checkpoints (model + optimizer + log)
are written every ``checkpoint_every`` steps to a resume directory outside the
output, and a rerun resumes from the newest one when the recipe is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from genomic_icl import corpus as corpus_mod

GENOMIC_ALPHABET = "ACGT"
LOSS_COLUMNS = (
    "step",
    "phase",
    "context",
    "batch",
    "tokens",
    "lr",
    "loss",
    "copy_loss",
    "elapsed_s",
)
PROBE_UNIT = 64  # the copy probe: random 64-mers repeated twice
#: Checkpoints shipped with the package, one directory per recipe (docs/dna-model.md)
SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "pretrained"


@dataclass(frozen=True)
class ModelRecipe:
    architecture: str = "llama"
    layers: int = 4
    d_model: int = 128
    heads: int = 4
    kv_heads: int | None = None
    mlp_ratio: float = 4.0
    context: int = 2304  # max_position_embeddings: the longest context the model is used at
    rope_theta: float = 10000.0
    extra: Mapping[str, Any] = field(default_factory=dict)  # passed to the transformers config


@dataclass(frozen=True)
class Phase:
    steps: int
    context: int
    batch: int


@dataclass(frozen=True)
class TrainingRecipe:
    seed: int = 0
    phases: tuple[Phase, ...] = (Phase(1000, 512, 16), Phase(100, 2304, 4))
    lr: float = 2e-3
    min_lr_ratio: float = 0.1  # cosine decay to lr * min_lr_ratio
    warmup: int = 50
    weight_decay: float = 0.05
    beta2: float = 0.98
    grad_clip: float = 1.0
    revcomp_prob: float = 0.5  # read a window from the other strand (both strands are DNA)
    checkpoint_every: int = 100
    precision: str = "auto"  # auto | fp32 | bf16 (autocast)
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)


def _from_mapping(cls, mapping: Mapping | None, what: str):
    mapping = dict(mapping or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys: {unknown}; known: {sorted(known)}")
    return mapping


def parse_recipe(recipe: Mapping) -> tuple[corpus_mod.CorpusRecipe, ModelRecipe, TrainingRecipe]:
    """Split a config ``pretrain.NAME`` mapping into its three typed parts."""
    unknown = sorted(set(recipe) - {"corpus", "model", "training"})
    if unknown:
        raise ValueError(f"unknown pretrain recipe sections: {unknown}")
    corpus = corpus_mod.CorpusRecipe.from_mapping(recipe.get("corpus"))
    model = ModelRecipe(**_from_mapping(ModelRecipe, recipe.get("model"), "pretrain model"))
    tr = _from_mapping(TrainingRecipe, recipe.get("training"), "pretrain training")
    if "phases" in tr:
        tr["phases"] = tuple(
            Phase(**_from_mapping(Phase, p, "pretrain phase")) for p in tr["phases"]
        )
    training = TrainingRecipe(**tr)
    longest = max(p.context for p in training.phases)
    if longest > model.context:
        raise ValueError(f"a phase context ({longest}) exceeds model.context ({model.context})")
    return corpus, model, training


def recipe_digest(recipe: Mapping) -> str:
    """A short digest of a recipe mapping as written (any change of a value changes it)."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shipped_weights(recipe: Mapping, shipped_dir: str | Path = SHIPPED_DIR) -> Path | None:
    """The shipped checkpoint directory trained from exactly this recipe (same
    :func:`recipe_digest`), or None. Cheap: reads small JSON files only."""
    digest = recipe_digest(dict(recipe))
    for summary in sorted(Path(shipped_dir).glob("*/pretrain.json")):
        if json.loads(summary.read_text()).get("recipe_digest") == digest:
            return summary.parent
    return None


def install_shipped(src: str | Path, out_dir: str | Path, recipe: Mapping) -> dict:
    """Copy a shipped checkpoint (checked against ``recipe``'s digest) to ``out_dir``,
    the directory the recipe's training would write; returns its ``pretrain.json``."""
    src, out_dir = Path(src), Path(out_dir)
    summary = json.loads((src / "pretrain.json").read_text())
    digest = recipe_digest(dict(recipe))
    if summary.get("recipe_digest") != digest:
        raise ValueError(
            f"{src} was trained from recipe {summary.get('recipe_digest')}, not {digest}"
        )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(src, out_dir)
    return summary


# --------------------------------------------------------------------------- model


def tokenizer():
    from genomic_icl.tokenization import char_tokenizer

    return char_tokenizer(GENOMIC_ALPHABET)


def special_ids(tok) -> dict[str, int]:
    """The pad/bos/eos ids of a tokenizer, as :func:`build_model` takes them."""
    return {"pad": tok.pad_token_id, "bos": tok.bos_token_id, "eos": tok.eos_token_id}


def build_model(model: ModelRecipe, vocab_size: int, special_ids: Mapping[str, int]):
    from transformers import AutoModelForCausalLM
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model.architecture not in CONFIG_MAPPING:
        raise ValueError(f"unknown transformers architecture {model.architecture!r}")
    if model.d_model % model.heads:
        raise ValueError("model.d_model must be a multiple of model.heads")
    kwargs = dict(
        vocab_size=vocab_size,
        hidden_size=model.d_model,
        intermediate_size=int(round(model.d_model * model.mlp_ratio)),
        num_hidden_layers=model.layers,
        num_attention_heads=model.heads,
        num_key_value_heads=model.kv_heads or model.heads,
        max_position_embeddings=model.context,
        rope_theta=model.rope_theta,
        tie_word_embeddings=True,
        pad_token_id=special_ids["pad"],
        bos_token_id=special_ids["bos"],
        eos_token_id=special_ids["eos"],
    )
    kwargs.update(dict(model.extra))
    cfg = CONFIG_MAPPING[model.architecture](**kwargs)
    return AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa")


def pick_device(name: str = "auto"):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_dtype(precision: str, device) -> Any:
    """The autocast dtype for a precision setting, or None for full fp32."""
    import torch

    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise ValueError(f"unknown precision {precision!r} (auto | fp32 | bf16)")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    try:  # CPUs with native bf16 (AVX512-BF16/AMX) train ~1.5-2x faster under autocast
        return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
    except (AttributeError, RuntimeError):
        return None


# --------------------------------------------------------------------------- data


class WindowSampler:
    """Random windows of the corpus as token ids; the batch of a step depends only on
    (seed, step)."""

    def __init__(
        self,
        chromosomes: Sequence[np.ndarray],
        token_ids: Sequence[int],
        seed: int,
        revcomp_prob: float,
    ):
        self.chroms = [np.asarray(c, dtype=np.uint8) for c in chromosomes]
        if not self.chroms:
            raise ValueError("empty corpus")
        self.lut = np.asarray(token_ids, dtype=np.int64)
        self.seed = int(seed)
        self.revcomp_prob = revcomp_prob
        self.shortest = min(c.size for c in self.chroms)

    def batch(self, step: int, batch: int, context: int) -> np.ndarray:
        if context > self.shortest:
            raise ValueError(
                f"context {context} longer than the shortest chromosome ({self.shortest})"
            )
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xBA7C, int(step)]))
        which = rng.integers(0, len(self.chroms), size=batch)
        out = np.empty((batch, context), dtype=np.int64)
        for i, c in enumerate(which):
            chrom = self.chroms[int(c)]
            start = int(rng.integers(0, chrom.size - context + 1))
            window = chrom[start : start + context]
            if rng.random() < self.revcomp_prob:
                window = corpus_mod.revcomp(window)
            out[i] = self.lut[window]
        return out


def copy_probe_batch(
    token_ids: Sequence[int], batch: int = 8, unit: int = PROBE_UNIT
) -> np.ndarray:
    """Fixed uniformly random ``unit``-mers each followed by an exact copy of itself.

    The loss on the second copy (``copy_loss``) falls far below ln 4 only once the
    model copies from context (induction heads); it is a diagnostic of training, not
    a task prompt."""
    rng = np.random.default_rng(np.random.SeedSequence([0xC0B1]))
    unit_seq = rng.integers(0, 4, size=(batch, unit))
    return np.asarray(token_ids, dtype=np.int64)[np.concatenate([unit_seq, unit_seq], axis=1)]


def copy_loss(model, probe, amp) -> float:
    """Mean next-token loss on the second copy of the probe (from its 2nd symbol on)."""
    import torch

    was_training = model.training
    model.eval()
    with (
        torch.no_grad(),
        torch.autocast(probe.device.type, dtype=amp or torch.float32, enabled=amp is not None),
    ):
        logits = model(input_ids=probe).logits.float()
    if was_training:
        model.train()
    unit = probe.shape[1] // 2
    pred = logits[:, unit:-1]
    target = probe[:, unit + 1 :]
    return float(
        torch.nn.functional.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1))
    )


def lr_at(step: int, tr: TrainingRecipe) -> float:
    total = tr.total_steps
    if step < tr.warmup:
        return tr.lr * (step + 1) / tr.warmup
    progress = (step - tr.warmup) / max(1, total - tr.warmup)
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return tr.lr * (tr.min_lr_ratio + (1 - tr.min_lr_ratio) * cos)


def phase_at(step: int, tr: TrainingRecipe) -> tuple[int, Phase]:
    end = 0
    for i, p in enumerate(tr.phases):
        end += p.steps
        if step < end:
            return i, p
    raise IndexError(step)


# --------------------------------------------------------------------------- training


def _atomic_torch_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_loss_tsv(rows: Sequence[Mapping], path: Path) -> None:
    lines = ["\t".join(LOSS_COLUMNS)]
    for r in rows:
        lines.append(
            f"{r['step']}\t{r['phase']}\t{r['context']}\t{r['batch']}\t{r['tokens']}\t"
            f"{r['lr']:.6g}\t{r['loss']:.6f}\t{r['copy_loss']:.6f}\t{r['elapsed_s']:.3f}"
        )
    path.write_text("\n".join(lines) + "\n")


def pretrain(
    corpus_path: str | Path,
    out_dir: str | Path,
    recipe: Mapping,
    *,
    resume_dir: str | Path | None = None,
    threads: int | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> dict:
    """Train the recipe's model on the corpus FASTA and save it to ``out_dir``.

    ``resume_dir`` holds training checkpoints (default: ``out_dir`` + ``.resume``);
    a run finding a checkpoint of the same recipe there continues from it.
    ``stop_after`` stops (after checkpointing) once that many steps are done, to
    simulate an interruption; the function then returns without saving a model.
    Returns the run's summary (also written as ``pretrain.json``).
    """
    import torch
    from tqdm.auto import tqdm

    _, model_r, tr = parse_recipe(recipe)
    digest = recipe_digest(dict(recipe))
    out_dir = Path(out_dir)
    resume_dir = Path(resume_dir) if resume_dir else out_dir.with_name(out_dir.name + ".resume")
    resume_dir.mkdir(parents=True, exist_ok=True)
    state_path = resume_dir / "state.pt"
    if threads:
        torch.set_num_threads(int(threads))

    tok = tokenizer()
    token_ids = tok.convert_tokens_to_ids(list(GENOMIC_ALPHABET))
    special = special_ids(tok)
    device = pick_device(tr.device)
    amp = autocast_dtype(tr.precision, device)

    torch.manual_seed(tr.seed)
    model = build_model(model_r, len(tok), special).to(device)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "embed" not in name else no_decay).append(p)
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": tr.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=tr.lr,
        betas=(0.9, tr.beta2),
    )
    sampler = WindowSampler(corpus_mod.read_fasta(corpus_path), token_ids, tr.seed, tr.revcomp_prob)
    probe = torch.from_numpy(copy_probe_batch(token_ids)).to(device)

    step, rows, elapsed0, tokens = 0, [], 0.0, 0
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=False)
        if state.get("digest") == digest:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            step, rows, elapsed0 = state["step"], state["rows"], state["elapsed_s"]
            tokens = rows[-1]["tokens"] if rows else 0
            print(f"resuming from step {step} ({state_path})", flush=True)
        else:
            print(f"ignoring {state_path}: it belongs to another recipe", flush=True)

    def checkpoint() -> None:
        _atomic_torch_save(
            {
                "digest": digest,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "rows": rows,
                "elapsed_s": elapsed0 + time.perf_counter() - t0,
            },
            state_path,
        )

    model.train()
    t0 = time.perf_counter()
    total = tr.total_steps
    bar = tqdm(
        total=total,
        initial=step,
        disable=not progress,
        desc="pretrain",
        unit="step",
        mininterval=2.0,
    )
    while step < total:
        phase_idx, phase = phase_at(step, tr)
        x = torch.from_numpy(sampler.batch(step, phase.batch, phase.context)).to(device)
        lr = lr_at(step, tr)
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        if tr.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tr.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += phase.batch * phase.context
        step += 1
        rows.append(
            {
                "step": step,
                "phase": phase_idx,
                "context": phase.context,
                "batch": phase.batch,
                "tokens": tokens,
                "lr": lr,
                "loss": float(loss.detach()),
                "copy_loss": float("nan"),
                "elapsed_s": elapsed0 + time.perf_counter() - t0,
            }
        )
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}", ctx=phase.context)
        phase_end = step == sum(p.steps for p in tr.phases[: phase_idx + 1])
        if step % tr.checkpoint_every == 0 or phase_end or step == total:
            rows[-1]["copy_loss"] = copy_loss(model, probe, amp)
            checkpoint()
        if stop_after is not None and step >= stop_after and step < total:
            bar.close()
            checkpoint()
            return {"stopped_at": step}
    bar.close()
    elapsed = elapsed0 + time.perf_counter() - t0

    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    tok.save_pretrained(out_dir)
    write_loss_tsv(rows, out_dir / "loss.tsv")
    summary = {
        "recipe": json.loads(json.dumps(dict(recipe), default=str)),
        "recipe_digest": digest,
        "corpus": str(corpus_path),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "steps": total,
        "tokens": tokens,
        "train_seconds": round(elapsed, 2),
        "tokens_per_second": round(tokens / max(elapsed, 1e-9), 1),
        "final_loss_mean_last_20": float(np.mean([r["loss"] for r in rows[-20:]])),
        "final_copy_loss": rows[-1]["copy_loss"],
        "device": str(device),
        "autocast": str(amp) if amp is not None else "fp32",
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
    }
    (out_dir / "pretrain.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def recipe_errors(recipes: Mapping) -> list[str]:
    """Every problem of a config's ``pretrain`` recipes, parsed as the pretraining job
    parses them, each naming its recipe (``pretrain.NAME: ...``). Planning calls it
    (rules/common.smk, ``genomic-icl validate``), so a typo stops the run before any job."""
    errors = []
    for name, recipe in recipes.items():
        try:
            parse_recipe(recipe)
        except (TypeError, ValueError) as err:
            errors.append(f"pretrain.{name}: {err}")
    return errors
