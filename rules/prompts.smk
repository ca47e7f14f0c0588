rule prompts:
    output:
        "results/prompts/{encoding}/n{n}.parquet",
    log:
        "logs/prompts/{encoding}/n{n}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/prompts.py"),
        seed=config["seed"],
        trials=config["trials"],
        functions=FUNCTIONS,
        alphabet=lambda w: config["encodings"][w.encoding]["alphabet"],
    script:
        "../scripts/prompts.py"
