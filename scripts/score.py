"""Snakemake glue: join one model's predictions with its prompts and descriptors,
each predictions table checked against its prompt table first."""

import pandas as pd

from genomic_icl.io import read_table, write_table
from genomic_icl.scoring import check_predictions, scored_table
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    prompts = [read_table(p) for p in snakemake.input.prompts]
    preds = [read_table(p) for p in snakemake.input.predictions]
    for p, q, path in zip(prompts, preds, snakemake.input.predictions, strict=True):
        check_predictions(p, q, path, model=snakemake.wildcards.model)
    prompts, preds = pd.concat(prompts, ignore_index=True), pd.concat(preds, ignore_index=True)
    write_table(scored_table(prompts, preds), snakemake.output[0])
