"""Snakemake glue: the compared pairs (stats.comparisons): paired differences on shared
prompts, from the joint bootstrap's replicates, and the sign test over tasks."""

import pandas as pd

from genomic_icl.io import read_table
from genomic_icl.stats import JointBootstrap, comparison_tables, write_tables
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input.scored], ignore_index=True)
    boot = JointBootstrap.from_frame(read_table(snakemake.input.replicates))
    b = snakemake.params.bootstrap
    tables = comparison_tables(
        scored, snakemake.params.comparisons, b["replicates"], b["seed"], boot
    )
    write_tables("comparison_tables", tables, snakemake.output)
