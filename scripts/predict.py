"""Snakemake glue: one model answers its prompt tables of every shot count, loading
its weights once (resumable, unchanged tables reused; see genomic_icl.inference).
The progress bar and any error go to the job log."""

from genomic_icl.inference import predict_files
from genomic_icl.workflow import job_gpus, logged

# the GPUs the job asked for: a GPU model refuses to run without them
spec = {**snakemake.params.model, "resources": {"gpu": job_gpus(snakemake.resources)}}
with logged(snakemake.log[0]):
    jobs = list(zip(snakemake.input.prompts, snakemake.output, strict=True))
    predict_files(spec, jobs, snakemake.params.seed, code=snakemake.params.code)
