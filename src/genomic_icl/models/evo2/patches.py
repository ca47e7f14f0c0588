"""Changes to vortex (vtx 1.1) that the ``evo2`` backend makes: on one model instance,
its cached prefill made as cheap as one forward pass (:func:`lean_prefill`) and its
FP8 scaling state kept per batch (:func:`fp8_states`, :func:`restore_fp8_states`);
process-wide, quieter loggers and, for a CPU, stand-ins for vortex's two CUDA-only
imports (:func:`install_cpu_standins`).

vortex assumes CUDA in two places that have nothing to do with the arithmetic:

1. ``vortex.model.rotary`` imports ``apply_rotary`` from ``vortex.ops.embedding.rotary``,
   whose package ``vortex.ops`` imports flash-attn's CUDA extension
   (``flash_attn_2_cuda``), and the function itself is a Triton GPU kernel.
   :func:`install_cpu_standins` registers a pure-torch :func:`apply_rotary` (same
   arguments and semantics) under that module name before vortex is imported, so
   neither is loaded.
2. vortex enters ``torch.cuda.device(x.device)`` around model construction and every
   Hyena block's projections; for a CPU device that raises. Where CUDA is absent it
   becomes a no-op for CPU devices (CUDA devices keep the original behaviour).

Everything else (StripedHyena, its FFT prefill, the recurrent inference state,
``load_checkpoint`` with its Wqkv permutation and dtype conversion, evo2's loader)
is the packages' own code. The tests, the benchmarks and the tests' Snakemake jobs
(``tests/support/sitecustomize.py``) install the stand-ins; the backend never does.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import types
from typing import Any


def fp8_states(model) -> dict[str, Any]:
    """The FP8 scaling state of every Transformer Engine layer of the model, as loaded.

    vortex runs its FP8 input projections (``TELinear``, vtx 1.1 layers.py) under
    ``DelayedScaling(amax_history_len=16, amax_compute_algo="max")``: each call's
    scale comes from the largest input seen in the layer's last 16 calls, so a
    batch's outputs would depend on the batches before it, and a job resumed after a
    kill (which starts from the loaded state) would not give the bytes of an
    uninterrupted run. :func:`restore_fp8_states` before every batch makes each batch
    depend on its own prompts only; batches are fixed by the plan, so resumption is
    exact. (Per-call "current" scaling would do the same, but the recipe is fixed in
    vortex's layer and the released models were calibrated with delayed scaling.)
    Transformer Engine keeps this state in ``fp8_meta`` and serialises it through
    ``get_extra_state``/``set_extra_state``, as checkpoints store it."""
    return {
        name: module.get_extra_state()
        for name, module in model.named_modules()
        if getattr(module, "use_fp8_input_projections", False) and hasattr(module, "fp8_meta")
    }


def restore_fp8_states(model, states: dict[str, Any]) -> None:
    """Put back the FP8 scaling state :func:`fp8_states` took (nothing without FP8)."""
    if not states:
        return
    modules = dict(model.named_modules())
    for name, state in states.items():
        module = modules[name]
        if state is not None and getattr(state, "numel", lambda: 1)() > 0:
            module.set_extra_state(state)
            continue
        # loaded without FP8 state (set_extra_state ignores an empty one): the state
        # Transformer Engine starts from, scale 1 and an empty amax history
        for meta in module.fp8_meta.values():
            if hasattr(meta, "amax_history") and hasattr(meta, "scale"):
                meta.amax_history.zero_()
                meta.scale.fill_(1.0)


def quiet_vortex_logs() -> None:
    """Keep vortex's and evo2's loggers to warnings (they log every block at INFO)."""
    for name in ("StripedHyena", "vortex", "evo2"):
        logging.getLogger(name).setLevel(logging.WARNING)


def lean_prefill(model) -> int:
    """Make vortex's cached prefill cost about one forward pass, on this model instance
    only (vtx 1.1; same arithmetic up to rounding). Returns the number of layers changed.

    * Attention without flash attention (``use_flash_attn: false``, e.g. on a CPU): the
      cached path's ``CrossAttention`` materialises the (L x L) scores in eager
      einsum/masked_fill/softmax; it gets torch's fused ``scaled_dot_product_attention``
      (the plain forward pass's ``SelfAttention`` already uses it).
    * Long (IIR) Hyena layers: vortex computes the recurrent state after the prompt by
      an inverse FFT over (batch, width, state, 2L) complex values, all but one column
      of which it drops (18 GB for 8 prompts of 2,200 bp on Evo 2 7B). The state is
      sum_tau x1v[tau] * exp(pole * (L - 1 - tau)): one batched matrix product.
    """
    import torch
    from vortex.model.attention import CrossAttention
    from vortex.model.engine import HyenaInferenceEngine

    changed = 0
    for module in list(model.modules()):
        inner = getattr(module, "inner_cross_attn", None)
        if type(inner) is CrossAttention:
            sdpa = torch.nn.Module()
            sdpa.softmax_scale = inner.softmax_scale
            sdpa.forward = functools.partial(
                _sdpa_cross_attention, inner.causal, inner.softmax_scale
            )
            module.inner_cross_attn = sdpa
            changed += 1
        engine = getattr(module, "engine", None)
        if isinstance(engine, HyenaInferenceEngine):
            engine.prefill_via_modal_fft = _modal_state
            changed += 1
    return changed


def _modal_state(inference_params, x1v, L, poles, t, dims, layer_idx, **_: Any) -> None:
    """The IIR state after L steps, as vortex's ``prefill_via_modal_fft`` stores it:
    x1v (B, D, L), poles = log-poles (G, S, 1), t = arange(L) (1, 1, L)."""
    import torch

    hidden_size, _, _, _, groups = dims
    decay = (poles.float() * t[..., :L].flip(-1).float()).exp()  # (G, S, L)
    if 1 < groups < hidden_size:  # one group per channel (Evo 2's HCL layers): as is
        decay = decay.repeat_interleave(hidden_size // groups, 0)  # (D, S, L)
    inference_params.state_dict[layer_idx] = torch.einsum("bdl,dsl->bds", x1v.float(), decay)


def _sdpa_cross_attention(default_causal, softmax_scale, q, kv, causal=None, key_padding_mask=None):
    """vortex ``CrossAttention.forward(q, kv)`` through ``scaled_dot_product_attention``:
    q (B, Sq, H, D), kv (B, Sk, 2, Hk, D); causal with the queries at the end of the keys."""
    import torch
    from torch.nn.functional import scaled_dot_product_attention

    if key_padding_mask is not None:
        raise NotImplementedError("padded batches are not used by this backend")
    causal = default_causal if causal is None else causal
    k, v = kv.unbind(dim=2)
    if k.shape[2] != q.shape[2]:  # grouped-query attention
        k = k.repeat_interleave(q.shape[2] // k.shape[2], dim=2)
        v = v.repeat_interleave(q.shape[2] // v.shape[2], dim=2)
    sq, sk = q.shape[1], k.shape[1]
    mask = None
    if causal and 1 < sq < sk:
        rows = torch.arange(sq, device=q.device)[:, None] + (sk - sq)
        mask = torch.arange(sk, device=q.device)[None, :] <= rows
    out = scaled_dot_product_attention(
        q.transpose(1, 2),
        k.transpose(1, 2),
        v.transpose(1, 2),
        attn_mask=mask,
        is_causal=causal and sq == sk > 1,
        scale=softmax_scale,
    )
    return out.transpose(1, 2)


# -- CPU stand-ins for vortex's CUDA-only imports ------------------------------

ROTARY_MODULE = "vortex.ops.embedding.rotary"


def apply_rotary(
    x,
    cos,
    sin,
    seqlen_offsets=0,
    cu_seqlens=None,
    max_seqlen=None,
    interleaved=False,
    inplace=False,
    conjugate=False,
):
    """Rotary embedding of ``x`` (batch, seqlen, heads, headdim) with tables
    ``cos``/``sin`` (seqlen_ro, rotary_dim / 2), starting at ``seqlen_offsets`` (an int
    or one offset per row): flash-attn's ``apply_rotary`` in plain torch."""
    import torch

    if cu_seqlens is not None:
        raise NotImplementedError("variable-length rotary is not needed on CPU")
    seqlen = x.shape[1]
    if isinstance(seqlen_offsets, int):
        c = cos[seqlen_offsets : seqlen_offsets + seqlen][None, :, None, :]
        s = sin[seqlen_offsets : seqlen_offsets + seqlen][None, :, None, :]
    else:
        pos = seqlen_offsets.long()[:, None] + torch.arange(seqlen, device=x.device)
        c, s = cos[pos][:, :, None, :], sin[pos][:, :, None, :]
    if conjugate:
        s = -s
    ro = 2 * cos.shape[-1]
    part = x[..., :ro]
    if interleaved:
        a, b = part[..., 0::2], part[..., 1::2]
        rotated = torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)
    else:
        a, b = part.chunk(2, dim=-1)
        rotated = torch.cat((a * c - b * s, a * s + b * c), dim=-1)
    out = torch.cat((rotated, x[..., ro:]), dim=-1)
    if inplace:
        x.copy_(out)
        return x
    return out


def install_cpu_standins() -> None:
    """Register the stand-ins that this machine needs (before or after torch, before
    vortex): the rotary only where flash-attn's CUDA extension is missing (a GPU
    without it too, e.g. the lent GPU sessions' image), the ``torch.cuda.device``
    tolerance only where CUDA is absent. On a machine with both, nothing changes."""
    import importlib.util

    import torch

    if ROTARY_MODULE not in sys.modules and importlib.util.find_spec("flash_attn_2_cuda") is None:
        module = types.ModuleType(ROTARY_MODULE)
        module.apply_rotary = apply_rotary
        module.__doc__ = "pure-torch stand-in registered by genomic_icl.models.evo2.patches"
        sys.modules[ROTARY_MODULE] = module
    original = torch.cuda.device
    if torch.cuda.is_available() or getattr(original, "_cpu_tolerant", False):
        return

    def device(dev):
        if torch.device(dev).type == "cpu":
            return contextlib.nullcontext()
        return original(dev)

    device._cpu_tolerant = True
    torch.cuda.device = device
