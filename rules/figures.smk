# Figures (analogues of docs/protocol.md §7 and the extra analyses), PNG for the report
# and PDF for a paper. The registry genomic_icl.figure_registry holds one entry per
# figure kind (tables, plot function, caption, category, planning); figure_plan decides
# from the config's models which figures exist (e.g. Fig. 2c needs two families with
# sizes). Below, one rule per registry entry, `figure_{kind}`, draws the planned stems of
# its kind with the shared glue script. Planning imports no plotting library.
from pathlib import Path

from genomic_icl.figure_registry import (
    FIGURES,
    figure_inputs,
    figure_plan,
    stem_choices,
)

FIGURE_PLAN = figure_plan(
    config["models"], config["figures"], SHOTS, config["stats"]["baseline"]
)
FIGURE_TARGETS = [
    f"results/figures/{stem}.{ext}" for stem in FIGURE_PLAN for ext in ("png", "pdf")
]


FIGURE_PARAMS = dict(
    stem=lambda w, output: Path(output.png).stem,
    entry=lambda w, output: FIGURE_PLAN[Path(output.png).stem],
    models=model_labels(config["models"]),
    reference=config["reference_curves"],
    reference_names=config["figures"]["reference_names"],
    n_functions=len(FUNCTIONS),
    trials=config["trials"],
)
FIGURE_RESOURCES = dict(mem_mb=attempt_scaled(1500), runtime=attempt_scaled(10))


# One rule per figure kind of the registry; each matches only the stems planned for
# its kind (a kind with none planned matches nothing). A loop of named rules rather than
# `use rule ... as ... with:` blocks: `use rule` takes a literal rule name (a `name:`
# in its with-block is ignored in Snakemake 9), so each figure would need a block here.
for fig in FIGURES.values():

    rule:
        name:
            fig.rule
        input:
            **figure_inputs(fig.kind),
        output:
            png=report(
                "results/figures/{stem}.png",
                caption=f"../report/figures/{fig.caption}",
                category=fig.category,
            ),
            pdf="results/figures/{stem}.pdf",
        log:
            "logs/figures/{stem}.log",
        wildcard_constraints:
            stem=stem_choices(FIGURE_PLAN, fig.kind),
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
