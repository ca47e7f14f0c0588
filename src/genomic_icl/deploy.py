"""How the workflow's jobs are deployed: the software they run in, the resources they
ask a cluster for, and the SLURM account they are charged to.

The rule files declare (rules/software.smk, rules/resources.smk, rules/slurm.smk);
the logic is here. Imported at planning: nothing heavy (no numpy, no torch).
See docs/cluster.md.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from genomic_icl.workflow import cluster_default_account, retry_request

#: the software step of every job other than inference (prompts, scoring, statistics,
#: figures, pretraining), and of a backend that names no other
CPU_STEP = "cpu"

#: inference resources of a model entry without its own (CPU reference learners)
MODEL_RESOURCE_DEFAULTS = {"gpu": 0, "mem_mb": 4000, "runtime": 60, "cpus_per_task": 2}

Resource = Callable[..., Any]


# -- software ---------------------------------------------------------------------


def image_path(ref: str, basedir: str) -> str:
    """A registry URI or absolute path as it is; a local image path relative to the
    repository ``basedir``."""
    if "://" in ref or os.path.isabs(ref):
        return ref
    return os.path.join(basedir, ref)


def step_image(step: str, containers: Mapping[str, str], basedir: str) -> str:
    """The Apptainer image of a software step: the config's ``containers: STEP``, else
    containers/STEP.sif (built from containers/STEP.def)."""
    return image_path(containers.get(step, f"containers/{step}.sif"), basedir)


def step_conda(step: str, basedir: str) -> str:
    """The conda environment file of a software step (envs/STEP.yaml)."""
    return os.path.join(basedir, "envs", f"{step}.yaml")


def model_step(entry: Mapping[str, Any]) -> str:
    """The software step a model entry's inference runs in: its backend class's
    ``software_step`` (a backend is imported at planning anyway, by preflight)."""
    from genomic_icl.models import get_backend

    return get_backend(entry["backend"]).software_step


def model_image(entry: Mapping[str, Any], containers: Mapping[str, str], basedir: str) -> str:
    """A model's inference image: its ``resources: container:`` if set, else its step's."""
    own = entry.get("resources", {}).get("container")
    return image_path(own, basedir) if own else step_image(model_step(entry), containers, basedir)


# -- resources --------------------------------------------------------------------


def attempt_scaled(base: int) -> Resource:
    """Resource callable: ``base`` on a job's first attempt, more on each retry."""
    return lambda wildcards, attempt: retry_request(base, attempt)


def model_resource(
    models: Mapping[str, Mapping[str, Any]],
    key: str,
    slurm: Mapping[str, Any],
    scaled: bool = False,
) -> Resource:
    """Resource callable of inference jobs (wildcard ``model``): the model entry's
    ``resources: KEY`` or the default; ``scaled``: grown on retries up to the entry's
    ``max_KEY`` or the config's ``slurm.max_KEY``."""

    def get(wildcards: Any, attempt: int) -> int:
        own = models[wildcards.model].get("resources", {})
        value = own.get(key, MODEL_RESOURCE_DEFAULTS[key])
        cap = own.get(f"max_{key}", slurm.get(f"max_{key}"))
        return retry_request(value, attempt, cap) if scaled else value

    return get


def model_gpus(entry: Mapping[str, Any]) -> int:
    """The GPUs a model entry's inference jobs ask for (``resources.gpu``)."""
    return int(entry.get("resources", {}).get("gpu", 0))


def gpu_resources(models: Mapping[str, Mapping[str, Any]], gpu_request: str) -> dict[str, Resource]:
    """How inference jobs ask for their GPUs (config ``slurm.gpu_request``): the ``gpu``
    resource (sbatch --gpus=N, needs select/cons_tres) or a ``gres`` of gpu:N (sbatch
    --gres=gpu:N, any cluster with GPUs as generic resources)."""
    if gpu_request == "gres":
        return {
            "gres": lambda w: (
                f"gpu:{model_gpus(models[w.model])}" if model_gpus(models[w.model]) else ""
            )
        }
    return {"gpu": lambda w: model_gpus(models[w.model])}


# -- SLURM account and partition ----------------------------------------------------


def default_resource(defaults: Any, name: str) -> Any:
    """A default resource of the profile or command line (None if unset), under
    Snakemake's older (``.parsed``, 9.14) and newer (a mapping) DefaultResources."""
    if defaults is None:
        return None
    parsed = getattr(defaults, "parsed", None)
    value = parsed.get(name) if isinstance(parsed, dict) else None
    if parsed is None and name in defaults:
        value = defaults[name]
    return getattr(value, "value", value)


def set_default_resource(defaults: Any, name: str, value: Any) -> None:
    """Set a default resource of every job (see :func:`default_resource`)."""
    if hasattr(defaults, "set_resource"):
        defaults.set_resource(name, value)
    else:
        defaults[name] = value


def site_account(configured: str, defaults: Any, main_process: bool) -> str:
    """The account of every job: config ``slurm.account`` (``configured``), else the
    profile's or command line's default-resources, else the user's default account on
    the cluster (sacctmgr's DefaultAccount, asked once by the main Snakemake process
    where sacctmgr exists); "" where the cluster keeps no accounts. An empty account
    is not left to the SLURM plugin where avoidable: it would guess one from the
    user's last job."""
    if configured:
        return configured
    given = default_resource(defaults, "slurm_account")
    if given:
        return str(given)
    # on a SLURM submit host only (the executor is not known yet while the Snakefile
    # is read); jobs get the account with the default resources they are sent
    if main_process and shutil.which("sacctmgr"):
        return cluster_default_account() or ""
    return ""


def site_resources(models: Mapping[str, Mapping[str, Any]], account: str) -> dict[str, Resource]:
    """slurm_partition / slurm_account of inference jobs. A model entry's own value
    wins; the partition of an entry without one is left to default-resources when no
    entry sets one, else "" (the cluster's default partition); the account of an entry
    without one is the site's ``account`` (:func:`site_account`)."""

    def own(w: Any) -> Mapping[str, Any]:
        return models[w.model].get("resources", {})

    out: dict[str, Resource] = {}
    if any("slurm_partition" in m.get("resources", {}) for m in models.values()):
        out["slurm_partition"] = lambda w: str(own(w).get("slurm_partition", ""))
    if any("slurm_account" in m.get("resources", {}) for m in models.values()):
        out["slurm_account"] = lambda w: str(own(w).get("slurm_account", account))
    return out
