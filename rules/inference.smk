# Inference: every model answers every prompt table of its encoding, in one job per
# model that loads the weights once and writes one table per shot count. Tables
# whose prompts and model settings are unchanged are reused, not recomputed, when
# the job runs again (e.g. for an added shot count): genomic_icl.inference.
# Preflight checks of every model entry (unknown backends or models, missing checkpoint
# paths, weights missing from the cache while offline, tokenizers, context) run at
# planning, in rules/common.smk (genomic_icl.planning), with the estimated peak GPU
# memory of an entry asking for GPUs against their memory (genomic_icl.memory,
# slurm.gpu_memory_gb). Checks that need the job's machine (CUDA present, evo2
# installed, FP8 support) run at the start of each job, before any weights are read.


rule predict:
    input:
        unpack(predict_inputs),
    output:
        expand("results/predictions/{{model}}/n{n}.parquet", n=SHOTS),
    log:
        "logs/predict/{model}.log",
    benchmark:
        "logs/benchmarks/predict/{model}.tsv"
    conda:
        inference_conda
    container:
        inference_container
    threads: 2
    resources:
        **inference_site_resources(),
        **inference_gpu_resources(),
        mem_mb=inference_resource("mem_mb", scaled=True),
        runtime=inference_resource("runtime", scaled=True),
        cpus_per_task=inference_resource("cpus_per_task"),
    params:
        code=lambda w: predict_code(w.model),
        model=lambda w: model_settings(w.model),
        seed=config["seed"],
    script:
        "../scripts/predict.py"
