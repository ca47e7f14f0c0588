"""Reference learners on hand-built cases."""

import numpy as np
import pandas as pd

from genomic_icl.functions import FUNCTION_NAMES, get_function
from genomic_icl.learners import mode_predict, oracle_posterior, oracle_predict, predict_bits
from genomic_icl.prompts import Encoding, prompt_table


def rng(seed=0):
    return np.random.default_rng(seed)


def test_mode_takes_the_most_frequent_output():
    assert mode_predict(np.array([5, 7, 5, 9]), rng()) == 5


def test_mode_breaks_ties_at_random_and_by_seed():
    picks = {mode_predict(np.array([3, 8]), rng(s)) for s in range(50)}
    assert picks == {3, 8}
    assert mode_predict(np.array([3, 8]), rng(4)) == mode_predict(np.array([3, 8]), rng(4))


def test_oracle_identifies_identity_from_enough_examples():
    xs = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 255, 170])
    assert oracle_predict(xs, xs, 77, rng()) == 77


def test_oracle_posterior_counts_consistent_functions():
    # one demonstration 00000000 -> 00000000: every function mapping 0 to 0 is
    # consistent, plus meta_constant with weight 1/256
    values, weights = oracle_posterior(np.array([0]), np.array([0]), 0b11110000)
    consistent = [
        n for n in FUNCTION_NAMES if n != "meta_constant" and get_function(n).table()[0] == 0
    ]
    assert weights.sum() == len(consistent) + 1 / 256
    expected = {}
    for n in consistent:
        y = int(get_function(n).table()[0b11110000])
        expected[y] = expected.get(y, 0) + 1
    expected[0] = expected.get(0, 0) + 1 / 256
    assert dict(zip(values.tolist(), weights.tolist(), strict=True)) == expected


def test_oracle_constant_outputs():
    # all outputs equal and no deterministic function explains them: meta_constant
    xs = np.array([3, 200, 17])
    ys = np.array([0b01011010] * 3)
    assert oracle_predict(xs, ys, 99, rng()) == 0b01011010


def test_predict_bits_on_a_table_is_deterministic_and_the_oracle_wins():
    table = prompt_table(FUNCTION_NAMES, 32, 2, Encoding("genomic", "ACGT"), seed=1)
    oracle = predict_bits("oracle", table, seed=3)
    mode = predict_bits("mode", table, seed=3)
    assert (oracle == predict_bits("oracle", table, seed=3)).all()
    target = table["target_bits"].to_numpy()
    assert (oracle == target).mean() > 0.9 > (mode == target).mean()
    # a prediction does not depend on the other rows of the table
    assert predict_bits("mode", table.iloc[[5]], seed=3)[0] == mode[5]


def test_unknown_learner():
    import pytest

    with pytest.raises(ValueError, match="unknown reference learner 'best'"):
        predict_bits("best", pd.DataFrame(), 0)
