# Statistics (docs/protocol.md §6, and the analyses beyond the paper): every table is a
# TSV in results/tables/, listed in the report under "Tables" with a caption naming its
# test.
# Library: genomic_icl.stats; scripts are thin glue.
SCORED = expand("results/scored/{model}.parquet", model=MODELS)
TABLES = "results/tables/{}.tsv"
# the joint bootstrap's replicates of every (model, n) accuracy: one draw for all models,
# read by every rule whose SEs combine models (differences, family means, slopes)
REPLICATES = "results/bootstrap/accuracy_replicates.parquet"


STATS_TARGETS = [
    TABLES.format(name)
    for name in (
        "accuracy",
        "fits",
        "fits_vs_size",
        "vs_mode",
        "scaling",
        "family_means",
        "clustered_fits",
        "per_task",
        "mistakes",
        "diversity_zero",
        "power",
        "bitload",
        "target_diversity",
        "paired",
        "in_context_loss",
        "in_context_loss_positions",
        "in_context_loss_fits",
        "answer_distribution",
    )
]


rule accuracy:
    input:
        SCORED,
    output:
        accuracy=table_output("accuracy"),
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
        accuracy=TABLES.format("accuracy"),
        replicates=REPLICATES,
    output:
        fits=table_output("fits"),
        fits_vs_size=table_output("fits_vs_size"),
        vs_mode=table_output("vs_mode"),
        scaling=table_output("scaling"),
        family_means=table_output("family_means"),
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
        clustered_fits=table_output("clustered_fits"),
        per_task=table_output("per_task"),
        mistakes=table_output("mistakes"),
        diversity_zero=table_output("diversity_zero"),
        power=table_output("power"),
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
        bitload=table_output("bitload"),
        target_diversity=table_output("target_diversity"),
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
        table_output("paired"),
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
        in_context_loss=table_output("in_context_loss"),
        in_context_loss_positions=table_output("in_context_loss_positions"),
        in_context_loss_fits=table_output("in_context_loss_fits"),
        answer_distribution=table_output("answer_distribution"),
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
