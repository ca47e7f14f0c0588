"""Model metadata from the config's model entries: the one table that planning,
statistics and figures read about the models (family, size, reference learner or not).

Planning reads the rows (:func:`model_rows`, pure Python: it runs where only Snakemake
is installed); statistics and figures the table (:func:`model_metadata`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("model", "family", "params", "reference")


def model_rows(models: Sequence[Mapping]) -> list[dict[str, Any]]:
    """Config model entries -> one row each: ``model, family, params, reference``
    (``params`` NaN when not given). Reference learners (backend ``reference``) get
    family ``reference``."""
    rows = []
    for m in models:
        ref = m.get("backend") == "reference"
        rows.append(
            {
                "model": m["name"],
                "family": "reference" if ref else m.get("family"),
                "params": float(m["params"]) if m.get("params") is not None else math.nan,
                "reference": ref,
            }
        )
    return rows


def model_metadata(models: Sequence[Mapping]) -> pd.DataFrame:
    """Config model entries -> DataFrame ``model, family, params, reference``
    (:func:`model_rows`)."""
    import pandas as pd

    return pd.DataFrame(model_rows(models), columns=list(COLUMNS))
