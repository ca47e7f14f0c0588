# Statistics (docs/protocol.md §6, and the analyses beyond the paper): every table is a
# TSV in results/tables/, listed in the report under "Tables" with a caption naming its
# test.
# Library: genomic_icl.stats; scripts are thin glue.
SCORED = expand("results/scored/{model}.parquet", model=MODELS)
# the joint bootstrap's replicates of every (model, n) accuracy: one draw for all models,
# read by every rule whose SEs combine models (differences, family means, slopes)
REPLICATES = "results/bootstrap/accuracy_replicates.parquet"
# The table registry (genomic_icl.table_registry) lists every table with its builder
# (the genomic_icl.stats function a rule below runs) and caption; each rule's table
# outputs are those of its builder (table_outputs, rules/common.smk).
STATS_TARGETS = [spec.path for spec in TABLES.values()]


rule accuracy:
    input:
        SCORED,
    output:
        **table_outputs("bootstrap_tables"),
        replicates=REPLICATES,
    log:
        "logs/stats/accuracy.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/stats_accuracy.py"),
        bootstrap=config["bootstrap"],
    script:
        "../scripts/stats_accuracy.py"


rule stats_fits:
    input:
        accuracy=TABLES["accuracy"].path,
        replicates=REPLICATES,
    output:
        **table_outputs("accuracy_tables"),
    log:
        "logs/stats/fits.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(5),
    params:
        code=code_of("scripts/stats_fits.py"),
        models=model_labels(config["models"]),
        stats=config["stats"],
    script:
        "../scripts/stats_fits.py"


rule stats_trials:
    input:
        SCORED,
    output:
        **table_outputs("trial_tables"),
    log:
        "logs/stats/trials.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/stats_trials.py"),
        trials=config["trials"],
        power=config["power"],
        stats=config["stats"],
    script:
        "../scripts/stats_trials.py"


rule stats_breakdowns:
    input:
        SCORED,
    output:
        **table_outputs("breakdown_tables"),
    log:
        "logs/stats/breakdowns.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/stats_breakdowns.py"),
        bootstrap=config["bootstrap"],
    script:
        "../scripts/stats_breakdowns.py"


rule stats_paired:
    input:
        scored=SCORED,
        replicates=REPLICATES,
    output:
        **table_outputs("comparison_tables"),
    log:
        "logs/stats/paired.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/stats_paired.py"),
        bootstrap=config["bootstrap"],
        comparisons=config["stats"]["comparisons"],
    script:
        "../scripts/stats_paired.py"


# In-context loss (beyond the paper): bits per symbol against the oracle's posterior
# predictive, per output position, its fits, and the answer distribution's statistics;
# SEs from the joint bootstrap's draws (the accuracy rule's, redrawn from the same seed).
rule stats_loss:
    input:
        SCORED,
    output:
        **table_outputs("loss_tables"),
    log:
        "logs/stats/loss.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(10),
    params:
        code=code_of("scripts/stats_loss.py"),
        bootstrap=config["bootstrap"],
    script:
        "../scripts/stats_loss.py"


rule stats_all:
    input:
        STATS_TARGETS,
