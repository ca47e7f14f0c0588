"""Snakemake glue: one model answers one prompt table (resumable; see
genomic_icl.inference). The progress bar and any error go to the job log."""

from genomic_icl.inference import predict_file
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    predict_file(
        snakemake.params.model, snakemake.input.prompts, snakemake.output[0], snakemake.params.seed
    )
