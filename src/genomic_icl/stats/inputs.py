"""What the statistics read besides scored results: model metadata from the config's
model entries (:func:`genomic_icl.metadata.model_metadata`, shared with planning and
figures), the published Table 4, and an external accuracy table."""

from __future__ import annotations

import pandas as pd

from genomic_icl.metadata import model_metadata

__all__ = ["load_table4", "model_metadata", "read_accuracy_tsv"]


def load_table4() -> pd.DataFrame:
    """The published Table 4 (v2) as ``model, family, params, n_shots,
    accuracy_percent, accuracy`` (accuracy a fraction); see ``data/table4.tsv``."""
    from importlib import resources

    with resources.files("genomic_icl").joinpath("data/table4.tsv").open("r") as fh:
        return pd.read_csv(fh, sep="\t", comment="#")


def read_accuracy_tsv(path: str) -> pd.DataFrame:
    """An accuracy TSV with at least ``model, n_shots, accuracy`` (fractions).

    Raises ``ValueError`` for missing columns, non-positive n, or accuracies outside
    [0, 1] (a table in percent must be divided by 100 first)."""
    df = pd.read_csv(path, sep="\t", comment="#")
    missing = {"model", "n_shots", "accuracy"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    if (df["n_shots"] <= 0).any():
        raise ValueError(f"{path}: n_shots must be positive")
    if ((df["accuracy"] < 0) | (df["accuracy"] > 1)).any():
        raise ValueError(f"{path}: accuracy must be a fraction in [0, 1] (percent? divide by 100)")
    df["model"] = df["model"].astype(str)
    return df
