# Software of every job: the library and model cache its environment sees, and the
# Apptainer image (--sdm apptainer) or conda environment (--sdm conda) it runs in. One
# software step per image and environment (containers/STEP.def, envs/STEP.yaml): `cpu`
# for every job but inference, whose step is its backend's `software_step`
# (genomic_icl.models). Images come from the config's `containers:` section, default
# containers/STEP.sif. Logic: genomic_icl.deploy. See docs/cluster.md.
from genomic_icl.deploy import CPU_STEP, model_image, model_step, step_conda, step_image
from genomic_icl.workflow import export_library_path, export_model_cache

# Jobs import the library of this checkout, in containers and conda envs too
# (Apptainer passes the environment through; bind the checkout with --bind).
export_library_path(workflow.basedir)
# Planning (preflight) and every job use one model cache: config `model_cache`,
# default this shell's HF_HOME; exported as HF_HOME and bound into containers.
MODEL_CACHE = export_model_cache(config["model_cache"])
CONTAINERS = config.get("containers", {})


def step_container(step):
    """The image of a software step."""
    return step_image(step, CONTAINERS, workflow.basedir)


def inference_container(wildcards):
    """A model's image: its `resources: container:` if set, else its step's."""
    return model_image(MODELS[wildcards.model], CONTAINERS, workflow.basedir)


def inference_conda(wildcards):
    """The conda environment of a model's step."""
    return step_conda(model_step(MODELS[wildcards.model]), workflow.basedir)
