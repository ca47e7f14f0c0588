"""Exact greedy decoding, fast, for transformers-style models with a KV cache.

:func:`greedy_kv` returns, for a batch of equal-length prompts with their equal-length
targets, the greedy tokens (what ``generate(do_sample=False, max_new_tokens=8)``
produces) and the log-probability of the target under the model.

One teacher-forced forward pass over prompt + target decides, per row, the greedy
output up to the first position where it leaves the target. Rows that matched all 8
symbols are done. The others continue real greedy decoding from the KV cache of that
same pass, cropped to their correct prefix, so no prompt is ever re-encoded; the
cache's rows are selected in place, so it is held once (not once per group), and
each layer's indices live on that layer's device (a model spread over GPUs). (The
``evo2`` backend has its own cached scheme for vortex's recurrent state:
:func:`genomic_icl.models.evo2.cached_greedy`.)

LFM2-style models, whose cache cannot be cut back to a shorter prefix but can be
indexed by row, use :func:`greedy_stepwise` instead: one pass over the prompts alone,
then the cache doubled by row; one copy reads the target (its log-probability), the
other decodes greedily, both in one batch of single-token steps, exactly as
``generate`` decodes. :func:`rows_only_cache` tells which of the two a model needs.

It is exact up to floating point: the argmax at each position is taken on
logits computed for exactly the context greedy decoding would see.

Torch is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _first_mismatch(a, b):
    """Per row, the first index where a != b (a.shape[1] when none)."""
    import torch

    neq = a != b
    width = a.shape[1]
    idx = torch.where(
        neq.any(1), neq.int().argmax(1), torch.full_like(neq[:, 0], width, dtype=torch.long)
    )
    return idx.long()


def _target_logprob(logits, target):
    """Per row and target token, log P(token | context): (B, T) float64."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    return logp.gather(-1, target.unsqueeze(-1)).squeeze(-1).double()


def _cut_at_eos(tokens: list[list[int]], eos: set[int]) -> list[list[int]]:
    """Each row cut after its first EOS token, as ``generate`` stops there."""
    for r, row in enumerate(tokens):
        for i, t in enumerate(row):
            if t in eos:
                tokens[r] = row[: i + 1]
                break
    return tokens


def _sliceable(cache) -> bool:
    layers = getattr(cache, "layers", None)
    if not layers:
        return False
    from transformers.cache_utils import DynamicLayer

    return all(
        type(layer) is DynamicLayer and getattr(layer, "keys", None) is not None for layer in layers
    )


class _OnDevice:
    """An index tensor, copied once to each device that asks for it (a model spread
    over several GPUs keeps each layer's cache on that layer's device)."""

    def __init__(self, index) -> None:
        self._by_device = {index.device: index}

    def on(self, device):
        if device not in self._by_device:
            self._by_device[device] = next(iter(self._by_device.values())).to(device)
        return self._by_device[device]


def _split_rows(cache, take, keep=None, length: int | None = None) -> list[tuple]:
    """In place, layer by layer: the cache keeps only batch rows ``take`` (None: all, in
    order, without a copy), cut to their first ``length`` positions; returns per layer
    (keys, values) of rows ``keep`` at full length (nothing when None). A layer's old
    tensors are freed before the next layer's are indexed, so the cache is never held
    twice. Indices go to each layer's own device (a model spread over GPUs)."""
    take_at = None if take is None else _OnDevice(take)
    keep_at = None if keep is None else _OnDevice(keep)
    rest = []
    for layer in cache.layers:
        kv = (layer.keys, layer.values)
        if keep_at is not None:
            rest.append(tuple(t.index_select(0, keep_at.on(t.device)) for t in kv))
        kv = tuple(t[:, :, :length] for t in kv)
        if take_at is not None:
            kv = tuple(t.index_select(0, take_at.on(t.device)) for t in kv)
        layer.keys, layer.values = kv
        del kv
    return rest


