# Inference: every model answers every prompt table of its encoding.
# Preflight checks of every model entry run here, at planning time: unknown
# backends or models, missing checkpoint paths, weights missing from the cache
# while offline. They import nothing heavy (no torch, transformers or evo2), so a
# CPU login node plans the GPU jobs. Checks that need the job's machine (CUDA
# present, evo2 installed, FP8 support) run at the start of each job, before any
# weights are read.
from snakemake.exceptions import WorkflowError

from genomic_icl.models import BackendError
from genomic_icl.models import preflight as _preflight_model

for _m in config["models"]:
    try:
        _preflight_model(_m, config["encodings"][_m["encoding"]]["alphabet"])
    except BackendError as _err:
        raise WorkflowError(f"models: {_err}")


rule predict:
    input:
        unpack(predict_inputs),
    output:
        "results/predictions/{model}/n{n}.parquet",
    log:
        "logs/predict/{model}/n{n}.log",
    benchmark:
        "logs/benchmarks/predict/{model}/n{n}.tsv"
    conda:
        inference_conda
    container:
        inference_container
    threads: 2
    resources:
        **inference_site_resources(),
        gpu=inference_resource("gpu"),
        mem_mb=inference_resource("mem_mb", scaled=True),
        runtime=inference_resource("runtime", scaled=True),
        cpus_per_task=inference_resource("cpus_per_task"),
    params:
        code=code_of("scripts/predict.py"),
        model=lambda w: model_settings(w.model),
        seed=config["seed"],
    script:
        "../scripts/predict.py"
