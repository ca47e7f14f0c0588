"""Helpers for the workflow's scripts (thin glue around the library)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def logged(log_path: str | os.PathLike | None) -> Iterator[None]:
    """Send a script's stdout, stderr (tqdm bars, warnings) and logging to its log file;
    a failure's traceback is written there too before it propagates."""
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
                yield
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        finally:
            root.removeHandler(handler)
            sys.stderr.flush()


def export_library_path(repo: str | os.PathLike) -> None:
    """Put ``repo/src`` first on ``PYTHONPATH`` (when it holds this package), so jobs
    import the checkout's library inside conda environments and containers too.
    The workflow sets the variable itself: users need not define it."""
    src = os.path.join(repo, "src")
    if not os.path.isdir(os.path.join(src, "genomic_icl")):
        return
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *paths])


def hf_home() -> Path:
    """The Hugging Face home of this process, read from the environment now (not at
    import time, as ``huggingface_hub.constants`` does): ``HF_HOME``, else
    ``$XDG_CACHE_HOME/huggingface``, else ``~/.cache/huggingface``. The workflow
    sets ``HF_HOME`` from the config's ``model_cache`` for planning and every job."""
    home = os.environ.get("HF_HOME")
    if home:
        return Path(os.path.expanduser(home))
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(os.path.expanduser(os.path.join(xdg, "huggingface")))


def hub_cache() -> Path:
    """Where hub downloads live: ``HF_HUB_CACHE`` if set, else ``hf_home()/hub``."""
    own = os.environ.get("HF_HUB_CACHE")
    return Path(os.path.expanduser(own)) if own else hf_home() / "hub"


def export_model_cache(model_cache: str | os.PathLike | None) -> Path:
    """Make ``model_cache`` (default: this shell's Hugging Face home) the ``HF_HOME`` of
    planning and of every job, and bind it into Apptainer containers.

    Snakemake runs Apptainer jobs with ``--home`` set to the working directory, so
    without this a job's default cache would be ``<workdir>/.cache/huggingface``,
    not the one preflight checked. The variables set here are inherited by local
    jobs, by sbatch (which exports the environment) and by ``apptainer exec``;
    ``APPTAINER_BIND`` (and ``SINGULARITY_BIND``) make Apptainer bind the directory
    at the same path. Returns the absolute cache directory (created if missing).
    """
    cache = Path(os.path.expanduser(str(model_cache))) if model_cache else hf_home()
    cache = cache.absolute()
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["HF_HOME"] = str(cache)
    for var in ("APPTAINER_BIND", "SINGULARITY_BIND"):
        binds = [b for b in os.environ.get(var, "").split(",") if b]
        if not any(b.split(":")[0] == str(cache) for b in binds):
            os.environ[var] = ",".join([*binds, str(cache)])
    return cache


def job_gpus(resources: Any) -> int:
    """GPUs a job was submitted with: its ``gpu`` resource, or the count of a
    ``gres`` of ``gpu:N`` / ``gpu:TYPE:N`` (``slurm.gpu_request: gres``)."""
    gpu = int(resources.get("gpu", 0) or 0)
    gres = str(resources.get("gres", "") or "")
    if not gpu and gres.startswith("gpu"):
        parts = gres.split(":")
        gpu = int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 1
    return gpu


def cluster_default_account(user: str | None = None) -> str | None:
    """The user's default SLURM account (``sacctmgr``'s DefaultAccount: the account
    sbatch charges when given none), or None where there is no accounting database
    or no sacctmgr. Never guessed from past jobs."""
    import getpass
    import subprocess

    user = user or getpass.getuser()
    cmd = ["sacctmgr", "-n", "-P", "show", "user", user, "format=DefaultAccount"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    return lines[0] if out.returncode == 0 and lines else None


def retry_request(base: int, attempt: int, cap: int | None = None) -> int:
    """A memory or time request for a job's ``attempt`` (1, 2, ...): the first request
    grown by half of itself per retry (x1, x1.5, x2, ...), never above ``cap`` (what
    the cluster allows: config slurm.max_* or a model entry's resources.max_*) and
    never below the first request."""
    value = int(base * (1 + 0.5 * (attempt - 1)))
    return value if cap is None else max(int(base), min(value, int(cap)))
