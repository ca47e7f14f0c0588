"""What the statistics read besides scored results: model metadata from the config's
model entries (:func:`genomic_icl.metadata.model_metadata`, shared with planning and
figures), the published Table 4, and an external accuracy table."""

from __future__ import annotations

import numpy as np
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

    Raises ``ValueError`` naming the file, line and column for missing columns, empty
    or non-numeric cells, n that is not a positive whole number, accuracies outside
    [0, 1] (a table in percent must be divided by 100 first), and a (model, n_shots)
    given twice (a fit would count it as two points)."""
    df = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)
    missing = {"model", "n_shots", "accuracy"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    if df.empty:
        raise ValueError(f"{path}: no rows")
    line = df.index + 2  # the header is line 1 (comment lines aside)
    for col in ("model", "n_shots", "accuracy"):
        empty = df[col].str.strip() == ""
        if empty.any():
            raise ValueError(f"{path}: empty {col} cell on line {line[empty][0]}")
    for col in ("n_shots", "accuracy"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values)
        if bad.any():
            first = bad.to_numpy().nonzero()[0][0]
            raise ValueError(
                f"{path}: {col} {df[col].iloc[first]!r} on line {line[first]} is not a number"
            )
        df[col] = values
    if ((df["n_shots"] <= 0) | (df["n_shots"] % 1 != 0)).any():
        raise ValueError(f"{path}: n_shots must be positive whole numbers")
    df["n_shots"] = df["n_shots"].astype("int64")
    if ((df["accuracy"] < 0) | (df["accuracy"] > 1)).any():
        raise ValueError(f"{path}: accuracy must be a fraction in [0, 1] (percent? divide by 100)")
    twice = df.duplicated(["model", "n_shots"], keep=False)
    if twice.any():
        first = df[twice].iloc[0]
        raise ValueError(
            f"{path}: model {first['model']!r} has n_shots {first['n_shots']} on more than one "
            "line; give one accuracy per (model, n_shots)"
        )
    return df
