"""Statistical fairness: over many simulated draws each entry wins in proportion to its weight.

Pearson's chi-square statistic is computed by hand and compared with the fixed 0.999 quantile of the
chi-square distribution with k-1 degrees of freedom (27.877 for k = 10, from standard tables). When SciPy is
installed its ``chisquare`` must agree with the hand computation. The seeds are fixed, so the test is
deterministic: it passes or fails the same way every run. A deliberately biased picker is rejected by the same
test, showing that the test can fail.
"""

import hashlib

from crmcore_lottery import proof

WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
CRITICAL_0999_DF9 = 27.877
DRAWS = 11_000


def chi_square(observed, expected):
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected))


def simulate(pick):
    es = [proof.FrozenEntry(i, i, w) for i, w in enumerate(WEIGHTS, 1)]
    spec = proof.DrawSpec("fairness", "0" * 64, True, ((1, 1),))
    list_hash = proof.sha256_hex(proof.frozen_document(spec, es))
    wins = [0] * len(WEIGHTS)
    for run in range(DRAWS):
        seed = hashlib.sha256(f"fairness-{run}".encode()).hexdigest()
        wins[pick(spec, es, seed, list_hash) - 1] += 1
    total = sum(WEIGHTS)
    return wins, [DRAWS * w / total for w in WEIGHTS]


def real_pick(spec, es, seed, list_hash):
    return proof.draw(spec, es, seed, list_hash)[0].participant


def test_win_frequency_is_proportional_to_weight():
    observed, expected = simulate(real_pick)
    statistic = chi_square(observed, expected)
    assert statistic < CRITICAL_0999_DF9, (statistic, observed)
    try:
        from scipy.stats import chisquare
    except ImportError:
        return
    result = chisquare(observed, expected)
    assert abs(result.statistic - statistic) < 1e-6
    assert result.pvalue > 0.001


def test_the_fairness_test_rejects_a_picker_that_ignores_weights():
    def unweighted(spec, es, seed, list_hash):
        return es[proof.uniform_ticket(seed, list_hash, 0, len(es))].participant

    observed, expected = simulate(unweighted)
    assert chi_square(observed, expected) > CRITICAL_0999_DF9 * 10


def test_the_fairness_test_rejects_a_slightly_biased_picker():
    def favours_the_first(spec, es, seed, list_hash):
        # one extra ticket for position 1: a 2/56 instead of 1/55 chance, a small bias
        weights = [e.weight + (1 if e.position == 1 else 0) for e in es]
        ticket = proof.uniform_ticket(seed, list_hash, 0, sum(weights))
        running = 0
        for e, w in zip(es, weights):
            running += w
            if running > ticket:
                return e.participant

    observed, expected = simulate(favours_the_first)
    assert chi_square(observed, expected) > CRITICAL_0999_DF9
