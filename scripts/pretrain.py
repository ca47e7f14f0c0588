"""Snakemake glue: pretrain the recipe's model on its corpus (resumes when interrupted)."""

from genomic_icl.pretrain import pretrain
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    summary = pretrain(
        snakemake.input.corpus,
        snakemake.output.model,
        snakemake.params.recipe,
        resume_dir=snakemake.params.resume,
        threads=snakemake.threads,
    )
    print({k: v for k, v in summary.items() if k != "recipe"})
