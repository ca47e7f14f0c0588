"""Pretrain a small causal transformer on the DNA-like corpus by next-token loss.

The model is any decoder-only architecture transformers ships whose config takes
the usual Llama-style keys (``llama`` by default; ``mistral``, ``qwen2``, ... work
too), trained from scratch on windows of the corpus (``genomic_icl.corpus``) with
one token per nucleotide (``tokenization.char_tokenizer("ACGT")``). Training runs in
phases of (steps, context, batch), typically most steps at a short context and a
short phase at the full context so RoPE positions up to the longest prompt are
seen. The result is an ordinary local checkpoint directory
(``AutoModelForCausalLM`` / ``AutoTokenizer``) plus ``loss.tsv``,
``pretrain.json`` and ``SHA256SUMS`` (the sha256 of every file, checked whenever
the weights are copied or used: :mod:`genomic_icl.integrity`).

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
from typing import TYPE_CHECKING, Any

from genomic_icl import corpus as corpus_mod
from genomic_icl.integrity import SUMS, IntegrityError, weights_digest, write_sums

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np

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
    the directory the recipe's training would write; returns its ``pretrain.json``.
    Its files are checked against its ``SHA256SUMS`` before and after the copy."""
    src, out_dir = Path(src), Path(out_dir)
    if not (src / SUMS).is_file():
        raise IntegrityError(f"{src / SUMS}: missing; reinstall genomic-icl (pip install -e .)")
    shipped = weights_digest(src, "reinstall genomic-icl (git checkout / pip install -e .)")
    summary = json.loads((src / "pretrain.json").read_text())
    digest = recipe_digest(dict(recipe))
    if summary.get("recipe_digest") != digest:
        raise ValueError(
            f"{src} was trained from recipe {summary.get('recipe_digest')}, not {digest}"
        )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(src, out_dir)
    fix = f"the copy from {src} failed (disk?): delete {out_dir} and rerun"
    if weights_digest(out_dir, fix) != shipped:
        raise IntegrityError(f"{out_dir}: holds other files than {src}; {fix}")
    return summary


# --------------------------------------------------------------------------- model


def tokenizer():
    """The DNA models' tokenizer: one token per nucleotide plus pad/bos/eos."""
    from genomic_icl.tokenization import char_tokenizer

    return char_tokenizer(GENOMIC_ALPHABET)


def special_ids(tok) -> dict[str, int]:
    """The pad/bos/eos ids of a tokenizer, as :func:`build_model` takes them."""
    return {"pad": tok.pad_token_id, "bos": tok.bos_token_id, "eos": tok.eos_token_id}


def build_model(model: ModelRecipe, vocab_size: int, special_ids: Mapping[str, int]):
    """A randomly initialised transformers causal LM of the recipe's architecture
    (seed torch first for reproducible weights)."""
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
    """The torch device of a ``training.device`` setting (auto: CUDA when present)."""
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
        import numpy as np

        self.chroms = [np.asarray(c, dtype=np.uint8) for c in chromosomes]
        if not self.chroms:
            raise ValueError("empty corpus")
        self.lut = np.asarray(token_ids, dtype=np.int64)
        self.seed = int(seed)
        self.revcomp_prob = revcomp_prob
        self.shortest = min(c.size for c in self.chroms)

    def batch(self, step: int, batch: int, context: int) -> np.ndarray:
        """The (batch, context) token ids of a step."""
        import numpy as np

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
    import numpy as np

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
    """Learning rate of a step: linear warm-up, then cosine decay to ``lr * min_lr_ratio``."""
    total = tr.total_steps
    if step < tr.warmup:
        return tr.lr * (step + 1) / tr.warmup
    progress = (step - tr.warmup) / max(1, total - tr.warmup)
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return tr.lr * (tr.min_lr_ratio + (1 - tr.min_lr_ratio) * cos)


def phase_at(step: int, tr: TrainingRecipe) -> tuple[int, Phase]:
    """The (index, phase) a step belongs to."""
    end = 0
    for i, p in enumerate(tr.phases):
        end += p.steps
        if step < end:
            return i, p
    raise IndexError(step)


