"""The ``evo2`` backend: Evo 2 models through the ``evo2`` package (optional extra).

``checkpoint:`` is an Evo 2 model name (``evo2_1b_base``, ``evo2_7b``,
``evo2_40b``, ...), the hub id ``arcinstitute/<name>``, or a local ``<name>.pt``
file (the model name is taken from the file name; the architecture config comes
with the ``evo2`` package). The package places the model on the visible GPUs and
splits the layers of the 40B model across several of them by itself.

Evo 2 reads bytes: one token per nucleotide (``ord(ch)``), so prompt and target
lengths in tokens are their lengths in characters and every genomic prompt with
the same n has the same length. Greedy decoding uses
:func:`genomic_icl.models.greedy.greedy_jacobi` over full forward passes of
``model(input_ids) -> (logits, _)``; vortex's own cached generation is not used
(its batched state handling is version-dependent), which costs at most 8 passes
per prompt the model gets wrong instead of 1.

Only this module imports ``evo2``, and only when a model is loaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from genomic_icl.models.base import (
    N_TARGET,
    Backend,
    BackendError,
    Continuations,
    expand,
    fetch_hint,
    hf_offline,
    hub_cache,
    looks_like_path,
    token_batches,
)

#: Evo 2 checkpoints known to the ``evo2`` package (``evo2.utils.MODEL_NAMES``).
MODEL_NAMES = (
    "evo2_1b_base",
    "evo2_7b",
    "evo2_7b_base",
    "evo2_7b_262k",
    "evo2_7b_microviridae",
    "evo2_20b",
    "evo2_40b",
    "evo2_40b_base",
)
#: Checkpoints trained with FP8 input projections: they need Transformer Engine
#: and a GPU with FP8 support (compute capability 8.9+: Hopper, Ada).
FP8_MODELS = ("evo2_1b_base", "evo2_20b", "evo2_40b", "evo2_40b_base")
FP8_MIN_CAPABILITY = (8, 9)
HUB_ORG = "arcinstitute"
INSTALL_HINT = (
    "install the optional extra on a CUDA machine: `pip install 'genomic-icl[evo2]'` "
    "(see https://github.com/ArcInstitute/evo2 for its CUDA, Transformer Engine and "
    "flash-attn requirements), or run the job in the Evo 2 container named in "
    "`resources.container`"
)


def model_name(checkpoint: str) -> str:
    """The Evo 2 model name a checkpoint stands for (name, hub id or ``<name>.pt`` path)."""
    if looks_like_path(checkpoint):
        name = Path(checkpoint).name
        for suffix in (".pt", ".pth"):
            name = name.removesuffix(suffix)
        return name
    return checkpoint.removeprefix(HUB_ORG + "/")


def tokenize(texts: list[str]) -> list[list[int]]:
    """Evo 2's byte-level tokens: one per character (``ord``; ASCII prompts)."""
    return [list(t.encode("utf-8")) for t in texts]


def detokenize(ids: list[int]) -> str:
    """Characters of byte tokens; ids outside printable ASCII become U+FFFD, so
    they never pass for a nucleotide."""
    return "".join(chr(i) if 32 <= i < 127 else "\ufffd" for i in ids)


def merged_weights_path(name: str) -> Path:
    """Where the evo2 package keeps a merged checkpoint (beside the hub cache)."""
    return hub_cache().parent / f"{name}.pt"


