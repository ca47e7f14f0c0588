"""Running one model over one prompt table into one predictions file."""

from __future__ import annotations

import os
from typing import Any

from genomic_icl.io import read_table, write_table
from genomic_icl.learners import predict_bits
from genomic_icl.prompts import encode_bits
from genomic_icl.scoring import score


def predict_file(
    spec: dict[str, Any], prompts_path: str | os.PathLike, out_path: str | os.PathLike, seed: int
) -> None:
    """Predict every prompt of ``prompts_path`` with the model ``spec`` (a config
    model entry) and write the predictions table to ``out_path``."""
    prompts = read_table(prompts_path)
    if spec["backend"] != "reference":
        raise NotImplementedError(f"backend {spec['backend']!r}")
    pred = predict_bits(spec["checkpoint"], prompts, seed)
    continuations = [
        encode_bits(x, s0, s1) for x, s0, s1 in zip(pred, prompts["sym0"], prompts["sym1"])
    ]
    write_table(score(prompts, continuations, None, spec["name"]), out_path)