# --------------------------------------------------------------------------- training


@dataclass
class Run:
    """What a pretraining run carries from step to step: the model, its optimizer and
    data, and the progress so far (``step``, the loss log ``rows``, ``elapsed_s``).
    One checkpoint file (``checkpoint_path``) holds the progress and both state dicts."""

    recipe: Mapping
    training: TrainingRecipe
    tokenizer: Any
    device: Any
    amp: Any  # the autocast dtype, None for fp32
    model: Any
    optimizer: Any
    sampler: WindowSampler
    probe: Any  # the copy-probe batch (copy_probe_batch) on the device
    checkpoint_path: Path
    corpus_path: str
    step: int = 0
    rows: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def digest(self) -> str:
        """The recipe's digest: a checkpoint is resumed only under the same one."""
        return recipe_digest(dict(self.recipe))

    @property
    def tokens(self) -> int:
        """Training tokens seen so far."""
        return self.rows[-1]["tokens"] if self.rows else 0

    @property
    def done(self) -> bool:
        """Whether every step of the recipe has been trained."""
        return self.step >= self.training.total_steps


def configure_optimizer(model, tr: TrainingRecipe):
    """AdamW with weight decay on matrices only (not on embeddings, norms, biases)."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "embed" not in name else no_decay).append(p)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": tr.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=tr.lr,
        betas=(0.9, tr.beta2),
    )


def setup(
    corpus_path: str | Path,
    recipe: Mapping,
    checkpoint_path: str | Path,
    *,
    threads: int | None = None,
) -> Run:
    """A fresh run of ``recipe`` on the corpus FASTA: the model initialised from
    ``training.seed``, its optimizer, the window sampler and the copy probe."""
    import torch

    _, model_r, tr = parse_recipe(recipe)
    if threads:
        torch.set_num_threads(int(threads))
    tok = tokenizer()
    token_ids = tok.convert_tokens_to_ids(list(GENOMIC_ALPHABET))
    device = pick_device(tr.device)
    torch.manual_seed(tr.seed)
    model = build_model(model_r, len(tok), special_ids(tok)).to(device)
    return Run(
        recipe=recipe,
        training=tr,
        tokenizer=tok,
        device=device,
        amp=autocast_dtype(tr.precision, device),
        model=model,
        optimizer=configure_optimizer(model, tr),
        sampler=WindowSampler(
            corpus_mod.read_fasta(corpus_path), token_ids, tr.seed, tr.revcomp_prob
        ),
        probe=torch.from_numpy(copy_probe_batch(token_ids)).to(device),
        checkpoint_path=Path(checkpoint_path),
        corpus_path=str(corpus_path),
    )


def checkpoint(run: Run) -> None:
    """Write the run's checkpoint (atomically: an interrupted write leaves the last one)."""
    import torch

    path = run.checkpoint_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "digest": run.digest,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "step": run.step,
            "rows": run.rows,
            "elapsed_s": run.elapsed_s,
        },
        tmp,
    )
    os.replace(tmp, path)


def restore(run: Run) -> bool:
    """Continue ``run`` from its checkpoint if there is one of the same recipe."""
    import torch

    path = run.checkpoint_path
    if not path.exists():
        return False
    state = torch.load(path, map_location=run.device, weights_only=False)
    if state.get("digest") != run.digest:
        print(f"ignoring {path}: it belongs to another recipe", flush=True)
        return False
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.step, run.rows, run.elapsed_s = state["step"], state["rows"], state["elapsed_s"]
    print(f"resuming from step {run.step} ({path})", flush=True)
    return True


