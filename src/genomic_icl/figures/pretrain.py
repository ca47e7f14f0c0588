"""The loss curve of a pretrained model (not a registry figure: the pretraining rule
draws it)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from genomic_icl.figures.style import COLUMN_WIDTH, RC, save, series_style


def pretrain_loss(
    loss_tsv: str | Path, png: str | Path, pdf: str | Path | None = None, title: str | None = None
) -> None:
    """Pretraining loss (nats per nucleotide) and the copy probe against step, with
    phase boundaries (the ``loss.tsv`` of :func:`genomic_icl.pretrain.pretrain`)."""
    df = pd.read_csv(loss_tsv, sep="\t")
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.4))
        ax.plot(df["step"], df["loss"], lw=0.4, color="0.75", label="batch loss")
        smooth = df["loss"].rolling(25, min_periods=1).mean()
        ax.plot(df["step"], smooth, lw=1.2, color="0.0", label="running mean (25 steps)")
        probe = df.dropna(subset=["copy_loss"])
        if len(probe):
            ax.plot(
                probe["step"],
                probe["copy_loss"],
                **{**series_style(1), "markerfacecolor": "white"},
                label="copy probe (2nd copy of random 64-mers)",
            )
        ax.axhline(math.log(4), color="0.5", ls=":", lw=0.8, label="uniform over ACGT (ln 4)")
        for _, g in df.groupby("phase"):
            if g["step"].min() > 1:
                ax.axvline(g["step"].min() - 0.5, color="0.3", ls="-.", lw=0.6)
                ax.text(
                    g["step"].min(),
                    0.98,
                    f"context {int(g['context'].iloc[0])} ",
                    transform=ax.get_xaxis_transform(),
                    va="top",
                    ha="right",
                    fontsize=5.5,
                    color="0.3",
                )
        ax.set_xlabel("training step")
        ax.set_ylabel("next-nucleotide loss (nats)")
        ax.set_title(title or "Pretraining loss")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False)
        fig.tight_layout()
        save(fig, png, pdf)
