"""The model's whole answer distribution: log P(answer | prompt) for all 256 answers.

An answer is 8 symbols, each ``sym0`` or ``sym1`` of its trial; answer ``a`` is the 8
bits of ``a``, most significant first (:func:`genomic_icl.prompts.encode_bits`).

**One symbol per token** (character, byte and digit-splitting tokenizers: Evo 2, the
default DNA model, Qwen3 on digits): every answer's probability is the product of 8
next-token probabilities along the binary tree of the answers: its 254 nodes below
the root (2 + 4 + ... + 128 answer prefixes of length 1..7, each fed its last
symbol), each in the context of exactly the prompt and its prefix, so the result is
exact up to floating point. Three ways to compute them, chosen per model in one place
(:func:`tree_paths`):

* **Over the prompt's shared keys** (:func:`shared_tree_decode`), for models whose
  cache holds attention layers only (Llama, Mistral, Qwen2/3, GPT-2 in transformers;
  :func:`shared_tree_limit` inspects the cache's layer types and the attention, and
  takes it only where a numeric probe finds it exact: not ALiBi's MPT or Bloom): the
  prompt's cache is computed once and all 254 nodes go in one more pass over it, with
  a 4D mask in which each node sees its prompt and its own ancestors only, at position
  ids prompt length + depth - 1. No copies: at n = 128 (2,184 tokens) it costs 1.0-1.3x
  one teacher-forced pass on a CPU (docs/models.md, "Cost and memory").
* **Row by row, the prompt's attention keys shared** (:func:`prompt_keys_step` with
  :func:`tree_decode`), for hybrid models (LFM2: short convolutions + attention; Evo 2
  through vortex: ``models.evo2.decoding``): level d holds each prompt's 2^d prefixes
  as rows of the model's small states (convolution, recurrent) and of their own path
  keys (at most 7 tokens), copied per row; attention layers read their prompt's keys
  once per prompt (:func:`attend_prompt_and_path`: one softmax over the prompt's and
  the path's keys, through transformers' ``AttentionInterface``), never copied. In
  transformers taken where a probe shows it exact on the model; Evo 2 takes it
  without a probe (its vortex attention is patched for it, checked against the
  row-copy tree by ``tests/test_evo2.py``). At n = 128: LFM2 1.35x one pass, the tiny
  Evo 2 2.2x; at n = 4 the 254 single-token rows dominate (LFM2 7.0x).
* **On copies of the state** (:func:`tree_decode` with :func:`hf_step`, the general
  fallback): as the row tree above, but each level copies the prompt's whole cache,
  its attention keys included, into its rows (254 copies per prompt): 8.5-23x one pass.

Both give the target's per-position log-probabilities (its path in the tree) and the
greedy continuation: greedy decoding follows the tree while its argmax is one of the
two symbols, and a row that leaves the tree continues as its own stream (in the same
steps; over the shared keys, from the prompt's cache with the tree's keys masked out).
The figures: ``python benchmarks/inference.py --tree --per-n 16`` and ``--evo2
--answers --per-n 4`` on a loaded 2-core CPU.

**Several symbols per token** (k-mers, BPE): see :func:`segmented_answers`.

Torch is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genomic_icl.bits import N_BITS, N_SYMBOLS
from genomic_icl.prompts import encode_bits

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np

#: ``step(index, feed)``: keep (and repeat) rows ``index`` of the model's running
#: state, feed each kept row one token ``feed``, return the new last logits (rows, V).
Step = Callable[[Any, Any], Any]


def answer_texts(sym0: str, sym1: str) -> list[str]:
    """The 256 valid answers of a trial, answer ``a`` at index ``a``."""
    return [encode_bits(a, sym0, sym1) for a in range(N_SYMBOLS)]


def rank_answers(
    answer_logprobs: np.ndarray, sym0: Sequence[str], sym1: Sequence[str]
) -> list[str]:
    """``decoding: rank``: each row's most probable answer (lowest value on ties), as text."""
    import numpy as np

    best = np.argmax(np.asarray(answer_logprobs), axis=1)
    return [encode_bits(int(a), s0, s1) for a, s0, s1 in zip(best, sym0, sym1, strict=True)]


#: The tree holds up to 128 copies of each prompt's state: its chunks of prompts are
#: cut so that these copies hold at most this many times ``batch_tokens`` tokens.
TREE_CACHE_FACTOR = 4


