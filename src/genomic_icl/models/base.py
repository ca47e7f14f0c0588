"""The backend interface: what every model backend provides.

A backend turns prompts into raw greedy continuations. It never builds the
predictions table: :func:`genomic_icl.scoring.score` does that, in one place,
for every backend.

Life cycle (driven by :mod:`genomic_icl.inference`):

1. ``Backend.preflight(spec)`` (classmethod): cheap static checks of a model
   entry (names, paths, offline cache). No torch, transformers or evo2 import:
   the Snakefile calls it at planning time and the CLI before anything else.
2. ``Backend.check_environment(spec)`` (classmethod): checks in the job, before
   any weights are read: CUDA present when asked for, optional packages
   installed, GPU features (FP8). May import torch.
3. ``backend = Backend(spec)``: loads the model.
4. ``backend.plan(prompts)``: the prompt table split into batches (lists of row
   positions). The plan must be a deterministic function of the prompts and the
   spec: a resumed run recomputes it and skips the batches already written.
5. ``backend.run(batch)`` for each batch: a :class:`Continuations`.
"""

from __future__ import annotations

import abc
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from genomic_icl.workflow import hf_home, hub_cache

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np
    import pandas as pd

#: Number of symbols a model must produce (one 8-bit output).
N_TARGET = 8


class BackendError(RuntimeError):
    """A model entry cannot run here; the message says why and what to do."""


@dataclass
class Continuations:
    """Raw results of one batch, in the batch's row order.

    ``text``: the greedy continuation as decoded text, cut to its first 8
    characters (shorter when the model ends its output early; may hold symbols
    outside the prompt's alphabet). ``logprob``: log P(target | prompt) under the
    model (NaN where a backend has none, e.g. reference learners).
    ``position_logprobs``: shape (rows, 8), log P(target symbol i | prompt, target
    symbols before i), so that a row sums to ``logprob`` (NaN where a backend has
    none). ``answer_logprobs``: shape (rows, 256), log P(answer a | prompt) for every
    valid answer a = 0..255, the 8 bits of a (most significant first) written in the
    trial's ``sym0``/``sym1`` (NaN where a backend has none); ``None`` for either means
    all NaN. ``token_ids``: the greedy token ids, for tests and debugging (not stored).
    """

    text: list[str]
    logprob: np.ndarray
    token_ids: list[list[int]] | None = field(default=None, repr=False)
    position_logprobs: np.ndarray | None = None
    answer_logprobs: np.ndarray | None = None

    def __post_init__(self) -> None:
        import numpy as np

        n = len(self.text)
        self.logprob = np.asarray(self.logprob, dtype=np.float64)
        if len(self.logprob) != n:
            raise ValueError("text and logprob differ in length")
        self.position_logprobs = _rows(self.position_logprobs, n, N_TARGET, "position_logprobs")
        self.answer_logprobs = _rows(self.answer_logprobs, n, 1 << N_TARGET, "answer_logprobs")


def _rows(values: np.ndarray | None, n: int, width: int, what: str) -> np.ndarray:
    """``values`` as an (n, width) float64 array; all NaN when ``None``."""
    import numpy as np

    if values is None:
        return np.full((n, width), np.nan)
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (n, width):
        raise ValueError(f"{what} has shape {out.shape}, expected ({n}, {width})")
    return out


