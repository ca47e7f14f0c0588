"""Model metadata from the config's model entries: the one table that planning,
statistics and figures read about the models (family, size, reference learner or not).

Light on purpose (pandas and numpy only): the workflow's planning imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def model_metadata(models: Sequence[Mapping]) -> pd.DataFrame:
    """Config model entries -> DataFrame ``model, family, params, reference``.

    Reference learners (backend ``reference``) get family ``reference``."""
    rows = []
    for m in models:
        ref = m.get("backend") == "reference"
        rows.append(
            {
                "model": m["name"],
                "family": "reference" if ref else m.get("family"),
                "params": float(m["params"]) if m.get("params") is not None else np.nan,
                "reference": ref,
            }
        )
    return pd.DataFrame(rows, columns=["model", "family", "params", "reference"])
