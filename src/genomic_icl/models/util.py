"""Helpers shared by the model backends: checkpoint names and paths, the offline hub
cache, devices, dtypes and token-budget batches. The backend contract itself
(:class:`~genomic_icl.models.base.Backend`) is in :mod:`genomic_icl.models.base`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genomic_icl.models.base import BackendError
from genomic_icl.workflow import hf_home, hub_cache

if TYPE_CHECKING:  # numpy imported where used: planning imports this module without it
    import numpy as np


def looks_like_path(checkpoint: str) -> bool:
    """Whether a checkpoint names a local path rather than a hub id (``org/name``)."""
    return (
        checkpoint.startswith(("/", "./", "../", "~"))
        or checkpoint.endswith((".pt", ".pth", ".bin", ".safetensors"))
        or os.path.exists(os.path.expanduser(checkpoint))
    )


def expand(path: str) -> Path:
    """``path`` with ``~`` expanded."""
    return Path(os.path.expanduser(path))


def hf_offline() -> bool:
    """Whether the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE`` /
    ``TRANSFORMERS_OFFLINE``)."""
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def fetch_hint(repo_id: str, revision: str | None = None) -> str:
    """How to put a hub model into the local cache ahead of time (for error messages)."""
    rev = f" --revision {revision}" if revision else ""
    return (
        f"looked in {hub_cache()}; fetch the weights ahead of time on a machine with "
        f"network access, e.g. `HF_HOME={hf_home()} hf download {repo_id}{rev}` "
        "(the workflow's jobs use the config's `model_cache`, default the HF_HOME of the "
        "shell that starts Snakemake), or set `checkpoint:` to a local copy"
    )


def hub_commit(repo_id: str, revision: str | None = None) -> str | None:
    """The commit ``revision`` (default ``main``) of a hub repository points to in the
    local hub cache (its ``refs/`` file), or ``None`` when the cache has no such ref."""
    ref = hub_cache() / f"models--{repo_id.replace('/', '--')}" / "refs" / (revision or "main")
    return ref.read_text().strip() if ref.is_file() else None


def weights_fix(ckpt: str) -> str:
    """What to do about damaged weights at ``ckpt`` (a checkpoint path)."""
    from genomic_icl.integrity import SUMS

    if Path(ckpt).parts[:2] == ("results", "pretrained"):
        return (
            f"delete {ckpt} and rerun snakemake, which copies the shipped weights "
            "(or trains them) again"
        )
    return (
        f"restore {ckpt} from its source; if its files were changed on purpose, "
        f"write its {SUMS} again (sha256sum FILES > {SUMS})"
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


def resolve_dtype(dtype: str, device: str):
    """``auto`` -> bfloat16 on CUDA, float32 on CPU."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