class Backend(abc.ABC):
    """Base class of model backends: one subclass per file, registered by name in
    :data:`genomic_icl.models.BACKENDS` (or named in config as ``package.module:Class``).

    A subclass sets :attr:`name` and implements :meth:`run`; it overrides
    :meth:`__init__` to load its model, and, where useful, :meth:`plan`,
    :meth:`preflight`, :meth:`check_alphabet` and :meth:`check_environment`.
    """

    #: The registry key the backend is known by (e.g. ``"hf"``).
    name: ClassVar[str] = ""
    #: whether the backend computes on GPUs when it has them: then a model entry that
    #: asks for GPUs (``resources.gpu``) must get them (:func:`check_gpus`)
    uses_gpu: ClassVar[bool] = True

    def __init__(self, spec: dict[str, Any], seed: int = 0) -> None:
        """Load the model of a config model entry.

        Args:
            spec: the model entry (``name``, ``backend``, ``checkpoint``, ...), already
                validated by the config schema and by :meth:`preflight`.
            seed: the run's seed, for backends with any randomness.
        """
        self.spec = dict(spec)
        self.seed = int(seed)

    # -- identity -------------------------------------------------------------
    @classmethod
    def hub_repo(cls, spec: dict[str, Any]) -> str | None:
        """The hub repository an entry's weights come from, or ``None`` for local or
        built-in weights. The commit its ``revision`` points to in the local cache is
        part of the predictions' fingerprint, so a moved revision means new predictions.
        No heavy imports."""
        ckpt = str(spec.get("checkpoint") or "")
        return None if not ckpt or looks_like_path(ckpt) else ckpt

    # -- checks ---------------------------------------------------------------
    @classmethod  # noqa: B027 (an optional hook)
    def preflight(cls, spec: dict[str, Any]) -> None:
        """Static checks of a model entry at planning time: names, paths, offline cache.

        Args:
            spec: the model entry.

        Raises:
            BackendError: naming the entry and what to do. Must not import torch,
                transformers or model packages (it runs on a login node).
        """

    @classmethod  # noqa: B027 (an optional hook)
    def check_alphabet(cls, spec: dict[str, Any], alphabet: str) -> None:
        """Static check that the model can read prompts written in ``alphabet``.

        Args:
            spec: the model entry.
            alphabet: the symbols of the entry's encoding (``encodings.<name>.alphabet``).

        Raises:
            BackendError: the model cannot read that alphabet. No heavy imports.
        """

    @classmethod  # noqa: B027 (an optional hook)
    def check_environment(cls, spec: dict[str, Any]) -> None:
        """Checks in the job, before any weights are read: devices, packages, GPU features.

        Args:
            spec: the model entry.

        Raises:
            BackendError: the job's machine cannot run the model; the message names
                the fix. May import torch.
        """

    # -- work -------------------------------------------------------------------
    def plan(self, prompts: pd.DataFrame) -> list[np.ndarray]:
        """Split a prompt table into batches.

        Args:
            prompts: the prompt table (columns ``prompt``, ``target``, ...).

        Returns:
            Batches of row positions that cover every row exactly once. Must be a
            deterministic function of the prompts and the spec: a resumed job
            recomputes it and skips the batches already written. Default: one batch.
        """
        import numpy as np

        return [np.arange(len(prompts))] if len(prompts) else []

    @abc.abstractmethod
    def run(self, batch: pd.DataFrame) -> Continuations:
        """Greedy continuations of one batch.

        Args:
            batch: rows of the prompt table (one batch of :meth:`plan`).

        Returns:
            A :class:`Continuations` in the batch's row order: the greedy output as
            text (its first 8 symbols) and log P(target | prompt) (NaN if unknown).
        """

    def is_out_of_memory(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a device out-of-memory error (the batch is then halved)."""
        return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()

    def after_out_of_memory(self) -> None:  # noqa: B027 (an optional hook)
        """Free cached device memory after an out-of-memory error."""

    def close(self) -> None:  # noqa: B027 (an optional hook)
        """Release the model."""

    def describe(self) -> str:
        """One line for the job log."""
        return f"{self.name} {self.spec.get('checkpoint', '')}"


# -- helpers shared by the backends ------------------------------------------------


def looks_like_path(checkpoint: str) -> bool:
    """Whether a checkpoint names a local path rather than a hub id (``org/name``)."""
    return (
        checkpoint.startswith(("/", "./", "../", "~"))
        or checkpoint.endswith((".pt", ".pth", ".bin", ".safetensors"))
        or os.path.exists(os.path.expanduser(checkpoint))
    )


def expand(path: str) -> Path:
    return Path(os.path.expanduser(path))


def hf_offline() -> bool:
    """Whether the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE`` /
    ``TRANSFORMERS_OFFLINE``)."""
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def fetch_hint(repo_id: str, revision: str | None = None) -> str:
    rev = f" --revision {revision}" if revision else ""
    return (
        f"looked in {hub_cache()}; fetch the weights ahead of time on a machine with "
        f"network access, e.g. `HF_HOME={hf_home()} hf download {repo_id}{rev}` "
        "(the workflow's jobs use the config's `model_cache`, default the HF_HOME of the "
        "shell that starts Snakemake), or set `checkpoint:` to a local copy"
    )


def requested_gpus(spec: dict[str, Any]) -> int:
    """GPUs the model entry's jobs ask the scheduler for (``resources.gpu``)."""
    return int((spec.get("resources") or {}).get("gpu", 0) or 0)


