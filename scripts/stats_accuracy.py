"""Snakemake glue: accuracy per (model, n) with cluster-bootstrap standard errors, and
the joint bootstrap's replicates for the tables that combine models."""

import pandas as pd

from genomic_icl.io import read_table, write_table
from genomic_icl.stats import bootstrap_tables, joint_bootstrap, write_tables
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input], ignore_index=True)
    b = snakemake.params.bootstrap
    boot = joint_bootstrap(scored, b["replicates"], b["seed"])
    write_tables("bootstrap_tables", bootstrap_tables(scored, boot), snakemake.output)
    write_table(boot.to_frame(), snakemake.output.replicates)
