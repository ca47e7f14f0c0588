"""Greedy decoding and the answer tree on vortex's inference state (the ``evo2``
backend's counterpart of :mod:`genomic_icl.models.greedy`).

Evo 2 reads bytes: one token per character (``ord``), so every genomic prompt with
the same n has the same length and a batch needs no padding.

:func:`cached_greedy`: one prefill of each batch's prompts, then at most 7
single-token steps. Each row's target is fed while the greedy output agrees with it,
which gives log P(target | prompt) and the greedy tokens in the same steps; a row
whose greedy output leaves the target is branched (its state copied) and continued
on its own tokens. The tokens are those of step-by-step greedy decoding; vortex's
recurrent steps round differently from its FFT prefill, so in bf16 a near-tie can
flip (the tests compare in fp32). :func:`tree_answers`: all 256 answers from the
same state, rows repeated level by level (:func:`_take_rows`): the Hyena states and
the rows' path keys, the prompt's attention keys shared by its rows
(:func:`_prompt_keys_step`).
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Any

from genomic_icl.models.answers import TreeResult, attend_prompt_and_path, tree_decode
from genomic_icl.models.base import N_TARGET, BackendError

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np


def tokenize(texts: list[str]) -> list[list[int]]:
    """Evo 2's byte-level tokens: one per character (``ord``; ASCII prompts)."""
    return [list(t.encode("utf-8")) for t in texts]


def detokenize(ids: list[int]) -> str:
    """Characters of byte tokens; ids outside printable ASCII become U+FFFD, so
    they never pass for a nucleotide."""
    return "".join(chr(i) if 32 <= i < 127 else "\ufffd" for i in ids)


def _take_rows(state: dict[str, Any], index) -> None:
    """Keep (and repeat) rows ``index`` of every tensor in vortex's inference state,
    in place: the attention KV cache and the Hyena FIR/IIR states all have the batch
    as their first dimension."""
    width = None
    for params in state.values():
        for attr in (
            "key_value_memory_dict",
            "fir_state_dict",
            "fir_inner_state_dict",
            "state_dict",
        ):
            tensors = getattr(params, attr, None) or {}
            for key, value in tensors.items():
                if width is None:
                    width = value.shape[0]
                if value.shape[0] != width:
                    raise BackendError(
                        f"vortex inference state {attr}[{key}] has {value.shape[0]} rows, "
                        f"expected {width}: this vortex version is not supported (vtx 1.1)"
                    )
                tensors[key] = value.index_select(0, index.to(value.device))
    state["mha"].max_batch_size = len(index)


def cached_greedy(model, prompt_ids, target_ids) -> tuple[list[list[int]], np.ndarray]:
    """Greedy tokens (T = target length of them) and the target's per-symbol
    log-probabilities (B, T; row sums: log P(target | prompt)) for a vortex
    StripedHyena, from one prefill and at most T - 1 single-token steps.

    ``prompt_ids`` (B, L) and ``target_ids`` (B, T) are LongTensors on the model's
    first device, without padding. Streams (rows of the running state) start as one
    per prompt, each fed its target; when a prompt's greedy token first differs from
    its target, its stream is copied and the copy fed the greedy tokens from then on.
    """
    import torch

    B, L = prompt_ids.shape
    T = target_ids.shape[1]
    with contextlib.redirect_stdout(io.StringIO()):  # vortex prints a line here
        state = model.initialize_inference_params(max_seqlen=L + T)
    state["mha"].max_batch_size = B
    dev = prompt_ids.device
    row = torch.arange(B, device=dev)  # which prompt each stream belongs to
    follows_target = torch.ones(B, dtype=torch.bool, device=dev)
    on_track = torch.ones(B, dtype=torch.bool, device=dev)  # greedy == target so far
    logprob = torch.zeros(B, T, dtype=torch.float64, device=dev)
    tokens = torch.zeros(B, T, dtype=torch.long, device=dev)
    with torch.inference_mode():
        logits, state = model(prompt_ids, inference_params_dict=state)
        last = logits[:, -1, :].float()
        del logits
        for t in range(T):
            g = last.argmax(-1)
            tgt = target_ids[row, t]
            lp = torch.log_softmax(last, dim=-1)
            fed = follows_target
            logprob[row[fed], t] = lp[fed].gather(1, tgt[fed, None])[:, 0].double()
            speaks = ~fed | on_track[row]  # streams whose argmax is the prompt's greedy token
            tokens[row[speaks], t] = g[speaks]
            if t == T - 1:
                break
            leaves = fed & on_track[row] & (g != tgt)
            on_track[row[leaves]] = False
            feed = torch.where(fed, tgt, g)
            if leaves.any():
                branch = torch.nonzero(leaves)[:, 0]
                _take_rows(state, torch.cat([torch.arange(len(row), device=dev), branch]))
                feed = torch.cat([feed, g[branch]])
                row = torch.cat([row, row[branch]])
                follows_target = torch.cat(
                    [follows_target, torch.zeros(len(branch), dtype=torch.bool, device=dev)]
                )
            for params in state.values():
                params.seqlen_offset = L + t
            logits, state = model(feed[:, None], inference_params_dict=state)
            last = logits[:, -1, :].float()
    return tokens.tolist(), logprob.cpu().numpy()


