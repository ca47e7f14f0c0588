rule score:
    input:
        prompts=lambda w: [prompts_path(w.model, n) for n in SHOTS],
        predictions=expand("results/predictions/{{model}}/n{n}.parquet", n=SHOTS),
    output:
        "results/scored/{model}.parquet",
    log:
        "logs/score/{model}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/score.py"),
    script:
        "../scripts/score.py"
