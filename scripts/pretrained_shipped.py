"""Snakemake glue: the shipped weights of the recipe, copied where training would write them."""

from genomic_icl.pretrain import install_shipped
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    summary = install_shipped(
        snakemake.input.weights, snakemake.output.model, snakemake.params.recipe
    )
    print(
        f"shipped weights of recipe {summary['recipe_digest']} copied from "
        f"{snakemake.input.weights} (trained in {summary['train_seconds']} s, "
        f"{summary['autocast']}, torch {summary['torch']}); "
        "`--config shipped_weights=False` trains them here instead"
    )