def tree_answers(
    model, prompt_ids, sym, targets: np.ndarray, prompt_keys: bool = True
) -> TreeResult:
    """:func:`genomic_icl.models.answers.tree_decode` on vortex's inference state:
    one prefill of the prompts (B, L), then the answer tree's 7 levels as single-token
    steps, the state's rows repeated level by level: the Hyena FIR and IIR states, and
    either only the rows' path keys, the prompt's attention keys shared by its rows
    (``prompt_keys``, :func:`_prompt_keys_step`, where vortex's attention layers allow
    it), or the whole attention KV cache. ``sym`` (B, 2): the byte of each prompt's
    ``sym0`` and ``sym1``."""
    import torch

    B, L = prompt_ids.shape
    with contextlib.redirect_stdout(io.StringIO()):  # vortex prints a line here
        state = model.initialize_inference_params(max_seqlen=L + N_TARGET)
    state["mha"].max_batch_size = B
    depth = [0]

    def step(index, feed):
        _take_rows(state, index)
        for params in state.values():
            params.seqlen_offset = L + depth[0]
        depth[0] += 1
        logits, _ = model(feed[:, None], inference_params_dict=state)
        return logits[:, -1, :].float()

    with torch.inference_mode():
        logits, _ = model(prompt_ids, inference_params_dict=state)
        last = logits[:, -1, :].float()
        del logits
        shared = _prompt_keys_step(model, state, B, L) if prompt_keys else None
        return tree_decode(last, sym, shared or step, targets)


def _attention_layers(model) -> dict[int, Any]:
    """vortex's attention modules (MHA) by layer index."""
    return {
        m.layer_idx: m
        for m in model.modules()
        if hasattr(m, "inner_cross_attn") and getattr(m, "layer_idx", None) is not None
    }


def _prompt_keys_step(model, state: dict[str, Any], B: int, L: int):
    """A step of the answer tree whose rows share their prompt's attention keys: each
    attention layer's prompt keys move out of vortex's KV cache (one copy per prompt),
    which keeps only this step's token; the rows' path keys are kept by the store and
    attention reads both (:func:`genomic_icl.models.answers.attend_prompt_and_path`).
    vortex's attention then runs its prefill branch (``seqlen_offset`` 0, positions
    from ``lengths_per_sample``), with its inner attention swapped for this one during
    each step. None where vortex's attention layers do not match the cache, or lie on
    more than one device."""
    import functools

    import torch

    from genomic_icl.models.answers import PromptKeys

    mha, cache = _attention_layers(model), state["mha"].key_value_memory_dict
    if not mha or set(mha) != set(cache):
        return None
    scales = {i: getattr(m.inner_cross_attn, "softmax_scale", False) for i, m in mha.items()}
    if any(s is False for s in scales.values()):
        return None
    if len({cache[i].device for i in mha}) > 1:
        # A model spread over several GPUs: the rows' indices and positions would have
        # to follow each layer's device; the row-copy tree handles it as it is.
        return None
    keys, values = {}, {}
    for i in mha:
        kv = cache[i][:B, :L]  # (B, L, 2, Hk, D)
        keys[i], values[i] = (kv[:, :, j].transpose(1, 2).contiguous() for j in (0, 1))
        cache[i] = cache[i][:B, :1].clone()  # this step's token only
    dev = next(iter(keys.values())).device
    store = PromptKeys(keys, values, torch.ones(B, L, dtype=torch.long, device=dev))
    inner = {i: torch.nn.Module() for i in mha}
    for i, m in inner.items():
        m.forward = functools.partial(_vortex_attention, store, i, scales[i])
    depth = [0]

    def step(index, feed):
        _take_rows(state, index)
        at = index.to(dev)
        store.set_rows(store.row[at])
        store.path = {i: (k[at], v[at]) for i, (k, v) in store.path.items()}
        for name, params in state.items():
            params.seqlen_offset = 0 if name == "mha" else L + depth[0]
        state["mha"].lengths_per_sample = torch.full(
            (len(index),), L + depth[0], dtype=torch.int32, device=dev
        )
        depth[0] += 1
        store.read.clear()
        own = {i: m.inner_cross_attn for i, m in mha.items()}
        try:
            for i, m in mha.items():
                m.inner_cross_attn = inner[i]
            logits, _ = model(feed[:, None], inference_params_dict=state)
        finally:
            for i, m in mha.items():
                m.inner_cross_attn = own[i]
        if store.read != set(keys):
            raise BackendError("vortex attention layers did not read the prompt's shared keys")
        return logits[:, -1, :].float()

    return step


def _vortex_attention(store, layer: int, scale, q, kv, causal=None, key_padding_mask=None):
    """vortex ``CrossAttention.forward(q, kv)`` for :func:`_prompt_keys_step`: q (rows,
    1, H, D) and kv (rows, 1, 2, Hk, D), this step's token, appended to the rows' path
    keys in ``store``; attention over the prompt's keys and the path."""
    import torch

    k, v = (kv[:, :, j].transpose(1, 2) for j in (0, 1))  # (rows, Hk, 1, D)
    if layer in store.path:
        k = torch.cat([store.path[layer][0], k], 2)
        v = torch.cat([store.path[layer][1], v], 2)
    store.path[layer] = (k, v)
    return attend_prompt_and_path(store, layer, q.transpose(1, 2), k, v, scale).transpose(1, 2)
