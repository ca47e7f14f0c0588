rule score:
    input:
        prompts=lambda w: [prompts_path(w.model, n) for n in SHOTS],
        predictions=expand("results/predictions/{{model}}/n{n}.parquet", n=SHOTS),
    output:
        "results/scored/{model}.parquet",
    log:
        "logs/score/{model}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/score.py"
