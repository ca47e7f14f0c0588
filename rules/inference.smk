rule predict:
    input:
        prompts=lambda w: prompts_path(w.model, w.n),
    output:
        "results/predictions/{model}/n{n}.parquet",
    params:
        model=lambda w: MODELS[w.model],
        seed=config["seed"],
    log:
        "logs/predict/{model}/n{n}.log",
    script:
        "../scripts/predict.py"
