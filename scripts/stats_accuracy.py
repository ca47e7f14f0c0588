"""Snakemake glue: accuracy per (model, n) with cluster-bootstrap standard errors, and
the joint bootstrap's replicates for the tables that combine models."""

import pandas as pd

from genomic_icl.io import read_table, write_table, write_tsv
from genomic_icl.stats import accuracy_table, joint_bootstrap
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    scored = pd.concat([read_table(p) for p in snakemake.input], ignore_index=True)
    b = snakemake.params.bootstrap
    boot = joint_bootstrap(scored, b["replicates"], b["seed"])
    write_tsv(accuracy_table(scored, boot=boot), snakemake.output.accuracy)
    write_table(boot.to_frame(), snakemake.output.replicates)
