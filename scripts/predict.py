"""Snakemake glue: one model answers one prompt table."""

from genomic_icl.inference import predict_file
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    predict_file(
        snakemake.params.model, snakemake.input.prompts, snakemake.output[0], snakemake.params.seed
    )
