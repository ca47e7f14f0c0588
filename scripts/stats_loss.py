"""Snakemake glue: the in-context loss tables (bits per symbol against the oracle's
posterior predictive, per position, fits, answer distribution)."""

import pandas as pd

from genomic_icl.io import read_table
from genomic_icl.stats import loss_tables, write_tables
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input], ignore_index=True)
    b = snakemake.params.bootstrap
    tables = loss_tables(scored, b["replicates"], b["seed"])
    for row in tables["in_context_loss_fits"].itertuples():
        if pd.isna(row.slope):
            print(f"model {row.model}: {row.power_law}")
    write_tables("loss_tables", tables, snakemake.output)
