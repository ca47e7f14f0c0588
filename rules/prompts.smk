rule prompts:
    output:
        "results/prompts/{encoding}/n{n}.parquet",
    log:
        "logs/prompts/{encoding}/n{n}.log",
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        seed=config["seed"],
        trials=config["trials"],
        functions=FUNCTIONS,
        alphabet=lambda w: config["encodings"][w.encoding]["alphabet"],
    script:
        "../scripts/prompts.py"