def tree_chunks(n_rows: int, length: int, batch_tokens: int) -> list[slice]:
    """Consecutive slices of a batch's rows for the answer tree, so that the tree's
    128 state copies of a chunk hold at most ``TREE_CACHE_FACTOR * batch_tokens``
    tokens (``length``: tokens per prompt; at least one row per chunk)."""
    per = max(1, TREE_CACHE_FACTOR * batch_tokens // ((N_SYMBOLS // 2) * (length + N_BITS)))
    return [slice(i, min(i + per, n_rows)) for i in range(0, n_rows, per)]


def concat_results(parts: list[TreeResult]) -> TreeResult:
    """The results of consecutive chunks as one."""
    import numpy as np

    return TreeResult(
        [t for p in parts for t in p.tokens],
        np.concatenate([p.answer_logprobs for p in parts]),
        np.concatenate([p.position_logprobs for p in parts]),
        np.concatenate([p.logprob for p in parts]),
    )


@dataclass
class TreeResult:
    """What :func:`tree_decode` returns, per prompt: ``tokens`` the greedy tokens (cut
    after the first EOS); ``answer_logprobs`` (B, 256); ``position_logprobs`` (B, 8)
    of the target (its path in the tree); ``logprob`` (B,) their sum."""

    tokens: list[list[int]]
    answer_logprobs: np.ndarray
    position_logprobs: np.ndarray
    logprob: np.ndarray


def tree_decode(
    last,
    sym,
    step: Step,
    targets: np.ndarray,
    eos_ids: Sequence[int] = (),
) -> TreeResult:
    """The answer tree and greedy decoding of a batch, from the state after its prompts.

    Args:
        last: (B, V) logits after each prompt (rows of the running state, in order).
        sym: (B, 2) LongTensor, the token ids of each prompt's ``sym0`` and ``sym1``.
        step: advances the running state (see :data:`Step`).
        targets: (B,) the target answers (0..255).
        eos_ids: tokens at which greedy decoding stops (kept as its last token).
    """
    import numpy as np
    import torch

    B, _ = last.shape
    dev = last.device
    eos = {int(e) for e in eos_ids}
    sym = sym.to(dev)
    targets_t = torch.tensor(np.asarray(targets, dtype=np.int64), device=dev)
    cum = torch.zeros(B, 1, dtype=torch.float64, device=dev)
    positions = torch.zeros(B, N_BITS, dtype=torch.float64, device=dev)
    tokens: list[list[int]] = [[] for _ in range(B)]
    node = [0] * B  # greedy's node (answer prefix) at the current depth, while on the tree
    on_tree = [True] * B
    streams: list[int] = []  # the prompt of each stream row (after the tree rows)
    logits = last
    with torch.inference_mode():
        for d in range(N_BITS):
            width = 1 << d
            n_tree = B * width
            logp = torch.log_softmax(logits.float(), dim=-1)
            tree = logp[:n_tree].view(B, width, -1)
            cum = _add_level(cum, positions, tree, sym, targets_t, d)
            # greedy: on the tree, then on streams that left it
            grd_tree = tree[torch.arange(B, device=dev), torch.tensor(node, device=dev)]
            grd_tree = grd_tree.argmax(-1).tolist()
            grd_streams = logp[n_tree:].argmax(-1).tolist()
            s0, s1 = sym[:, 0].tolist(), sym[:, 1].tolist()
            new_streams, new_rows, new_feed = [], [], []
            for b in range(B):
                if not on_tree[b] or (tokens[b] and tokens[b][-1] in eos):
                    continue
                g = grd_tree[b]
                tokens[b].append(g)
                if g in eos:
                    continue
                if g in (s0[b], s1[b]):
                    node[b] = 2 * node[b] + int(g == s1[b])
                else:
                    on_tree[b] = False
                    new_streams.append(b)
                    new_rows.append(b * width + node[b])
                    new_feed.append(g)
            kept, kept_rows, kept_feed = [], [], []
            for j, (b, g) in enumerate(zip(streams, grd_streams, strict=True)):
                tokens[b].append(g)
                if g not in eos:
                    kept.append(b)
                    kept_rows.append(n_tree + j)
                    kept_feed.append(g)
            streams = kept + new_streams
            if d == N_BITS - 1:
                break
            index = torch.cat(
                [
                    torch.arange(n_tree, device=dev).repeat_interleave(2),
                    torch.tensor(kept_rows + new_rows, dtype=torch.long, device=dev),
                ]
            )
            feed = torch.cat(
                [
                    sym.repeat_interleave(width, dim=0).reshape(-1),
                    torch.tensor(kept_feed + new_feed, dtype=torch.long, device=dev),
                ]
            )
            logits = step(index, feed)
    return TreeResult(
        tokens,
        cum.cpu().numpy(),
        positions.cpu().numpy(),
        positions.sum(1).cpu().numpy(),
    )


def _add_level(cum, positions, logp, sym, targets_t, d: int):
    """One level of the tree: ``logp`` (B, 2^d, V) the log-probabilities at the 2^d
    prefixes of length d; returns the (B, 2^(d+1)) log-probabilities of the prefixes of
    length d + 1 from ``cum`` (B, 2^d), and writes the target's step to ``positions``."""
    import torch

    B, width, _ = logp.shape
    pair = logp.gather(-1, sym[:, None, :].expand(B, width, 2)).double()  # (B, 2^d, 2)
    prefix, bit = targets_t >> (N_BITS - d), (targets_t >> (N_BITS - 1 - d)) & 1
    positions[:, d] = pair[torch.arange(B, device=logp.device), prefix, bit]
    return (cum[:, :, None] + pair).reshape(B, 2 * width)


def segmented_answers(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    sym0: Sequence[str],
    sym1: Sequence[str],
    device: Any,
    chunk_tokens: int = 65536,
    multiple: int = 1,
) -> np.ndarray:
    """log P(answer | prompt) for tokenizers that merge symbols (k-mers, BPE): (B, 256).

    Each answer is scored as the canonical tokenization of prompt + answer (what the
    tokenizer makes of the whole text): the tokens every candidate shares are run
    once, the cache is repeated for the 256 candidates, and their remaining tokens
    (right-padded: causal, so padding never reaches a scored position) are scored in
    one pass. Where the shared tokens end inside the prompt (its last symbols merge
    with the answer), the remaining prompt symbols ``r`` are part of every candidate's
    first tokens, and the scores are normalised by the probability that the next
    token starts with ``r`` or is a prefix of it: exact for a fixed-k vocabulary,
    where no token is shorter than ``r``; for BPE an upper bound of P(r | prefix), so
    the valid answers never hold more than all the mass. The probability of other
    segmentations of the same text is not counted: the approximation docs/models.md
    describes. ``multiple``: a tokenizer that reads only
    whole k-mers (GENERator: 6) gets prompt + answer cut from the left to a multiple
    of k symbols (:func:`trim_left`).
    """
    import numpy as np
    import torch

    out = np.zeros((len(prompts), N_SYMBOLS))
    vocab_text = _token_texts(tokenizer)
    for i, (prompt, s0, s1) in enumerate(zip(prompts, sym0, sym1, strict=True)):
        prompt = trim_left(prompt, multiple, extra=N_BITS)
        texts = [prompt + a for a in answer_texts(s0, s1)]
        cands = tokenizer(texts)["input_ids"]
        shared = _common_prefix(cands)
        prompt_ids = tokenizer(prompt)["input_ids"]
        shared = min(shared, len(prompt_ids) - (prompt_ids[-1] in _special(tokenizer)))
        shared = max(shared, 1)
        rest = prompt[len(tokenizer.decode(cands[0][:shared], skip_special_tokens=True)) :]
        head = torch.tensor([cands[0][:shared]], device=device)
        with torch.inference_mode():
            pre = model(input_ids=head, use_cache=True)
        first = torch.log_softmax(pre.logits[0, -1].float(), -1).double()
        norm = 0.0
        if rest:
            starts = [
                t for t, s in vocab_text.items() if s and (s.startswith(rest) or rest.startswith(s))
            ]
            norm = float(torch.logsumexp(first[starts], 0)) if starts else 0.0
        tails = [c[shared:] for c in cands]
        width = max(len(t) for t in tails)
        per = max(1, chunk_tokens // max(1, shared + width))
        for lo in range(0, N_SYMBOLS, per):
            part = tails[lo : lo + per]
            ids = torch.tensor([t + [t[-1]] * (width - len(t)) for t in part], device=device)
            lens = torch.tensor([len(t) for t in part], device=device)
            cache = _repeat_cache(pre.past_key_values, len(part))
            with torch.inference_mode():
                o = model(input_ids=ids, past_key_values=cache, use_cache=True)
            logp = torch.log_softmax(o.logits.float(), -1).double()
            score = first[ids[:, 0]]
            if width > 1:
                nxt = logp[:, :-1].gather(-1, ids[:, 1:, None])[..., 0]
                valid = torch.arange(1, width, device=device)[None, :] < lens[:, None]
                score = score + (nxt * valid).sum(1)
            out[i, lo : lo + len(part)] = score.cpu().numpy() - norm
    return out


def trim_left(text: str, multiple: int, extra: int = 0) -> str:
    """``text`` without its first symbols, so that its length plus ``extra`` is a
    multiple of ``multiple`` (a k-mer tokenizer's whole tokens)."""
    cut = (len(text) + extra) % multiple if multiple > 1 else 0
    return text[cut:]


def _common_prefix(seqs: list[list[int]]) -> int:
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for j in range(n):
        if any(s[j] != first[j] for s in seqs):
            return j
    return n


def _special(tokenizer: Any) -> set[int]:
    return set(getattr(tokenizer, "all_special_ids", []) or [])


def _token_texts(tokenizer: Any) -> dict[int, str]:
    """The text of every ordinary token (special tokens left out)."""
    special = _special(tokenizer)
    ids = [i for i in range(len(tokenizer)) if i not in special]
    return dict(zip(ids, tokenizer.batch_decode([[i] for i in ids]), strict=True))


def _repeat_cache(cache: Any, n: int) -> Any:
    """A copy of a one-row cache repeated to ``n`` rows."""
    import copy

    import torch

    out = copy.deepcopy(cache)
    select_rows(out, torch.zeros(n, dtype=torch.long))
    return out


def select_rows(cache: Any, index: Any) -> None:
    """Keep (and repeat) rows ``index`` of a transformers cache, in place: a cache of
    layers (attention, and convolution or recurrent states: LFM2 in transformers 5)
    through its own ``reorder_cache``, older LFM2 caches state by state."""
    from genomic_icl.models.greedy import _select_rows

    if getattr(cache, "layers", None):
        cache.reorder_cache(index)
    else:
        _select_rows(cache, index)


def hf_step(model: Any, cache: Any) -> Step:
    """A :data:`Step` over a transformers model and its cache (after the prompts)."""
    import torch

    state = {"cache": cache}

    def step(index, feed):
        select_rows(state["cache"], index)
        with torch.inference_mode():
            o = model(input_ids=feed[:, None], past_key_values=state["cache"], use_cache=True)
        state["cache"] = o.past_key_values
        return o.logits[:, -1, :]

    return step


# -- the tree over the prompt's shared keys (attention-only models) -----------------------

#: The tree's nodes below the root, fed in one pass: 2 + 4 + ... + 128.
TREE_NODES = N_SYMBOLS - 2


def shared_tree_limit(model: Any) -> int:
    """The longest prompt (tokens) whose tree :func:`shared_tree_decode` computes exactly
    for ``model``; 0 when never. It needs a cache of attention layers only (plain or
    sliding-window key-value layers: no convolution, recurrent or quantized state, which
    nodes could not share) and an attention that adds a custom 4D mask (``eager`` or
    ``sdpa``), read off one two-token pass of the decoder; and it must pass
    :func:`_shared_tree_probe`, which checks the numbers (a model whose positions do not
    follow ``position_ids``, as ALiBi's, fails it). A sliding window must hold the
    prompt, the tree and the greedy streams after it."""
    import sys

    import torch
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    config = model.config
    if getattr(config, "_attn_implementation", None) not in ("eager", "sdpa"):
        return 0
    try:
        weight = model.get_input_embeddings().weight
        ids = torch.zeros((1, 2), dtype=torch.long, device=weight.device)
        with torch.inference_mode():
            cache = model.get_decoder()(input_ids=ids, use_cache=True).past_key_values
    except Exception:  # an unusual model: keep the row-copy tree, which works for any
        return 0
    layers = getattr(cache, "layers", None)
    if not layers or any(type(x) not in (DynamicLayer, DynamicSlidingWindowLayer) for x in layers):
        return 0
    window = getattr(config, "sliding_window", None)
    if window is None or getattr(config, "use_sliding_window", True) is False:
        limit = sys.maxsize
    else:
        limit = max(0, int(window) - 1 - TREE_NODES - 2 * N_BITS)
    return limit if limit and _shared_tree_probe(model) else 0


#: The probes' prompt and the two symbols of their tree (token ids every vocabulary has).
_PROBE_PROMPT, _PROBE_SYM = [1, 2, 3], [4, 5]


def _shared_tree_probe(model: Any) -> bool:
    """Whether :func:`shared_tree_decode` is exact for ``model``: after a 3-token
    prompt, the 6 nodes of a 3-level tree in one pass under its 4D mask give the
    log-probabilities of plain passes over the prompt and each node's prefix
    (:func:`_same_logprobs`, in float32: :class:`_float32`); any error: not exact."""
    import torch

    try:
        with _float32(model), torch.inference_mode():
            dev = model.get_input_embeddings().weight.device
            ids = torch.tensor([_PROBE_PROMPT], dtype=torch.long, device=dev)
            sym = torch.tensor([_PROBE_SYM], dtype=torch.long, device=dev)
            pre = model(input_ids=ids, use_cache=True)
            got = _tree_pass(model, pre.past_key_values, torch.ones_like(ids), sym, 3).logits[0]
            want = []
            for d, p in zip(*_tree_layout("cpu", 3)[:2], strict=True):
                path = [_PROBE_SYM[(int(p) >> (int(d) - 1 - i)) & 1] for i in range(int(d))]
                full = torch.tensor([_PROBE_PROMPT + path], dtype=torch.long, device=dev)
                want.append(model(input_ids=full).logits[0, -1])
            return _same_logprobs(got, torch.stack(want))
    except Exception:  # an unusual model (ALiBi built from a 2D mask): the row trees
        return False


def _same_logprobs(got, want) -> bool:
    """Whether two probes' logits (rows, V) give the same log-probabilities to float32
    precision: within 2^10 float32 epsilons (1.2e-4) times 1 + the largest |logit|,
    far below what a wrong position or mask does (tenths of a nat on tiny models)."""
    import torch

    got = torch.log_softmax(got.float(), -1)
    want = torch.log_softmax(want.float().to(got.device), -1)
    tol = 2**10 * torch.finfo(torch.float32).eps * (1 + float(want.abs().max()))
    return bool((got - want).abs().max() <= tol)


class _float32:
    """Context: ``model``'s half-precision parameters and buffers in float32, then each
    back in its own dtype (exact: float32 holds every bf16 and fp16 value). The probes
    run in it so that bf16 rounding (about 0.1 nat at logits of 20) cannot hide an error;
    it needs float32 room for the half-precision weights while it runs."""

    def __init__(self, model: Any):
        self.model = model
        self.half: list[tuple[Any, Any]] = []

    def __enter__(self):
        import torch

        tensors = [*self.model.parameters(), *self.model.buffers()]
        half = (torch.float16, torch.bfloat16)
        self.half = [(t, t.dtype) for t in tensors if t.dtype in half]
        for t, _ in self.half:
            t.data = t.data.float()
        return self

    def __exit__(self, *exc):
        for t, dtype in self.half:
            t.data = t.data.to(dtype)


def shared_chunks(n_rows: int, length: int, batch_tokens: int) -> list[slice]:
    """Consecutive slices of a batch's rows for :func:`shared_tree_decode`: a chunk's
    254 tree logits per prompt are at most the 8 per prompt that a teacher-forced pass
    over the batch keeps (at least one row per chunk)."""
    per = max(1, N_BITS * batch_tokens // (TREE_NODES * (length + N_BITS)))
    return [slice(i, min(i + per, n_rows)) for i in range(0, n_rows, per)]


def _tree_layout(device, levels: int = N_BITS):
    """The nodes below the root of a tree of ``levels`` levels (the answer tree: 8), by
    depth then prefix: their depth (1..levels - 1), their prefix (0..2^depth - 1) and
    (nodes, nodes) which nodes each sees (itself and its ancestors)."""
    import torch

    depth = torch.cat([torch.full((1 << d,), d) for d in range(1, levels)]).to(device)
    prefix = torch.cat([torch.arange(1 << d) for d in range(1, levels)]).to(device)
    up = depth[:, None] - depth[None, :]
    sees = (up >= 0) & ((prefix[:, None] >> up.clamp(min=0)) == prefix[None, :])
    return depth, prefix, sees


def prompt_positions(mask):
    """Position ids of left-padded prompts (``mask`` (B, L), 1 on tokens): 0 at each
    prompt's first token, as if it stood alone."""
    return (mask.long().cumsum(1) - 1).clamp(min=0)


def shared_tree_decode(
    model: Any,
    cache: Any,
    last,
    mask,
    sym,
    targets: np.ndarray,
    eos_ids: Sequence[int] = (),
) -> TreeResult:
    """:func:`tree_decode`'s result for an attention-only model (see
    :func:`shared_tree_limit`), without copying the prompts' cache.

    The 254 nodes of depth 1..7 of every prompt's tree (each fed its last symbol) go in
    one pass over the prompts' cache, with a 4D mask in which a node sees its prompt's
    tokens (not its padding) and its own ancestors only, at position ids of its prompt
    length + depth - 1: each node's context is exactly prompt + prefix. Greedy
    decoding follows the tree's argmaxes; a row that leaves the tree continues from
    the prompt's cache (its rows selected once, the tree's keys masked out), fed its
    prefix and then one token per step.

    Args:
        model: a transformers causal LM.
        cache: its cache after the prompts (B rows; grows and is reordered here).
        last: (B, V) logits after each prompt.
        mask: (B, L) 1 on prompt tokens, 0 on left padding.
        sym, targets, eos_ids: as :func:`tree_decode`.
    """
    import numpy as np
    import torch

    B, _ = mask.shape
    eos = {int(e) for e in eos_ids}
    mask = mask.long()
    real = mask.sum(1)
    out = _tree_pass(model, cache, mask, sym)
    levels = [last[:, None, :]] + [
        out.logits[:, (1 << d) - 2 : (1 << (d + 1)) - 2] for d in range(1, N_BITS)
    ]
    cache = out.past_key_values
    del out
    out_dev = last.device
    sym = sym.to(out_dev)
    targets_t = torch.tensor(np.asarray(targets, dtype=np.int64), device=out_dev)
    cum = torch.zeros(B, 1, dtype=torch.float64, device=out_dev)
    positions = torch.zeros(B, N_BITS, dtype=torch.float64, device=out_dev)
    greedy = []
    with torch.inference_mode():
        for d, logits in enumerate(levels):
            logp = torch.log_softmax(logits.float(), dim=-1)
            cum = _add_level(cum, positions, logp, sym, targets_t, d)
            greedy.append(logp.argmax(-1).tolist())  # (B, 2^d)
    del levels
    s0, s1 = sym[:, 0].tolist(), sym[:, 1].tolist()
    tokens: list[list[int]] = []
    for b in range(B):
        row, node = [], 0
        for d in range(N_BITS):
            g = greedy[d][b][node]
            row.append(g)
            if g not in (s0[b], s1[b]):
                break
            node = 2 * node + int(g == s1[b])
        tokens.append(row)
    streams = [b for b in range(B) if len(tokens[b]) < N_BITS and tokens[b][-1] not in eos]
    if streams:
        _continue_streams(model, cache, mask, real, streams, tokens, eos)
    return TreeResult(
        tokens,
        cum.cpu().numpy(),
        positions.cpu().numpy(),
        positions.sum(1).cpu().numpy(),
    )


def _tree_pass(model: Any, cache: Any, mask, sym, levels: int = N_BITS):
    """The model's output on the nodes of every prompt's tree of ``levels`` levels (by
    depth then prefix, each fed its last symbol), in one pass over the prompts' ``cache``
    under the 4D mask of :func:`shared_tree_decode`."""
    import torch

    B, L = mask.shape
    dev = mask.device  # the model's input device (its logits may be on another GPU)
    depth, prefix, sees = _tree_layout(dev, levels)
    feed = sym.to(dev).gather(1, (prefix & 1)[None, :].expand(B, -1))  # (B, nodes)
    allowed = torch.cat(
        [mask.bool()[:, None, :].expand(B, len(depth), L), sees.expand(B, -1, -1)], 2
    )
    dtype = model.dtype  # what the attention adds the mask to
    add = torch.zeros(allowed.shape, dtype=dtype, device=dev)
    add.masked_fill_(~allowed, torch.finfo(dtype).min)
    with torch.inference_mode():
        return model(
            input_ids=feed,
            attention_mask=add[:, None],
            position_ids=mask.long().sum(1)[:, None] + depth[None, :] - 1,
            past_key_values=cache,
            use_cache=True,
        )


def _continue_streams(model, cache, mask, real, rows: list[int], tokens, eos: set[int]) -> None:
    """Greedy decoding of prompts ``rows`` that left the tree, from the cache after the
    prompts and the tree (its rows selected in place; the tree's keys masked out), to
    N_BITS tokens or EOS: each fed its tokens so far in one right-padded pass (causal,
    the padding masked out), then one token per step."""
    import torch

    dev = mask.device
    index = torch.tensor(rows, dtype=torch.long, device=dev)
    select_rows(cache, index)
    seqs = [tokens[b] for b in rows]
    width = max(len(s) for s in seqs)
    ids = torch.tensor([s + [s[-1]] * (width - len(s)) for s in seqs], device=dev)
    fed = torch.tensor([len(s) for s in seqs], device=dev)
    keys = torch.cat(
        [
            mask[index],
            torch.zeros(len(rows), TREE_NODES, dtype=torch.long, device=dev),
            (torch.arange(width, device=dev)[None, :] < fed[:, None]).long(),
        ],
        1,
    )
    pos = real[index][:, None] + torch.arange(width, device=dev)[None, :]
    with torch.inference_mode():
        out = model(
            input_ids=ids,
            attention_mask=keys,
            position_ids=pos,
            past_key_values=cache,
            use_cache=True,
        )
        at = out.logits.device
        nxt = out.logits[torch.arange(len(rows), device=at), fed.to(at) - 1].argmax(-1).to(dev)
        while True:
            live = False
            for s, g in zip(seqs, nxt.tolist(), strict=True):
                if len(s) < N_BITS and s[-1] not in eos:
                    s.append(g)
                    live = live or (len(s) < N_BITS and g not in eos)
            if not live:
                return
            keys = torch.cat([keys, torch.ones(len(rows), 1, dtype=torch.long, device=dev)], 1)
            out = model(
                input_ids=nxt[:, None],
                attention_mask=keys,
                position_ids=(real[index] + fed)[:, None],
                past_key_values=out.past_key_values,
                use_cache=True,
            )
            fed = fed + 1
            nxt = out.logits[:, -1].argmax(-1).to(dev)


# -- the row tree over the prompt's shared keys (hybrid models: convolution + attention) ---

#: The name under which :func:`_prompt_keys_attention` is registered with transformers.
PROMPT_KEYS_ATTENTION = "genomic_icl_prompt_keys"


@dataclass(frozen=True)
class TreePaths:
    """Which answer trees a model can take (:func:`tree_paths`): over the prompt's shared
    keys in one pass for prompts up to ``shared_limit`` tokens, else row by row with the
    prompt's attention keys shared (``prompt_keys``), else on copies of the state."""

    shared_limit: int = 0
    prompt_keys: bool = False

    def path(self, length: int) -> str:
        """The tree for prompts of ``length`` tokens: "shared", "prompt-keys" or "rows"."""
        if length <= self.shared_limit:
            return "shared"
        return "prompt-keys" if self.prompt_keys else "rows"


def tree_paths(model: Any) -> TreePaths:
    """The one place where a model's answer tree is chosen: the one-pass tree over shared
    keys (:func:`shared_tree_limit`: attention-only caches, where its probe shows it
    exact), and otherwise the row tree with the prompt's attention keys shared
    (:func:`prompt_keys_step`), where its probe shows it exact: every attention layer
    read its prompt's keys through :func:`_prompt_keys_attention` and the
    log-probabilities equal a plain pass's. Probed once per model and attention
    implementation; the verdict is kept on the model."""
    key = getattr(model.config, "_attn_implementation", None)
    known = model.__dict__.setdefault("_genomic_icl_tree_paths", {})
    if key not in known:
        limit = shared_tree_limit(model)
        known[key] = TreePaths(limit, not limit and _prompt_keys_probe(model))
    return known[key]


class PromptKeys:
    """The prompts' attention keys and values (one copy per prompt, per attention layer)
    and which prompt each row of the running state belongs to."""

    def __init__(self, keys: dict, values: dict, mask):
        import torch

        self.keys, self.values = keys, values
        B = mask.shape[0]
        # additive: 0 on prompt tokens, -inf on left padding (B, 1, 1, L)
        self.pad = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
        self.pad.masked_fill_(~mask.bool(), float("-inf"))
        self.pad = self.pad[:, None, None, :]
        self.n_prompts = B
        self.set_rows(torch.arange(B, device=mask.device))
        self.read: set[int] = set()
        #: per layer, the rows' path keys and values where the store keeps them (vortex)
        self.path: dict[int, tuple[Any, Any]] = {}

    def set_rows(self, row) -> None:
        """Rows of the running state now belong to prompts ``row``: each row's slot among
        its prompt's rows (``flat``: prompt * width + slot)."""
        import torch

        self.row = row
        order = torch.argsort(row, stable=True)
        counts = torch.bincount(row, minlength=self.n_prompts)
        starts = counts.cumsum(0) - counts
        slot = torch.empty_like(row)
        slot[order] = torch.arange(len(row), device=row.device) - starts[row[order]]
        self.width = int(counts.max()) if len(row) else 0
        self.flat = row * self.width + slot


def _prompt_keys_attention(
    module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs
):
    """transformers' attention function for :func:`prompt_keys_step`: single-token rows
    over their prompt's shared keys (``prompt_keys``, by ``module.layer_idx``) and their
    own path keys ``key``/``value`` (what the cache returns: the rows' tokens since the
    prompt). ``attention_mask`` is not needed: every path key is seen, and the prompt's
    padding is masked by the store. Returns (rows, 1, heads, D)."""
    store: PromptKeys = kwargs["prompt_keys"]
    out = attend_prompt_and_path(store, module.layer_idx, query, key, value, scaling)
    return out.transpose(1, 2), None


def attend_prompt_and_path(store: PromptKeys, layer: int, query, key, value, scaling=None):
    """Attention of single-token rows ``query`` (rows, Hq, 1, D) over their prompt's keys
    in ``store`` (one copy per prompt, (B, Hkv, L, D)) and their own path keys ``key``,
    ``value`` (rows, Hkv, P, D), in one softmax over both: exact, without copying the
    prompt's keys per row. Returns (rows, Hq, 1, D)."""
    import torch

    kp, vp = store.keys[layer], store.values[layer]
    R, Hq, T, D = query.shape
    if T != 1:
        raise RuntimeError("the prompt-keys tree feeds one token per row")
    B, Hkv, L, _ = kp.shape
    g, W = Hq // Hkv, store.width
    flat, pad = store.flat.to(query.device), store.pad.to(kp.device)  # layers on GPUs
    scale = scaling if scaling is not None else D**-0.5
    q = query.reshape(R, Hkv, g, D)
    s_path = torch.matmul(q, key.transpose(-1, -2)).float() * scale  # (R, Hkv, g, P)
    # the rows grouped by prompt (W slots each), in the layout of one product per prompt:
    # only the small per-row tensors move; the (rows x L) scores stay where the product
    # puts them (empty slots: zero queries and path scores, their outputs dropped)
    slots_q = q.new_zeros(B * W, Hkv, g, D)
    slots_q[flat] = q
    slots_path = s_path.new_zeros(B * W, Hkv, g, s_path.shape[-1])
    slots_path[flat] = s_path

    def by_prompt(x):  # (B * W, Hkv, g, X) -> (B, Hkv, W * g, X)
        return x.view(B, W, Hkv, g, -1).transpose(1, 2).reshape(B, Hkv, W * g, x.shape[-1])

    def by_row(x):  # (B, Hkv, W * g, X) -> (R, Hkv, g, X)
        x = x.reshape(B, Hkv, W, g, -1).transpose(1, 2)
        return x.reshape(B * W, Hkv, g, x.shape[-1])[flat]

    s_prompt = torch.matmul(by_prompt(slots_q), kp.transpose(-1, -2)).float()
    s_prompt = s_prompt.mul_(scale).add_(pad)  # (B, Hkv, W * g, L)
    w = torch.softmax(torch.cat([s_prompt, by_prompt(slots_path)], -1), -1).to(query.dtype)
    out = by_row(torch.matmul(w[..., :L], vp)) + torch.matmul(by_row(w[..., L:]), value)
    store.read.add(layer)
    return out.reshape(R, Hq, 1, D)


def _split_prompt_keys(cache, mask) -> PromptKeys | None:
    """Move the prompts' attention keys out of ``cache`` (after the prompts) into a
    :class:`PromptKeys`, leaving empty attention layers for the rows' path keys; None
    when the cache holds other kinds of layers (sliding windows, quantized keys)."""
    from transformers.cache_utils import DynamicLayer

    keys, values = {}, {}
    layers = getattr(cache, "layers", None)
    if layers:  # transformers 5: a cache of layers
        from transformers.cache_utils import LinearAttentionCacheLayerMixin

        for i, layer in enumerate(layers):
            if type(layer) is DynamicLayer:
                keys[i], values[i] = layer.keys, layer.values
            elif not isinstance(layer, LinearAttentionCacheLayerMixin):
                return None
        for i in keys:
            layers[i] = DynamicLayer()
    elif hasattr(cache, "conv_cache") and hasattr(cache, "key_cache"):  # LFM2, transformers 4
        for i, kind in enumerate(cache.layer_types):
            if kind == "full_attention":
                k, v = cache.key_cache[i], cache.value_cache[i]
                keys[i], values[i] = k, v
                cache.key_cache[i], cache.value_cache[i] = k[:, :, :0], v[:, :, :0]
    if not keys:
        return None
    return PromptKeys(keys, values, mask.to(next(iter(keys.values())).device))


def prompt_keys_step(model: Any, cache: Any, mask) -> Step | None:
    """A :data:`Step` like :func:`hf_step` whose rows share their prompt's attention keys
    instead of copying them: only the small states (convolution, recurrent) and the
    rows' path keys (at most 7 tokens) are copied per row; attention layers read the
    prompt's keys once per prompt (:func:`_prompt_keys_attention`). ``mask`` (B, L): 1
    on prompt tokens, 0 on left padding. None when the cache cannot be split."""
    import torch
    from transformers import AttentionInterface

    store = _split_prompt_keys(cache, mask)
    if store is None:
        return None
    AttentionInterface.register(PROMPT_KEYS_ATTENTION, _prompt_keys_attention)
    real = mask.long().sum(1).to(store.row.device)
    old = not getattr(cache, "layers", None)  # transformers 4's LFM2 cache: positions
    state = {"cache": cache, "depth": 0}

    def step(index, feed):
        select_rows(state["cache"], index)
        store.set_rows(store.row[index.to(store.row.device)])
        pos = (real[store.row] + state["depth"])[:, None].to(feed.device)
        kw = {"cache_position": pos[0]} if old else {}
        store.read.clear()
        with _attention(model, PROMPT_KEYS_ATTENTION), torch.inference_mode():
            o = model(
                input_ids=feed[:, None],
                position_ids=pos,
                past_key_values=state["cache"],
                use_cache=True,
                prompt_keys=store,
                **kw,
            )
        if store.read != set(store.keys):
            raise RuntimeError(
                f"attention layers {sorted(set(store.keys) - store.read)} did not read the "
                "prompt's shared keys: this model cannot take the prompt-keys tree"
            )
        state["cache"], state["depth"] = o.past_key_values, state["depth"] + 1
        return o.logits[:, -1, :]

    return step


class _attention:
    """Context: ``model`` runs with attention implementation ``name``, then its own."""

    def __init__(self, model: Any, name: str):
        self.model, self.name = model, name

    def __enter__(self):
        self.old = self.model.config._attn_implementation
        self.model.set_attn_implementation(self.name)

    def __exit__(self, *exc):
        self.model.set_attn_implementation(self.old)


def _prompt_keys_probe(model: Any) -> bool:
    """Whether :func:`prompt_keys_step` is exact for ``model``: on a 3-token prompt, two
    steps of it give the log-probabilities of a plain pass over the prompt and both
    tokens (:func:`_same_logprobs`, in float32: :class:`_float32`)."""
    import torch

    try:
        with _float32(model), torch.inference_mode():
            dev = model.get_input_embeddings().weight.device
            ids = torch.tensor([_PROBE_PROMPT + _PROBE_SYM], dtype=torch.long, device=dev)
            want = model(input_ids=ids).logits[0, -2:]
            pre = model(input_ids=ids[:, :3], use_cache=True)
            step = prompt_keys_step(model, pre.past_key_values, torch.ones_like(ids[:, :3]))
            if step is None:
                return False
            one = torch.zeros(1, dtype=torch.long, device=ids.device)
            got = torch.stack([step(one, ids[:, 3])[0], step(one, ids[:, 4])[0]])
            return _same_logprobs(got, want)
    except Exception:  # an unusual model: keep the row-copy tree, which works for any
        return False
