"""Snakemake glue: the accuracy-vs-shots figure."""

import pandas as pd

from genomic_icl.figures import accuracy_vs_shots, published_table4
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    accuracy = pd.read_csv(snakemake.input[0], sep="\t")
    reference = published_table4() if snakemake.params.reference else None
    accuracy_vs_shots(
        accuracy,
        snakemake.output.png,
        snakemake.output.pdf,
        reference=reference,
        title=f"m = {snakemake.params.trials} trials per function and n",
    )