def train(run: Run, *, until: int | None = None, progress: bool = True) -> Run:
    """Train from ``run.step`` up to step ``until`` (default: the recipe's last),
    measuring the copy loss and checkpointing every ``checkpoint_every`` steps, at
    each phase's end and at ``until``."""
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    tr, model, opt = run.training, run.model, run.optimizer
    until = tr.total_steps if until is None else min(until, tr.total_steps)
    phase_ends = set(np.cumsum([p.steps for p in tr.phases]).tolist())
    model.train()
    bar = tqdm(
        total=tr.total_steps,
        initial=run.step,
        disable=not progress,
        desc="pretrain",
        unit="step",
        mininterval=2.0,
    )
    start, elapsed0 = time.perf_counter(), run.elapsed_s
    while run.step < until:
        phase_idx, phase = phase_at(run.step, tr)
        x = torch.from_numpy(run.sampler.batch(run.step, phase.batch, phase.context))
        x = x.to(run.device)
        lr = lr_at(run.step, tr)
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.autocast(
            run.device.type, dtype=run.amp or torch.float32, enabled=run.amp is not None
        ):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        if tr.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tr.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens = run.tokens + phase.batch * phase.context
        run.step += 1
        run.elapsed_s = elapsed0 + time.perf_counter() - start
        run.rows.append(
            {
                "step": run.step,
                "phase": phase_idx,
                "context": phase.context,
                "batch": phase.batch,
                "tokens": tokens,
                "lr": lr,
                "loss": float(loss.detach()),
                "copy_loss": float("nan"),
                "elapsed_s": run.elapsed_s,
            }
        )
        bar.update(1)
        if run.step % 10 == 0:
            bar.set_postfix(loss=f"{run.rows[-1]['loss']:.3f}", ctx=phase.context)
        if run.step % tr.checkpoint_every == 0 or run.step in phase_ends:
            run.rows[-1]["copy_loss"] = copy_loss(model, run.probe, run.amp)
            checkpoint(run)
        elif run.step == until:
            checkpoint(run)  # stopping between checkpoints: no copy probe, as uninterrupted
    bar.close()
    return run


def summary(run: Run) -> dict:
    """The run's ``pretrain.json``: recipe and digest, size, throughput, final losses
    and the numerics it ran with."""
    import numpy as np
    import torch

    return {
        "recipe": json.loads(json.dumps(dict(run.recipe), default=str)),
        "recipe_digest": run.digest,
        "corpus": run.corpus_path,
        "parameters": int(sum(p.numel() for p in run.model.parameters())),
        "steps": run.step,
        "tokens": run.tokens,
        "train_seconds": round(run.elapsed_s, 2),
        "tokens_per_second": round(run.tokens / max(run.elapsed_s, 1e-9), 1),
        "final_loss_mean_last_20": float(np.mean([r["loss"] for r in run.rows[-20:]])),
        "final_copy_loss": run.rows[-1]["copy_loss"],
        "device": str(run.device),
        "autocast": str(run.amp) if run.amp is not None else "fp32",
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
    }


def save(run: Run, out_dir: str | Path) -> dict:
    """Write the trained model as an ordinary checkpoint directory (model, tokenizer,
    ``loss.tsv``, ``pretrain.json``); returns the summary."""
    if not run.done:
        raise ValueError(f"run stopped at step {run.step} of {run.training.total_steps}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run.model.eval()
    run.model.save_pretrained(out_dir, safe_serialization=True)
    run.tokenizer.save_pretrained(out_dir)
    write_loss_tsv(run.rows, out_dir / "loss.tsv")
    info = summary(run)
    (out_dir / "pretrain.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_sums(out_dir)  # last: every file the model is, checked before each use
    return info


def write_loss_tsv(rows: Sequence[Mapping], path: Path) -> None:
    """Write the loss log (one row per step, :data:`LOSS_COLUMNS`)."""
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
) -> dict:
    """Train the recipe's model on the corpus FASTA and save it to ``out_dir``:
    :func:`setup`, :func:`restore`, :func:`train`, :func:`save`.

    ``resume_dir`` holds the training checkpoint (default: ``out_dir`` + ``.resume``);
    a run finding a checkpoint of the same recipe there continues from it.
    Returns the run's summary (also written as ``pretrain.json``).
    """
    out_dir = Path(out_dir)
    resume_dir = Path(resume_dir) if resume_dir else out_dir.with_name(out_dir.name + ".resume")
    run = setup(corpus_path, recipe, resume_dir / "state.pt", threads=threads)
    restore(run)
    train(run, progress=progress)
    return save(run, out_dir)


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
