"""Snakemake glue: trial-level tables (clustered fits, per task, mistakes, BitDiversity 0,
power note)."""

import pandas as pd

from genomic_icl.io import read_table
from genomic_icl.stats import trial_tables, write_tables
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input], ignore_index=True)
    tables = trial_tables(
        scored, snakemake.params.trials, snakemake.params.power, snakemake.params.stats["alpha"]
    )
    write_tables("trial_tables", tables, snakemake.output)
