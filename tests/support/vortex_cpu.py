"""Test support: run the real vortex/evo2 code (vtx 1.1.0, evo2 0.6.0) on a CPU.

vortex assumes CUDA in two places that have nothing to do with the arithmetic:

1. ``vortex.model.rotary`` imports ``apply_rotary`` from ``vortex.ops.embedding.rotary``,
   whose package ``vortex.ops`` imports flash-attn's CUDA extension
   (``flash_attn_2_cuda``), and the function itself is a Triton GPU kernel. We
   register a pure-torch ``apply_rotary`` (same arguments and semantics) under that
   module name before vortex is imported, so neither is loaded.
2. vortex enters ``torch.cuda.device(x.device)`` around model construction and every
   Hyena block's projections; for a CPU device that raises. Where CUDA is absent we
   make it a no-op for CPU devices (CUDA devices keep the original behaviour).

Everything else (StripedHyena, its FFT prefill, the recurrent inference state,
``load_checkpoint`` with its Wqkv permutation and dtype conversion, evo2's loader)
is the packages' own code. :func:`install` is idempotent; ``sitecustomize.py`` in
this folder calls it in subprocesses (Snakemake jobs) that get this folder on
``PYTHONPATH`` with ``GENOMIC_ICL_VORTEX_CPU=1``.
"""

from __future__ import annotations

import contextlib
import sys
import types

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


def install() -> None:
    """Register the stand-ins that this machine needs (before or after torch, before
    vortex): the rotary only where flash-attn's CUDA extension is missing (a GPU
    without it too, e.g. the lent GPU sessions' image), the ``torch.cuda.device``
    tolerance only where CUDA is absent. On a machine with both, nothing changes."""
    import importlib.util

    import torch

    if ROTARY_MODULE not in sys.modules and importlib.util.find_spec("flash_attn_2_cuda") is None:
        module = types.ModuleType(ROTARY_MODULE)
        module.apply_rotary = apply_rotary
        module.__doc__ = "pure-torch stand-in registered by tests/support/vortex_cpu.py"
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
