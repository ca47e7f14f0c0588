"""GPU memory of a model's inference job, estimated before launch (no torch import).

For the architectures the project knows (the Qwen3 base models through ``hf``, the
packaged Evo 2 models through ``evo2``) :func:`estimate` gives the weights, the peak
of one batch at the entry's ``batch_tokens``, and the largest ``batch_tokens`` that
fits a GPU of a given size. Planning refuses an entry whose peak exceeds the memory
of the GPUs it asks for (:func:`check_fits`; ``resources.gpu_memory_gb`` or
``slurm.gpu_memory_gb``).

The peak of one batch of N tokens (prompts + targets; bf16 = 2 bytes a value):

* ``hf`` (:func:`genomic_icl.models.greedy.greedy_kv`): the weights, the KV cache
  (2 x layers x KV heads x head width per token, held once), and the larger of one
  layer's transients in the teacher-forced pass (the MLP's three intermediate rows,
  query/key/value and a few residual rows per token) and the kept logits (8 per
  prompt, full vocabulary: bf16, then fp32 and fp32 log-softmax). The logits
  dominate for short prompts: at n = 1 a 262,144-token batch holds 7,943 prompts,
  so 7,943 x 8 x 151,936 values.
* ``evo2`` (:func:`genomic_icl.models.evo2.cached_greedy`): the weights, the
  attention layers' KV cache for up to twice the prompts (a stream is copied where
  greedy leaves the target), and one block's transients: input projections (3 rows),
  the long convolution's FFT of twice the length in fp32 complex (the signal, its
  transform, the product and the inverse: 28 bytes per channel per token), the MLP
  (3 rows of its inner width), and the full-vocabulary logits of the prefill. With
  the answer distribution (``answers: true`` or ``decoding: rank``) the prompts' KV
  cache and the answer tree's copies of it, at most ``TREE_CACHE_FACTOR`` (4) times the
  batch's tokens (:func:`genomic_icl.models.answers.tree_chunks`), instead: an upper
  bound, since the tree's rows share their prompt's attention keys and copy only the
  Hyena states and their path keys (:func:`genomic_icl.models.evo2.decoding.tree_answers`).

The ``hf`` models known here are attention-only: their answer tree shares the
prompt's keys (:func:`genomic_icl.models.answers.shared_tree_decode`), its chunks
keep no more logits than the teacher-forced pass's 8 per prompt, and it adds no copy.

A model spread over g GPUs (``resources.gpu``: vortex and ``device_map="auto"`` split
the layers evenly) holds 1/g of the weights and cache on each and one block's
transients on the busiest. Every estimate adds :data:`CONTEXT_GIB` per GPU (CUDA
context, allocator slack). These are estimates from the architecture; the GPU
session (benchmarks/gpu_session.sh) measures the real peaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 2**30
#: CUDA context and caching-allocator slack per GPU, added to every estimate.
CONTEXT_GIB = 1.5
#: Symbols per target (the protocol's 8-symbol answers).
TARGET = 8


@dataclass(frozen=True)
class Arch:
    """What the memory of one architecture depends on."""

    kind: str  #: "hf" (transformers decoder, KV cache) or "evo2" (vortex StripedHyena 2)
    params: int  #: parameters (all of them, embeddings included)
    layers: int  #: blocks
    hidden: int  #: model width
    inner: int  #: MLP inner width
    vocab: int  #: vocabulary (logits per position)
    attn_layers: int  #: attention blocks (their KV cache grows with the tokens)
    kv_width: int  #: keys per token per attention block (KV heads x head width)
    q_width: int  #: queries per token per attention block
    fp8: bool = False  #: FP8 input projections (Transformer Engine)


def _qwen3(hidden: int, inner: int, layers: int, heads: int, tied: bool) -> Arch:
    """A Qwen3 base model's architecture from its config.json (8 KV heads of width
    128, vocabulary 151,936); the parameter count is the one transformers builds."""
    vocab, kv, hd = 151936, 8, 128
    attn = hidden * heads * hd * 2 + hidden * kv * hd * 2 + 2 * hd  # q, o, k, v, q/k norms
    block = attn + 3 * hidden * inner + 2 * hidden  # MLP, two norms
    params = vocab * hidden * (1 if tied else 2) + layers * block + hidden
    return Arch("hf", params, layers, hidden, inner, vocab, layers, kv * hd, heads * hd)


def _evo2(params: int, layers: int, hidden: int, inner: int, attn: int, fp8: bool) -> Arch:
    """An Evo 2 model from evo2's packaged vortex config (vocabulary 512, multi-head
    attention of the full width); ``params`` as vortex builds it."""
    return Arch("evo2", params, layers, hidden, inner, 512, attn, hidden, hidden, fp8)


#: Known architectures by checkpoint (hub id, or Evo 2 model name).
ARCHS: dict[str, Arch] = {
    "Qwen/Qwen3-0.6B-Base": _qwen3(1024, 3072, 28, 16, True),
    "Qwen/Qwen3-1.7B-Base": _qwen3(2048, 6144, 28, 16, True),
    "Qwen/Qwen3-4B-Base": _qwen3(2560, 9728, 36, 32, True),
    "Qwen/Qwen3-8B-Base": _qwen3(4096, 12288, 36, 32, False),
    "Qwen/Qwen3-14B-Base": _qwen3(5120, 17408, 40, 40, False),
    # parameters as vortex 1.1 builds evo2 0.6.0's packaged configs (1B, 7B: counted;
    # 20B, 40B: its per-block counts summed; the 8k/262k configs' MLP is narrower)
    "evo2_1b_base": _evo2(1_107_989_760, 25, 1920, 5120, 4, True),
    "evo2_7b": _evo2(6_581_722_880, 32, 4096, 11264, 5, True),
    "evo2_7b_base": _evo2(6_481_059_584, 32, 4096, 11008, 5, True),
    "evo2_7b_262k": _evo2(6_481_059_584, 32, 4096, 11008, 5, True),
    "evo2_7b_microviridae": _evo2(6_481_059_584, 32, 4096, 11008, 5, True),
    "evo2_20b": _evo2(19_738_780_160, 24, 8192, 22528, 3, True),
    "evo2_40b": _evo2(41_117_574_144, 50, 8192, 22528, 8, True),
    "evo2_40b_base": _evo2(40_331_142_144, 50, 8192, 21888, 8, True),
}


def arch_of(spec: dict[str, Any]) -> Arch | None:
    """The known architecture of a model entry, or None."""
    ckpt = str(spec.get("checkpoint") or "")
    if spec.get("backend") == "evo2" and not spec.get("config"):
        ckpt = ckpt.rsplit("/", 1)[-1].removesuffix(".pt")
        ckpt = {"evo-2-7b-8k-microviridae": "evo2_7b_microviridae"}.get(ckpt, ckpt)
    arch = ARCHS.get(ckpt)
    return arch if arch is not None and arch.kind == spec.get("backend") else None


@dataclass(frozen=True)
class Estimate:
    """Memory of one model entry's job, in GiB, per GPU (the busiest)."""

    weights_gib: float  #: all weights (divided over the GPUs in ``peak_gib``)
    peak_gib: float  #: at the entry's batch_tokens, on the busiest GPU
    batch_tokens: int  #: the entry's
    gpus: int
    bytes_per_token: float  #: what one more token of a batch adds on the busiest GPU
    fixed_gib: float  #: what does not grow with the batch, on the busiest GPU

    def fitting_batch_tokens(self, gpu_gib: float, headroom: float = 0.1) -> int:
        """The largest batch_tokens (a multiple of 1024) whose peak leaves ``headroom``
        (a fraction) of a ``gpu_gib`` GPU free; 0 when the weights alone do not fit."""
        free = gpu_gib * (1 - headroom) - self.fixed_gib
        return max(0, int(free * GIB / self.bytes_per_token) // 1024 * 1024)


def _dtype_bytes(spec: dict[str, Any]) -> int:
    return 4 if spec.get("dtype") == "float32" else 2


def estimate(spec: dict[str, Any], tokens_per_prompt: int) -> Estimate | None:
    """The memory estimate of a model entry (None for an architecture not known), for
    batches of prompts of ``tokens_per_prompt`` tokens each (prompt + target; the
    shortest prompts of a run hold the most prompts per batch)."""
    arch = arch_of(spec)
    if arch is None:
        return None
    b = _dtype_bytes(spec)
    gpus = max(1, int(spec.get("resources", {}).get("gpu", 1) or 1))
    n = int(spec.get("batch_tokens", 65536))
    prompts_per_token = 1 / max(1, tokens_per_prompt)
    if arch.kind == "hf":
        kv = 2 * arch.attn_layers * arch.kv_width * b
        layer = b * (3 * arch.inner + 6 * arch.hidden + arch.q_width + 2 * arch.kv_width)
        logits = prompts_per_token * TARGET * arch.vocab * (b + 4 + 4)
        per_token = kv / gpus + max(layer, logits)
    else:
        from genomic_icl.models.answers import TREE_CACHE_FACTOR

        tree = bool(spec.get("answers")) or spec.get("decoding") == "rank"
        # the prompts and their tree's copies, or up to two greedy streams per prompt
        copies = 1 + TREE_CACHE_FACTOR if tree else 2
        kv = copies * 2 * arch.attn_layers * arch.kv_width * b
        layer = 28 * arch.hidden + b * (3 * arch.hidden + 3 * arch.inner + 4 * arch.hidden)
        per_token = kv / gpus + layer + arch.vocab * b
    weights = arch.params * b / GIB
    fixed = weights / gpus + CONTEXT_GIB
    return Estimate(weights, fixed + n * per_token / GIB, n, gpus, per_token, fixed)


def gpu_memory_gb(spec: dict[str, Any], config: dict[str, Any]) -> float | None:
    """The memory (GB, as vendors count: 10^9 bytes) of one GPU an entry's job gets:
    ``resources.gpu_memory_gb``, else ``slurm.gpu_memory_gb``; None: not checked."""
    own = spec.get("resources", {}).get("gpu_memory_gb")
    return own if own is not None else config.get("slurm", {}).get("gpu_memory_gb")


def check_fits(spec: dict[str, Any], config: dict[str, Any]) -> Estimate | None:
    """Planning's memory check of a model entry asking for GPUs: raises
    ``BackendError`` naming the estimate, the GPUs and a batch_tokens that fits (or
    the GPU count that does) when the peak exceeds one GPU's memory."""
    from genomic_icl.models.base import BackendError

    gpus = int(spec.get("resources", {}).get("gpu", 0) or 0)
    gb = gpu_memory_gb(spec, config)
    if gpus < 1 or gb is None:
        return None
    est = estimate(spec, shortest_prompt_tokens(spec, config))
    if est is None:
        return None
    gpu_gib = gb * 1e9 / GIB
    if est.peak_gib <= gpu_gib:
        return est
    fits = est.fitting_batch_tokens(gpu_gib)
    fix = (
        f"set batch_tokens: {fits} (leaves 10% free)"
        if fits
        else f"ask for more GPUs (resources.gpu; the weights alone need "
        f"{est.fixed_gib:.1f} GiB of each of {gpus})"
    )
    raise BackendError(
        f"model {spec.get('name')!r}: estimated peak {est.peak_gib:.1f} GiB per GPU at "
        f"batch_tokens {est.batch_tokens} ({est.weights_gib:.1f} GiB of weights over {gpus} "
        f"GPU(s)) exceeds the {gb:g} GB ({gpu_gib:.1f} GiB) of each GPU it asks for "
        f"(resources.gpu_memory_gb or slurm.gpu_memory_gb); {fix}"
    )


def shortest_prompt_tokens(spec: dict[str, Any], config: dict[str, Any]) -> int:
    """Tokens (one per symbol, as Qwen3 splits digits and Evo 2 reads bytes) of the
    shortest prompt + target an entry reads: at the config's smallest shot count, where
    every prompt has :func:`~genomic_icl.prompts.prompt_length` symbols."""
    from genomic_icl.models.base import N_TARGET
    from genomic_icl.prompts import prompt_length

    return prompt_length(min(config["shots"])) + N_TARGET