def check_gpus(spec: dict[str, Any]) -> None:
    """Refuse to go on when a model entry asks for GPUs (``resources.gpu``) that this
    process cannot use, so a GPU job never falls back to the CPU silently. An entry
    that names ``device: cpu`` has chosen the CPU and is left alone."""
    wanted = requested_gpus(spec)
    if wanted <= 0 or str(spec.get("device", "auto")) == "cpu":
        return
    import torch

    seen = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if seen >= wanted:
        return
    if torch.version.cuda is None:
        why = f"this Python's torch ({torch.__version__}) is a CPU-only build"
        fix = (
            "run the job in the step's GPU image or environment (containers/hf.def, "
            "envs/hf.yaml; `--sdm apptainer` or `--sdm conda`)"
        )
    else:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        why = (
            f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees {seen} GPU(s); "
            f"/dev/nvidiactl {'exists' if os.path.exists('/dev/nvidiactl') else 'is missing'}, "
            f"CUDA_VISIBLE_DEVICES={visible!r}"
        )
        fix = (
            'likely fixes: pass `--nv` to Apptainer (`--apptainer-args="--nv"`) so the '
            "container sees the node's driver and GPUs; check that the node's NVIDIA driver "
            f"is new enough for CUDA {torch.version.cuda} (`nvidia-smi`; CUDA 13 needs R580+); "
            "make sure the job ran on a GPU partition and was granted its GPUs "
            "(`resources.slurm_partition`; `slurm.gpu_request: gres` on clusters without "
            "select/cons_tres)"
        )
    raise BackendError(
        f"model {spec.get('name')!r} asks for {wanted} GPU(s) (resources.gpu) but {why}; "
        f"refusing to run it on the CPU. {fix}, or set `device: cpu` to run it on the CPU "
        "on purpose"
    )


def token_batches(
    group_keys: np.ndarray, sizes: np.ndarray, batch_tokens: int, max_rows: int | None = None
) -> list[np.ndarray]:
    """Group row positions by equal key (e.g. token length: rows of one group need no
    padding), then cut each group into batches of at most ``batch_tokens`` tokens
    (``sizes`` = tokens per row; at least one row per batch). Deterministic: groups
    in increasing key, rows in table order."""
    import numpy as np

    group_keys, sizes = np.asarray(group_keys), np.asarray(sizes)
    batches: list[np.ndarray] = []
    for key in np.unique(group_keys):
        rows = np.flatnonzero(group_keys == key)
        per = max(1, int(batch_tokens) // max(1, int(sizes[rows].max())))
        if max_rows:
            per = min(per, int(max_rows))
        batches.extend(rows[i : i + per] for i in range(0, len(rows), per))
    return batches


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; raise when CUDA is
    asked for but absent."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BackendError(
                f"device {device!r} asked for, but CUDA is not available here "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}); "
                "run on a GPU node or set `device: cpu` (or `auto`)"
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise BackendError(
                f"device {device!r} asked for, but only "
                f"{torch.cuda.device_count()} GPU(s) are visible"
            )
    return device


def check_device_spec(spec: dict[str, Any]) -> None:
    """The CUDA part of :meth:`Backend.check_environment`."""
    resolve_device(spec.get("device", "auto"))


def resolve_dtype(dtype: str, device: str):
    """``auto`` -> bfloat16 on CUDA, float32 on CPU."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def nan_logprobs(n: int) -> np.ndarray:
    import numpy as np

    return np.full(n, math.nan)
