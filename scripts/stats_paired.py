"""Snakemake glue: paired comparisons of models on shared prompts."""

import pandas as pd

from genomic_icl.io import read_table, write_tsv
from genomic_icl.stats import paired_table
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input], ignore_index=True)
    b = snakemake.params.bootstrap
    write_tsv(
        paired_table(scored, snakemake.params.comparisons, b["replicates"], b["seed"]),
        snakemake.output[0],
    )
