"""The ``reference`` backend: the mode baseline and the Bayes-optimal oracle.

``checkpoint:`` names the learner (``mode`` or ``oracle``). The learners work on
bits (:func:`genomic_icl.learners.predict_bits`); their answers are written back
in each prompt's symbols so that :func:`genomic_icl.scoring.score` treats them
like any model's continuation. Their probabilities come from their answer
distributions (:func:`genomic_icl.learners.answer_distributions`): log P(target),
the per-position log-probabilities and all 256 answer log-probabilities, exact (the
oracle's posterior predictive; mode's smoothed frequencies), never a tie-break.
"""

from __future__ import annotations

from typing import Any

from genomic_icl.learners import LEARNERS
from genomic_icl.models.base import Backend, BackendError, Continuations


class ReferenceBackend(Backend):
    name = "reference"
    software_step = "cpu"
    uses_gpu = False  # pure NumPy: a GPU request (tests of the scheduler) is ignored

    @classmethod
    def hub_repo(cls, spec: dict[str, Any]) -> str | None:
        return None  # the learners are code, not weights

    @classmethod
    def preflight(cls, spec: dict[str, Any]) -> None:
        if spec.get("checkpoint") not in LEARNERS:
            raise BackendError(
                f"model {spec.get('name')!r}: unknown reference learner "
                f"{spec.get('checkpoint')!r} (checkpoint must be one of {', '.join(LEARNERS)})"
            )

    def __init__(self, spec: dict[str, Any], seed: int = 0) -> None:
        super().__init__(spec, seed)
        self.preflight(spec)

    def run(self, batch) -> Continuations:
        import numpy as np

        from genomic_icl.learners import answer_distributions, predict_bits, prefix_logprobs
        from genomic_icl.prompts import encode_bits

        learner = self.spec["checkpoint"]
        pred = predict_bits(learner, batch, self.seed)
        text = [
            encode_bits(int(x), s0, s1)
            for x, s0, s1 in zip(pred, batch["sym0"], batch["sym1"], strict=True)
        ]
        probs = answer_distributions(learner, batch)
        target = batch["target_bits"].to_numpy(np.int64)
        with np.errstate(divide="ignore"):
            answer = np.log(probs)
        positions = prefix_logprobs(probs, target)
        logprob = answer[np.arange(len(target)), target]
        return Continuations(text, logprob, position_logprobs=positions, answer_logprobs=answer)