class Evo2Backend(Backend):
    name = "evo2"

    # -- checks -----------------------------------------------------------------
    @classmethod
    def preflight(cls, spec: dict[str, Any]) -> None:
        ckpt = spec.get("checkpoint") or ""
        name = model_name(ckpt)
        if name not in MODEL_NAMES:
            raise BackendError(
                f"model {spec.get('name')!r}: unknown Evo 2 model {ckpt!r}; known: "
                f"{', '.join(MODEL_NAMES)} (a local checkpoint must be named <model>.pt)"
            )
        if looks_like_path(ckpt):
            if not expand(ckpt).is_file():
                raise BackendError(f"model {spec['name']!r}: checkpoint path {ckpt} does not exist")
            return
        if hf_offline() and not merged_weights_path(name).is_file():
            from huggingface_hub import try_to_load_from_cache

            repo = f"{HUB_ORG}/{name}"
            if not any(
                isinstance(try_to_load_from_cache(repo, f, cache_dir=hub_cache()), str)
                for f in (f"{name}.pt", f"{name}.pt.part0")
            ):
                raise BackendError(
                    f"model {spec['name']!r}: Evo 2 weights {repo} are not in the local cache "
                    "and the hub is offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE); "
                    + fetch_hint(repo)
                )

    @classmethod
    def check_environment(cls, spec: dict[str, Any]) -> None:
        if importlib.util.find_spec("evo2") is None:
            raise BackendError(
                f"model {spec['name']!r}: the `evo2` package is not installed; {INSTALL_HINT}"
            )
        import torch

        device = spec.get("device", "auto")
        if device == "cpu" or not torch.cuda.is_available():
            raise BackendError(
                f"model {spec['name']!r}: Evo 2 runs on CUDA GPUs only "
                f"(device {device!r}, CUDA available: {torch.cuda.is_available()})"
            )
        caps = [torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())]
        check_fp8(spec, caps, importlib.util.find_spec("transformer_engine") is not None)

    # -- loading ------------------------------------------------------------------
    def __init__(self, spec: dict[str, Any], seed: int = 0, *, evo=None) -> None:
        """Load the model, or wrap ``evo`` (an object with ``.model``: a vortex
        StripedHyena or anything whose call returns ``(logits, _)``)."""
        super().__init__(spec, seed)
        if evo is None:
            from evo2 import Evo2

            ckpt = spec["checkpoint"]
            local = str(expand(ckpt)) if looks_like_path(ckpt) else None
            evo = Evo2(model_name(ckpt), local_path=local)
        self.evo = evo
        self.model = evo.model
        params = next(iter(self.model.parameters()), None)
        self.device = params.device if params is not None else "cpu"
        self.batch_tokens = int(spec.get("batch_tokens", 65536))
        self.max_rows = spec.get("batch_size")
        self.passes = 0

    def describe(self) -> str:
        return f"evo2 {self.spec.get('checkpoint')} on {self.device}"

    # -- work -----------------------------------------------------------------------
    def plan(self, prompts) -> list[np.ndarray]:
        size = prompts["prompt"].str.len().to_numpy() + prompts["target"].str.len().to_numpy()
        return token_batches(size, size, self.batch_tokens, self.max_rows)

    def forward_last(self, ids, k: int):
        logits, _ = self.model(ids)
        return logits[:, -k:, :]

    def run(self, batch) -> Continuations:
        import torch

        from genomic_icl.models.greedy import greedy_jacobi

        p = tokenize(batch["prompt"].tolist())
        t = tokenize(batch["target"].tolist())
        prompt_ids = torch.tensor(p, dtype=torch.long, device=self.device)
        target_ids = torch.tensor(t, dtype=torch.long, device=self.device)
        tokens, logprob, passes = greedy_jacobi(self.forward_last, prompt_ids, target_ids)
        self.passes += passes
        return Continuations([detokenize(x)[:N_TARGET] for x in tokens], logprob, tokens)

    def after_out_of_memory(self) -> None:
        import torch

        torch.cuda.empty_cache()


def check_fp8(spec: dict[str, Any], capabilities: list[tuple[int, int]], have_te: bool) -> None:
    """Raise when an FP8 Evo 2 model meets a GPU without FP8 support (or no
    Transformer Engine). ``capabilities``: compute capability of each visible GPU."""
    name = model_name(spec.get("checkpoint", ""))
    if name not in FP8_MODELS:
        return
    weak = [
        f"cuda:{i} (sm_{a}{b})"
        for i, (a, b) in enumerate(capabilities)
        if (a, b) < FP8_MIN_CAPABILITY
    ]
    if weak:
        raise BackendError(
            f"model {spec.get('name')!r}: {name} uses FP8 (Transformer Engine), which needs a GPU "
            f"of compute capability {FP8_MIN_CAPABILITY[0]}.{FP8_MIN_CAPABILITY[1]}+ (H100, H200, "
            f"L40S, ...); these GPUs have none: {', '.join(weak)}. Request such GPUs in "
            "`resources` (e.g. a Hopper partition)"
        )
    if not have_te:
        raise BackendError(
            f"model {spec.get('name')!r}: {name} uses FP8 and needs NVIDIA Transformer Engine "
            f"(`transformer_engine`), which is not installed; {INSTALL_HINT}"
        )
