"""Reference learners on hand-built cases."""

import numpy as np
import pandas as pd
import pytest

from genomic_icl.functions import FUNCTION_NAMES, get_function
from genomic_icl.learners import (
    answer_distributions,
    mode_distribution,
    mode_predict,
    oracle_distribution,
    oracle_posterior,
    oracle_predict,
    predict_bits,
    prefix_logprobs,
)
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
    with pytest.raises(ValueError, match="unknown reference learner 'best'"):
        predict_bits("best", pd.DataFrame(), 0)


# -- answer distributions (the in-context loss) ------------------------------------------


def _brute_force_posterior(xs, ys, q):
    """The oracle's posterior predictive by enumeration of the 100 functions, each with
    prior 1/100; meta_constant's constant uniform over the 256 outputs, so that it
    explains equal outputs with likelihood 1/256 (an independent route to §5's weights)."""
    p = np.zeros(256)
    for name in FUNCTION_NAMES:
        f = get_function(name)
        if f.uses_constant:
            for c in range(256):
                out = f.apply(np.append(xs, q), c)
                if (out[:-1] == ys).all():
                    p[out[-1]] += 1 / 256
        else:
            out = f.apply(np.append(xs, q))
            if (out[:-1] == ys).all():
                p[out[-1]] += 1
    return p / p.sum()


@pytest.mark.parametrize("n", [1, 2, 8])
def test_oracle_distribution_matches_brute_force(n):
    names = ["identity", "meta_constant", "rotl1", "majority", "left_half", "parity_fill"]
    table = prompt_table(names, n, 2, Encoding("genomic", "ACGT"), seed=5)
    probs = answer_distributions("oracle", table)
    assert probs.shape == (len(table), 256)
    for row, p in zip(table.itertuples(), probs, strict=True):
        xs, ys = np.asarray(row.demo_inputs), np.asarray(row.demo_outputs)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(p, _brute_force_posterior(xs, ys, row.query), atol=1e-12)
        assert p[row.target_bits] > 0  # the true function is always consistent


def test_oracle_distribution_weighs_meta_constant_by_1_over_256():
    # demonstrations 0 -> 0 and 255 -> 0: outputs equal, so meta_constant (1/256) and
    # every deterministic function mapping both to 0 explain them
    xs, ys, q = np.array([0, 255]), np.array([0, 0]), 7
    tables = [get_function(n).table() for n in FUNCTION_NAMES if n != "meta_constant"]
    consistent = [t for t in tables if t[0] == 0 and t[255] == 0]
    p = oracle_distribution(xs, ys, q)
    total = len(consistent) + 1 / 256
    expect_zero = (sum(t[q] == 0 for t in consistent) + 1 / 256) / total
    assert p[0] == pytest.approx(expect_zero)
    # with unequal outputs meta_constant drops out
    p2 = oracle_distribution(np.array([0, 255]), np.array([0, 255]), q)
    cons2 = [t for t in tables if t[0] == 0 and t[255] == 255]
    assert p2[q] == pytest.approx(sum(t[q] == q for t in cons2) / len(cons2))


def test_mode_distribution_is_smoothed_frequency_with_mode_as_argmax():
    p = mode_distribution(np.array([5, 7, 5]))
    assert p.sum() == pytest.approx(1.0)
    assert p[5] == pytest.approx(2.5 / (3 + 128)) and p[7] == pytest.approx(1.5 / 131)
    assert p[0] == pytest.approx(0.5 / 131)
    assert int(np.argmax(p)) == mode_predict(np.array([5, 7, 5]), rng())


def test_greedy_answers_lie_in_the_argmax_of_the_distributions():
    table = prompt_table(FUNCTION_NAMES[:30], 4, 2, Encoding("genomic", "ACGT"), seed=2)
    for learner in ("mode", "oracle"):
        probs = answer_distributions(learner, table)
        pred = predict_bits(learner, table, seed=9)
        chosen = probs[np.arange(len(pred)), pred]
        np.testing.assert_allclose(chosen, probs.max(axis=1))


def test_prefix_logprobs_sum_to_the_target_and_condition_on_the_prefix():
    r = np.random.default_rng(1)
    p = r.dirichlet(np.ones(256), size=5)
    target = r.integers(0, 256, 5)
    pos = prefix_logprobs(p, target)
    np.testing.assert_allclose(pos.sum(axis=1), np.log(p[np.arange(5), target]))
    # position 0: the mass of the answers whose first (most significant) bit is the target's
    first = target >> 7
    mass = np.where(first[:, None] == 1, p[:, 128:], p[:, :128]).sum(axis=1)
    np.testing.assert_allclose(pos[:, 0], np.log(mass))
    # last position: P(target) / P(target's first 7 bits)
    pair = p.reshape(5, 128, 2).sum(axis=2)[np.arange(5), target >> 1]
    np.testing.assert_allclose(pos[:, 7], np.log(p[np.arange(5), target] / pair))
