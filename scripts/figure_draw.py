"""Snakemake glue: draw one figure of genomic_icl.figure_registry.figure_plan from its
tables."""

import pandas as pd

from genomic_icl.figures import draw, published_table4
from genomic_icl.metadata import model_metadata
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    tables = {name: pd.read_csv(path, sep="\t") for name, path in snakemake.input.items()}
    draw(
        p.stem,
        p.entry,
        tables,
        snakemake.output.png,
        snakemake.output.pdf,
        meta=model_metadata(p.models),
        reference=published_table4() if p.reference else None,
        reference_map=p.reference_names,
        n_functions=p.n_functions,
        trials=p.trials,
    )
