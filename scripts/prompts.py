"""Snakemake glue: write the prompt table of one encoding and shot count."""

from genomic_icl.io import write_table
from genomic_icl.prompts import Encoding, prompt_table
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    enc = Encoding(snakemake.wildcards.encoding, p.alphabet)
    table = prompt_table(p.functions, int(snakemake.wildcards.n), p.trials, enc, p.seed)
    write_table(table, snakemake.output[0])
    print(f"{len(table)} prompts written to {snakemake.output[0]}")