def _set_layers(cache, data: list[tuple]) -> None:
    """Make ``data`` (per layer, keys and values) the cache's content, in place."""
    for layer, (k, v) in zip(cache.layers, data, strict=True):
        layer.keys, layer.values = k, v


def greedy_kv(
    model: Any,
    prompt_ids,
    target_ids,
    max_new: int = 8,
    eos_ids: Sequence[int] = (),
    logits_to_keep: bool = True,
) -> tuple[list[list[int]], np.ndarray]:
    """Greedy tokens (cut after the first EOS, as ``generate`` stops there) and
    the target's per-token log-probabilities (B, T) for a transformers causal LM
    (their row sums: log P(target | prompt)).

    ``prompt_ids`` (B, L) and ``target_ids`` (B, T) are LongTensors on the model's
    input device, without padding.
    """
    import torch

    B, L = prompt_ids.shape
    T = target_ids.shape[1]
    inp = torch.cat([prompt_ids, target_ids[:, : T - 1]], dim=1)
    kw = {"logits_to_keep": T} if logits_to_keep else {}
    with torch.inference_mode():
        out = model(input_ids=inp, use_cache=True, **kw)
    logits = out.logits[:, -T:, :]
    logprob = _target_logprob(logits, target_ids).cpu().numpy()
    greedy = logits.argmax(-1)
    W = min(T, max_new)
    k = _first_mismatch(greedy[:, :W], target_ids[:, :W])
    # settled prefix length per row: up to and including the first wrong token
    prefix_len = torch.where(k < W, k + 1, torch.full_like(k, W))
    tokens: list[list[int]] = []
    tgt, grd, kk = target_ids.tolist(), greedy.tolist(), k.tolist()
    for r in range(B):
        seq = tgt[r][: kk[r]] + ([grd[r][kk[r]]] if kk[r] < W else [])
        tokens.append(seq)
    eos = set(int(e) for e in eos_ids)
    cache = out.past_key_values
    todo = [r for r in range(B) if len(tokens[r]) < max_new and not (eos and eos & set(tokens[r]))]
    del out, logits
    by_len: dict[int, list[int]] = {}
    for r in todo:
        by_len.setdefault(int(prefix_len[r]), []).append(r)
    sliceable = cache is not None and _sliceable(cache)
    if sliceable:
        # one copy of the cache at any time: the rows still to decode (in ``left``
        # order) shrink as each group of one prefix length is taken from them
        left = todo
        _split_rows(cache, torch.tensor(left, dtype=torch.long, device=prompt_ids.device))
    for p, rows in sorted(by_len.items()):
        rows_t = torch.tensor(rows, device=prompt_ids.device)
        last = torch.tensor([tokens[r][-1] for r in rows], device=prompt_ids.device)
        if sliceable:
            pos, chosen = {r: i for i, r in enumerate(left)}, set(rows)
            left = [r for r in left if r not in chosen]
            if left:  # other groups wait at full length in ``rest``
                take = torch.tensor([pos[r] for r in rows], device=prompt_ids.device)
                keep = torch.tensor([pos[r] for r in left], device=prompt_ids.device)  # not empty
                rest = _split_rows(cache, take, keep, L + p - 1)
            else:  # the last group: all rows left, in order
                _split_rows(cache, None, None, L + p - 1)
            sub = cache
        else:  # no reusable cache: encode prompt + settled prefix again
            ctx = torch.cat(
                [
                    prompt_ids[rows_t],
                    torch.tensor([tokens[r][:-1] for r in rows], device=prompt_ids.device)
                    .long()
                    .reshape(len(rows), p - 1),
                ],
                dim=1,
            )
            with torch.inference_mode():
                sub = model(
                    input_ids=ctx,
                    use_cache=True,
                    **({"logits_to_keep": 1} if logits_to_keep else {}),
                ).past_key_values
        for _ in range(max_new - p):
            with torch.inference_mode():
                o = model(input_ids=last[:, None], past_key_values=sub, use_cache=True)
            sub = o.past_key_values
            last = o.logits[:, -1, :].argmax(-1)
            for r, t in zip(rows, last.tolist(), strict=True):
                tokens[r].append(t)
        del sub
        if sliceable and left:
            _set_layers(cache, rest)
            del rest
    return _cut_at_eos(tokens, eos), logprob


