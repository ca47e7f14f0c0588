rule accuracy:
    input:
        expand("results/scored/{model}.parquet", model=MODELS),
    output:
        "results/tables/accuracy.tsv",
    params:
        bootstrap=config["bootstrap"],
    log:
        "logs/stats/accuracy.log",
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/stats_accuracy.py"
