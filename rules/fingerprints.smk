# What reruns a finished job, besides its inputs: the settings its outputs depend on
# and the fingerprint of its code, both passed as `params` (the `params` rerun trigger;
# Snakemake's own `code` trigger is off in profiles/default). A job's code is its
# script, the library modules the script imports (directly or through other modules),
# the plot modules the figure registry names, the package data those modules read and,
# for inference, its model's backend module with what it imports from its own package:
# genomic_icl.codeversion, and docs/extending.md ("What reruns when code changes").
from genomic_icl.codeversion import workflow_code_version
from genomic_icl.config import result_settings


def code_of(script):
    """Fingerprint of a script and the library modules it imports (a param of rules)."""
    return workflow_code_version(workflow.basedir, script)


def predict_code(model):
    """Fingerprint of the inference script for one model: the library it imports and
    its backend's module, not the other backends' (editing models/hf.py reruns no evo2
    model)."""
    return workflow_code_version(
        workflow.basedir, "scripts/predict.py", backend=MODELS[model]["backend"]
    )


def model_settings(model):
    """The settings of a model entry that its predictions depend on (job resources and
    labels left out: changing a model's memory, GPUs, partition or image reruns nothing).
    """
    return result_settings(MODELS[model])
