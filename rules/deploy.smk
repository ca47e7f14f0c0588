# Deployment of every rule: what its jobs ask a cluster for (resources), the
# software they run in (an Apptainer image with --sdm apptainer, a conda
# environment with --sdm conda) and the fingerprint of their code. All of it
# comes from the config: a model entry's `resources:` for inference jobs, the
# `containers:` section (step -> image) for images. See docs/cluster.md.
import os
import shutil

from genomic_icl.codeversion import backend_code_version, code_version
from genomic_icl.config import result_settings
from genomic_icl.models import BACKENDS
from genomic_icl.workflow import (
    cluster_default_account,
    export_library_path,
    export_model_cache,
    retry_request,
)

# Jobs import the library of this checkout, in containers and conda envs too
# (Apptainer passes the environment through; bind the checkout with --bind).
export_library_path(workflow.basedir)
# Planning (preflight) and every job use one model cache: config `model_cache`,
# default this shell's HF_HOME; exported as HF_HOME and bound into containers.
MODEL_CACHE = export_model_cache(config["model_cache"])
SLURM = config["slurm"]

# Software of each step: an image per step, a conda environment per step.
STEPS = ("cpu", "hf", "evo2")
STEP_OF_BACKEND = {"reference": "cpu", "hf": "hf", "evo2": "evo2"}
CONTAINERS = {
    **{step: f"containers/{step}.sif" for step in STEPS},
    **config.get("containers", {}),
}

# Inference resources of a model entry without its own (CPU reference learners).
MODEL_RESOURCE_DEFAULTS = {"gpu": 0, "mem_mb": 4000, "runtime": 60, "cpus_per_task": 2}


def _image(ref):
    """A registry URI as it is; a local image path relative to the repository."""
    if "://" in ref or os.path.isabs(ref):
        return ref
    return os.path.join(workflow.basedir, ref)


def step_container(step):
    """The image of a step (config `containers:`, default containers/STEP.sif)."""
    return _image(CONTAINERS[step])


def step_conda(step):
    """The conda environment file of a step."""
    return os.path.join(workflow.basedir, "envs", f"{step}.yaml")


def model_step(model):
    """cpu, hf or evo2: which software a model's inference needs."""
    return STEP_OF_BACKEND.get(MODELS[model]["backend"], "cpu")


def inference_container(wildcards):
    """A model's image: its `resources: container:` if set, else its step's."""
    own = MODELS[wildcards.model].get("resources", {}).get("container")
    return _image(own) if own else step_container(model_step(wildcards.model))


def inference_conda(wildcards):
    return step_conda(model_step(wildcards.model))


def attempt_scaled(base):
    """Resource callable: ``base`` on the first attempt, more on each retry."""
    return lambda wildcards, attempt: retry_request(base, attempt)


def inference_resource(key, scaled=False):
    """Resource callable reading a model entry's `resources:` (or the default);
    ``scaled``: grown on retries up to the entry's or the config's cap."""

    def get(wildcards, attempt):
        own = MODELS[wildcards.model].get("resources", {})
        value = own.get(key, MODEL_RESOURCE_DEFAULTS[key])
        cap = own.get(f"max_{key}", SLURM.get(f"max_{key}"))
        return retry_request(value, attempt, cap) if scaled else value

    return get


def model_gpus(model):
    return int(MODELS[model].get("resources", {}).get("gpu", 0))


def inference_gpu_resources():
    """How inference jobs ask for their GPUs (config slurm.gpu_request): the
    `gpu` resource (sbatch --gpus=N, needs select/cons_tres) or a `gres` of
    gpu:N (sbatch --gres=gpu:N, any cluster with GPUs as generic resources)."""
    if SLURM["gpu_request"] == "gres":
        return {
            "gres": lambda w: (
                f"gpu:{model_gpus(w.model)}" if model_gpus(w.model) else ""
            )
        }
    return {"gpu": lambda w: model_gpus(w.model)}


def default_resource(name):
    """A default resource of the profile or command line (None if unset), under
    Snakemake's older (``.parsed``, 9.14) and newer (a mapping) DefaultResources."""
    defaults = workflow.resource_settings.default_resources
    if defaults is None:
        return None
    parsed = getattr(defaults, "parsed", None)
    value = parsed.get(name) if isinstance(parsed, dict) else None
    if parsed is None and name in defaults:
        value = defaults[name]
    return getattr(value, "value", value)


def set_default_resource(name, value):
    """Set a default resource of every job (see :func:`default_resource`)."""
    defaults = workflow.resource_settings.default_resources
    if hasattr(defaults, "set_resource"):
        defaults.set_resource(name, value)
    else:
        defaults[name] = value


def site_account():
    """The account of every job: config slurm.account, else the profile's or
    command line's default-resources, else the user's default account on the
    cluster (sacctmgr's DefaultAccount, asked once by the main Snakemake process
    where sacctmgr exists); "" where the cluster keeps no accounts. An empty
    account is not left to the SLURM plugin where avoidable: it would guess one
    from the user's last job."""
    if SLURM["account"]:
        return SLURM["account"]
    given = default_resource("slurm_account")
    if given:
        return str(given)
    # on a SLURM submit host only (the executor is not known yet while the Snakefile
    # is read); jobs get the account with the default resources they are sent
    if workflow.is_main_process and shutil.which("sacctmgr"):
        return cluster_default_account() or ""
    return ""


SITE_ACCOUNT = site_account()
if SITE_ACCOUNT and workflow.resource_settings.default_resources is not None:
    # every job's account, CPU steps included (rules name none of their own)
    set_default_resource("slurm_account", SITE_ACCOUNT)


def inference_site_resources():
    """slurm_partition / slurm_account of inference jobs. A model entry's own value
    wins; the partition of an entry without one is left to default-resources when
    no entry sets one, else "" (the cluster's default partition); the account of an
    entry without one is the site's account (site_account)."""
    out = {}
    if any("slurm_partition" in m.get("resources", {}) for m in MODELS.values()):
        out["slurm_partition"] = lambda w: str(
            MODELS[w.model].get("resources", {}).get("slurm_partition", "")
        )
    if any("slurm_account" in m.get("resources", {}) for m in MODELS.values()):
        out["slurm_account"] = lambda w: str(
            MODELS[w.model].get("resources", {}).get("slurm_account", SITE_ACCOUNT)
        )
    return out


def code_of(*scripts):
    """Fingerprint of scripts and the library modules they use (a param of rules),
    the library of this checkout when there is one, else the installed one."""
    pkg = os.path.join(workflow.basedir, "src", "genomic_icl")
    return code_version(
        *(os.path.join(workflow.basedir, s) for s in scripts),
        package_dir=pkg if os.path.isdir(pkg) else None,
    )


def model_settings(model):
    """The settings of a model entry that its predictions depend on (job resources and
    labels left out: changing a model's memory, GPUs, partition or image reruns nothing).
    """
    return result_settings(MODELS[model])


def predict_code(model):
    """Fingerprint of the inference script for one model: the library it uses and its
    backend's module, not the other backends' (editing models/hf.py reruns no evo2 model).
    """
    pkg = os.path.join(workflow.basedir, "src", "genomic_icl")
    return backend_code_version(
        os.path.join(workflow.basedir, "scripts/predict.py"),
        MODELS[model]["backend"],
        BACKENDS,
        package_dir=pkg if os.path.isdir(pkg) else None,
    )
