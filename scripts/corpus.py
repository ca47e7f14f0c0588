"""Snakemake glue: write the evolving-genome corpus of one pretrain recipe."""

from genomic_icl.corpus import CorpusRecipe, summarize, write_fasta
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    recipe = CorpusRecipe.from_mapping(snakemake.params.recipe)
    write_fasta(recipe, snakemake.output[0])
    print(f"corpus written to {snakemake.output[0]}: {recipe.to_dict()}")
    print(f"measured on the first 8 chromosomes: {summarize(recipe, 8)}")
