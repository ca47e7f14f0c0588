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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np
    import pandas as pd
    import torch

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
    #: asks for GPUs (``resources.gpu``) must get them (:func:`~genomic_icl.models.util.check_gpus`)
    uses_gpu: ClassVar[bool] = True
    #: the software step its inference jobs run in: the image containers/STEP.def (or
    #: the config's ``containers: STEP``) and the conda env envs/STEP.yaml
    software_step: ClassVar[str] = "cpu"

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
        built-in weights (default: the ``checkpoint`` when it is not a local path).
        No heavy imports."""
        from genomic_icl.models.util import looks_like_path

        ckpt = str(spec.get("checkpoint") or "")
        return None if not ckpt or looks_like_path(ckpt) else ckpt

    @classmethod
    def weights_identity(cls, spec: dict[str, Any]) -> list:
        """What identifies the weights an entry loads; part of the predictions'
        fingerprint, so new weights mean new predictions. No heavy imports.

        Default: for a hub repository (:meth:`hub_repo`) the commit its ``revision``
        (default ``main``) points to in the local hub cache, so a moved revision is
        new weights; for a local checkpoint (a directory, a ``.pt`` file) the sha256 of
        each of its files, checked against its ``SHA256SUMS`` (a damaged file raises
        :class:`~genomic_icl.integrity.IntegrityError` naming it and the fix), so
        retrained weights are new and re-created identical ones are not. Empty when
        there is nothing local to read (weights not cached yet, or none at all).
        """
        from genomic_icl.integrity import weights_digest
        from genomic_icl.models.util import expand, hub_commit, looks_like_path, weights_fix

        ckpt = str(spec.get("checkpoint") or "")
        repo = cls.hub_repo(spec)
        if not ckpt or (repo is None and not looks_like_path(ckpt)):
            return []
        if repo is None:
            return weights_digest(expand(ckpt), weights_fix(ckpt))
        commit = hub_commit(repo, spec.get("revision"))
        return [] if commit is None else [commit]

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

    # -- optional, for benchmarks and tests (never called by a prediction job) ------
    def encode(
        self, prompts: list[str], targets: list[str]
    ) -> tuple[list[list[int]], list[list[int]]]:
        """Token ids of prompts, as :meth:`run` feeds them, and of targets alone.
        ``benchmarks/gpu.py`` counts tokens and builds forward passes from them."""
        raise NotImplementedError(f"backend {self.name!r} has no token ids")

    def logits(self, ids: torch.Tensor, keep: int = 1) -> torch.Tensor:
        """Next-token logits (B, ``keep``, vocabulary) at the last ``keep`` positions of
        one plain forward pass (no cache reused) over ``ids`` (B, L), a LongTensor on
        the model's first device: the teacher-forced pass that bounds any exact method's
        cost, and the logit gap between two candidate tokens."""
        raise NotImplementedError(f"backend {self.name!r} exposes no logits")

    def baseline_greedy(self, prompt: str, steps: int = N_TARGET) -> list[int]:
        """``steps`` greedy token ids of one prompt by the model library's own decoding
        (transformers' ``generate``, vortex's ``Generator``), one prompt at a time: the
        baseline :meth:`run`'s tokens and speed are compared with."""
        raise NotImplementedError(f"backend {self.name!r} has no baseline decoding")
