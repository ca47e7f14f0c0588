"""Snakemake glue: accuracy by BitLoad and by the target's BitDiversity."""

import pandas as pd

from genomic_icl.io import read_table
from genomic_icl.stats import breakdown_tables, write_tables
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input], ignore_index=True)
    b = snakemake.params.bootstrap
    tables = breakdown_tables(scored, b["replicates"], b["seed"])
    write_tables("breakdown_tables", tables, snakemake.output)
