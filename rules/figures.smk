# Figures (analogues of docs/protocol.md §7 and the extra analyses), PNG for the report
# and PDF for a paper. genomic_icl.figures.figure_plan decides from the config's models
# which figures exist (e.g. Fig. 2c needs two families with sizes); each rule below draws
# one figure family with the shared glue script and its own caption in report/figures/.
from pathlib import Path

from genomic_icl.figures import figure_inputs, figure_plan, plan_choices


report: "../report/workflow.rst"


FIGURE_PLAN = figure_plan(config["models"], config["figures"], SHOTS)
FIGURE_TARGETS = [
    f"results/figures/{stem}.{ext}" for stem in FIGURE_PLAN for ext in ("png", "pdf")
]


wildcard_constraints:
    family=plan_choices(FIGURE_PLAN, "fig2_accuracy_"),
    group=plan_choices(FIGURE_PLAN, "fig7-10_bitload_"),
    by="bitload|diversity",


FIGURE_PARAMS = dict(
    stem=lambda w, output: Path(output.png).stem,
    entry=lambda w, output: FIGURE_PLAN[Path(output.png).stem],
    models=config["models"],
    reference=config["reference_curves"],
    reference_names=config["figures"]["reference_names"],
    n_functions=len(FUNCTIONS),
    trials=config["trials"],
)
FIGURE_RESOURCES = dict(mem_mb=attempt_scaled(1500), runtime=attempt_scaled(10))


rule figure_accuracy:
    input:
        **figure_inputs("accuracy"),
    output:
        png=report(
            "results/figures/accuracy_vs_shots.png",
            caption="../report/figures/accuracy_vs_shots.rst",
            category="Accuracy",
        ),
        pdf="results/figures/accuracy_vs_shots.pdf",
    log:
        "logs/figures/accuracy_vs_shots.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_family:
    input:
        **figure_inputs("family"),
    output:
        png=report(
            "results/figures/fig2_accuracy_{family}.png",
            caption="../report/figures/fig2_family.rst",
            category="Accuracy",
        ),
        pdf="results/figures/fig2_accuracy_{family}.pdf",
    log:
        "logs/figures/fig2_accuracy_{family}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_pairs:
    input:
        **figure_inputs("pairs"),
    output:
        png=report(
            "results/figures/fig2c_size_matched.png",
            caption="../report/figures/fig2c_size_matched.rst",
            category="Accuracy",
        ),
        pdf="results/figures/fig2c_size_matched.pdf",
    log:
        "logs/figures/fig2c_size_matched.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_family_means:
    input:
        **figure_inputs("family_means"),
    output:
        png=report(
            "results/figures/fig2d_family_means.png",
            caption="../report/figures/fig2d_family_means.rst",
            category="Accuracy",
        ),
        pdf="results/figures/fig2d_family_means.pdf",
    log:
        "logs/figures/fig2d_family_means.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_params:
    input:
        **figure_inputs("params"),
    output:
        png=report(
            "results/figures/fig3_accuracy_vs_params.png",
            caption="../report/figures/fig3_accuracy_vs_params.rst",
            category="Scaling",
        ),
        pdf="results/figures/fig3_accuracy_vs_params.pdf",
    log:
        "logs/figures/fig3_accuracy_vs_params.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_bitload_comparison:
    input:
        **figure_inputs("bitload_compare"),
    output:
        png=report(
            "results/figures/fig4_bitload_comparison.png",
            caption="../report/figures/fig4_bitload_comparison.rst",
            category="Breakdowns",
        ),
        pdf="results/figures/fig4_bitload_comparison.pdf",
    log:
        "logs/figures/fig4_bitload_comparison.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_fits:
    input:
        **figure_inputs("fits"),
    output:
        png=report(
            "results/figures/fig5_loglinear_fits.png",
            caption="../report/figures/fig5_loglinear_fits.rst",
            category="Scaling",
        ),
        pdf="results/figures/fig5_loglinear_fits.pdf",
    log:
        "logs/figures/fig5_loglinear_fits.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_mistakes:
    input:
        **figure_inputs("mistakes"),
    output:
        png=report(
            "results/figures/fig6_understandable_mistakes.png",
            caption="../report/figures/fig6_understandable_mistakes.rst",
            category="Errors",
        ),
        pdf="results/figures/fig6_understandable_mistakes.pdf",
    log:
        "logs/figures/fig6_understandable_mistakes.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_breakdown:
    input:
        unpack(
            lambda w: figure_inputs(
                "breakdown_bitload" if w.by == "bitload" else "breakdown_diversity"
            )
        ),
    output:
        png=report(
            "results/figures/fig7-10_{by}_{group}.png",
            caption="../report/figures/fig7_10_breakdown.rst",
            category="Breakdowns",
        ),
        pdf="results/figures/fig7-10_{by}_{group}.pdf",
    log:
        "logs/figures/fig7-10_{by}_{group}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_diversity_zero:
    input:
        **figure_inputs("diversity_zero"),
    output:
        png=report(
            "results/figures/fig11_diversity_zero.png",
            caption="../report/figures/fig11_diversity_zero.rst",
            category="Errors",
        ),
        pdf="results/figures/fig11_diversity_zero.pdf",
    log:
        "logs/figures/fig11_diversity_zero.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_task_heatmap:
    input:
        **figure_inputs("task_heatmap"),
    output:
        png=report(
            "results/figures/task_heatmap.png",
            caption="../report/figures/task_heatmap.rst",
            category="Breakdowns",
        ),
        pdf="results/figures/task_heatmap.pdf",
    log:
        "logs/figures/task_heatmap.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figure_paired:
    input:
        **figure_inputs("paired"),
    output:
        png=report(
            "results/figures/paired_differences.png",
            caption="../report/figures/paired_differences.rst",
            category="Comparisons",
        ),
        pdf="results/figures/paired_differences.pdf",
    log:
        "logs/figures/paired_differences.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"


rule figures_all:
    input:
        FIGURE_TARGETS,


rule figure_task_comparison:
    input:
        **figure_inputs("task_comparison"),
    output:
        png=report(
            "results/figures/task_comparison.png",
            caption="../report/figures/task_comparison.rst",
            category="Comparisons",
        ),
        pdf="results/figures/task_comparison.pdf",
    log:
        "logs/figures/task_comparison.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        **FIGURE_RESOURCES,
    params:
        **FIGURE_PARAMS,
        code=code_of("scripts/figure_draw.py"),
    script:
        "../scripts/figure_draw.py"
