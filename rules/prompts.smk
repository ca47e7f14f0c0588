rule prompts:
    output:
        "results/prompts/{encoding}/n{n}.parquet",
    params:
        seed=config["seed"],
        trials=config["trials"],
        functions=FUNCTIONS,
        alphabet=lambda w: config["encodings"][w.encoding]["alphabet"],
    log:
        "logs/prompts/{encoding}/n{n}.log",
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/prompts.py"
