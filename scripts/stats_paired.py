"""Snakemake glue: paired comparisons of models on shared prompts, from the joint
bootstrap's replicates."""

import pandas as pd

from genomic_icl.io import read_table, write_tsv
from genomic_icl.stats import JointBootstrap, paired_table
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input.scored], ignore_index=True)
    boot = JointBootstrap.from_frame(read_table(snakemake.input.replicates))
    b = snakemake.params.bootstrap
    write_tsv(
        paired_table(scored, snakemake.params.comparisons, b["replicates"], b["seed"], boot),
        snakemake.output[0],
    )
