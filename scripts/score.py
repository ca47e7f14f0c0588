"""Snakemake glue: join one model's predictions with its prompts and descriptors."""

import pandas as pd

from genomic_icl.io import read_table, write_table
from genomic_icl.scoring import scored_table
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    prompts = pd.concat([read_table(p) for p in snakemake.input.prompts], ignore_index=True)
    preds = pd.concat([read_table(p) for p in snakemake.input.predictions], ignore_index=True)
    write_table(scored_table(prompts, preds), snakemake.output[0])
