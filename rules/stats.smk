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
    )
]


rule accuracy:
    input:
        SCORED,
    output:
        accuracy=report(
            "results/tables/accuracy.tsv",
            caption="../report/tables/accuracy.rst",
            category="Tables",
        ),
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
        fits=report(
            "results/tables/fits.tsv",
            caption="../report/tables/fits.rst",
            category="Tables",
        ),
        fits_vs_size=report(
            "results/tables/fits_vs_size.tsv",
            caption="../report/tables/fits_vs_size.rst",
            category="Tables",
        ),
        vs_mode=report(
            "results/tables/vs_mode.tsv",
            caption="../report/tables/vs_mode.rst",
            category="Tables",
        ),
        scaling=report(
            "results/tables/scaling.tsv",
            caption="../report/tables/scaling.rst",
            category="Tables",
        ),
        family_means=report(
            "results/tables/family_means.tsv",
            caption="../report/tables/family_means.rst",
            category="Tables",
        ),
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
        clustered_fits=report(
            "results/tables/clustered_fits.tsv",
            caption="../report/tables/clustered_fits.rst",
            category="Tables",
        ),
        per_task=report(
            "results/tables/per_task.tsv",
            caption="../report/tables/per_task.rst",
            category="Tables",
        ),
        mistakes=report(
            "results/tables/mistakes.tsv",
            caption="../report/tables/mistakes.rst",
            category="Tables",
        ),
        diversity_zero=report(
            "results/tables/diversity_zero.tsv",
            caption="../report/tables/diversity_zero.rst",
            category="Tables",
        ),
        power=report(
            "results/tables/power.tsv",
            caption="../report/tables/power.rst",
            category="Tables",
        ),
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
        bitload=report(
            "results/tables/bitload.tsv",
            caption="../report/tables/bitload.rst",
            category="Tables",
        ),
        target_diversity=report(
            "results/tables/target_diversity.tsv",
            caption="../report/tables/target_diversity.rst",
            category="Tables",
        ),
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
        report(
            "results/tables/paired.tsv",
            caption="../report/tables/paired.rst",
            category="Tables",
        ),
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


rule stats_all:
    input:
        STATS_TARGETS,
