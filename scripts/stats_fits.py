"""Snakemake glue: tables from the accuracy table (fits, fits vs size, vs mode, scaling)."""

import pandas as pd

from genomic_icl.io import write_tsv
from genomic_icl.stats import accuracy_tables, model_metadata
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    accuracy = pd.read_csv(snakemake.input[0], sep="\t")
    s = snakemake.params.stats
    tables = accuracy_tables(
        accuracy, model_metadata(snakemake.params.models), s["baseline"], s["alpha"]
    )
    for name, path in snakemake.output.items():
        write_tsv(tables[name], path)
