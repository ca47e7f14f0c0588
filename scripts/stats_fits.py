"""Snakemake glue: tables from the accuracy table and the joint bootstrap's replicates
(fits, fits vs size, vs mode, scaling, family means)."""

import pandas as pd

from genomic_icl.io import read_table
from genomic_icl.stats import JointBootstrap, accuracy_tables, model_metadata, write_tables
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    accuracy = pd.read_csv(snakemake.input.accuracy, sep="\t")
    boot = JointBootstrap.from_frame(read_table(snakemake.input.replicates))
    s = snakemake.params.stats
    meta = model_metadata(snakemake.params.models)
    tables = accuracy_tables(accuracy, meta, s["baseline"], s["alpha"], boot)
    write_tables("accuracy_tables", tables, snakemake.output)
