"""Snakemake glue: accuracy per (model, n) with cluster-bootstrap standard errors."""

import pandas as pd

from genomic_icl.io import read_table, write_tsv
from genomic_icl.stats import accuracy_table
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input], ignore_index=True)
    b = snakemake.params.bootstrap
    write_tsv(accuracy_table(scored, b["replicates"], b["seed"]), snakemake.output[0])
