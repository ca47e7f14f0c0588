# Deployment of every rule: what its jobs ask a cluster for (resources), the
# software they run in (an Apptainer image with --sdm apptainer, a conda
# environment with --sdm conda) and the fingerprint of their code. All of it
# comes from the config: a model entry's `resources:` for inference jobs, the
# `containers:` section (step -> image) for images. See docs/cluster.md.
import os

from genomic_icl.codeversion import code_version
from genomic_icl.workflow import export_library_path

# Jobs import the library of this checkout, in containers and conda envs too
# (Apptainer passes the environment through; bind the checkout with --bind).
export_library_path(workflow.basedir)

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


def grown(base, attempt):
    """A memory or time request for the given attempt: +50% per retry."""
    return int(base * (1 + 0.5 * (attempt - 1)))


def attempt_scaled(base):
    """Resource callable: ``base`` on the first attempt, more on each retry."""
    return lambda wildcards, attempt: grown(base, attempt)


def inference_resource(key, scaled=False):
    """Resource callable reading a model entry's `resources:` (or the default)."""

    def get(wildcards, attempt):
        own = MODELS[wildcards.model].get("resources", {})
        value = own.get(key, MODEL_RESOURCE_DEFAULTS[key])
        return grown(value, attempt) if scaled else value

    return get


def inference_site_resources():
    """slurm_partition / slurm_account of inference jobs, for the keys that some
    model entry sets. A key no entry sets is left to the profile's or the command
    line's default-resources (rules' own resources would override those); a model
    without the key then gets "" (the cluster's default partition, no account)."""
    keys = ("slurm_partition", "slurm_account")
    used = [
        k for k in keys if any(k in m.get("resources", {}) for m in MODELS.values())
    ]

    def getter(key):
        return lambda wildcards: str(
            MODELS[wildcards.model].get("resources", {}).get(key, "")
        )

    return {key: getter(key) for key in used}


def code_of(*scripts):
    """Fingerprint of scripts and the library modules they use (a param of rules),
    the library of this checkout when there is one, else the installed one."""
    pkg = os.path.join(workflow.basedir, "src", "genomic_icl")
    return code_version(
        *(os.path.join(workflow.basedir, s) for s in scripts),
        package_dir=pkg if os.path.isdir(pkg) else None,
    )


# Keys of a model entry that cannot change its predictions: job resources and
# labels for figures. Inference params leave them out, so changing a model's
# memory, GPUs, partition or image reruns nothing.
NOT_RESULT_KEYS = ("resources", "params", "family")


def model_settings(model):
    """The settings of a model entry that its predictions depend on."""
    return {k: v for k, v in MODELS[model].items() if k not in NOT_RESULT_KEYS}


# Every rule without an image of its own runs in the CPU image (--sdm apptainer).
container: step_container("cpu")