def _row_states(cache) -> list[list]:
    """The per-layer state lists of a cache that is not a DynamicCache (attributes that
    are lists of tensors, e.g. LFM2's key_cache, value_cache and conv_cache)."""
    import torch

    return [
        v
        for v in vars(cache).values()
        if isinstance(v, list) and v and all(isinstance(t, torch.Tensor) for t in v)
    ]


def _select_rows(cache, rows) -> None:
    """Index every per-layer state of the cache by batch row, in place (rows may
    repeat). Empty placeholders of skipped layers stay as they are (LFM2's own
    ``reorder_cache`` fails on them)."""
    for states in _row_states(cache):
        for i, t in enumerate(states):
            if t.numel():
                states[i] = t.index_select(0, rows.to(t.device))


def rows_only_cache(model: Any) -> bool:
    """Whether the model's cache cannot be cut back to a shorter prefix (e.g. LFM2's
    convolution state) but its states can be indexed by row, so that
    :func:`greedy_stepwise` beats :func:`greedy_kv`'s re-encoding. Probed by one
    two-token pass of the decoder (``get_decoder()``, not ``forward``); False when
    the probe fails."""
    import torch

    try:
        weight = model.get_input_embeddings().weight
        ids = torch.zeros((1, 2), dtype=torch.long, device=weight.device)
        with torch.inference_mode():
            cache = model.get_decoder()(input_ids=ids, use_cache=True).past_key_values
    except Exception:  # an unusual model: keep greedy_kv, which works for any
        return False
    if cache is None or _sliceable(cache):
        return False
    return bool(_row_states(cache))


def greedy_stepwise(
    model: Any,
    prompt_ids,
    target_ids,
    max_new: int = 8,
    eos_ids: Sequence[int] = (),
    logits_to_keep: bool = True,
) -> tuple[list[list[int]], np.ndarray]:
    """:func:`greedy_kv`'s result (tokens, per-token target log-probabilities) for
    models whose cache cannot be cropped.

    One forward pass over the prompts (B, L) fills the cache; the cache is then
    doubled by row: rows 0..B-1 are fed the target (its
    log-probability), rows B..2B-1 their own greedy token, one token per step, both
    halves in one batch. Each prompt is encoded once; the max(T, max_new) - 1 steps
    cost about 2B(T - 1) tokens against B*L for the prompt pass.
    """
    import torch

    B = prompt_ids.shape[0]
    T = target_ids.shape[1]
    kw = {"logits_to_keep": 1} if logits_to_keep else {}
    with torch.inference_mode():
        out = model(input_ids=prompt_ids, use_cache=True, **kw)
        cache = out.past_key_values
        _select_rows(cache, torch.cat([torch.arange(B), torch.arange(B)]))
        logits = out.logits[:, -1, :]
        logp = torch.log_softmax(logits.float(), dim=-1)
        logprob = torch.zeros(B, T, dtype=torch.float64, device=logits.device)
        logprob[:, 0] = logp.gather(-1, target_ids[:, :1]).squeeze(-1).double()
        last = logits.argmax(-1)
        greedy = [last]
        for j in range(1, max(T, max_new)):
            fed = torch.cat([target_ids[:, min(j, T) - 1], last])[:, None]
            o = model(input_ids=fed, past_key_values=cache, use_cache=True)
            cache = o.past_key_values
            logits = o.logits[:, -1, :]
            if j < T:
                logp = torch.log_softmax(logits[:B].float(), dim=-1)
                logprob[:, j] = logp.gather(-1, target_ids[:, j : j + 1]).squeeze(-1).double()
            last = logits[B:].argmax(-1)
            greedy.append(last)
    tokens = torch.stack(greedy[:max_new], dim=1).tolist()
    return _cut_at_eos(tokens, set(int(e) for e in eos_ids)), logprob.cpu().numpy()
