"""Snakemake glue: the loss curve of a pretrained model."""

from pathlib import Path

from genomic_icl.figures import pretrain_loss
from genomic_icl.workflow import logged

with logged(snakemake.log[0]):
    pretrain_loss(
        Path(snakemake.input.model) / "loss.tsv",
        snakemake.output.png,
        snakemake.output.pdf,
        title=f"Pretraining loss: {snakemake.wildcards.pretrained}",
    )
