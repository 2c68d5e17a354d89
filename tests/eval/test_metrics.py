"""The metric definitions: the pass^k estimator and the bootstrap confidence intervals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from crm_env.eval.metrics import bootstrap_ratio, estimate, pass_hat_k


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_pass_hat_k_is_the_mean_over_k_subsets(n: int) -> None:
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(outcomes, k))
            assert pass_hat_k(n, c, k) == pytest.approx(sum(all(s) for s in subsets) / len(subsets))


def test_pass_hat_k_known_values_and_monotone() -> None:
    assert pass_hat_k(4, 2, 1) == 0.5
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)
    assert pass_hat_k(4, 2, 3) == 0.0
    assert pass_hat_k(4, 4, 4) == 1.0
    values = [pass_hat_k(8, 6, k) for k in range(1, 9)]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValueError):
        pass_hat_k(2, 1, 3)


def test_bootstrap_ci_contains_the_estimate_and_narrows_with_data() -> None:
    rng = np.random.default_rng(1)
    small = rng.random(40) < 0.7
    big = rng.random(4000) < 0.7
    est_small = estimate(small.astype(float), np.ones(40), np.random.default_rng(0))
    est_big = estimate(big.astype(float), np.ones(4000), np.random.default_rng(0))
    for est in (est_small, est_big):
        assert est["ci_low"] <= est["value"] <= est["ci_high"]
    assert (est_big["ci_high"] - est_big["ci_low"]) < (est_small["ci_high"] - est_small["ci_low"])
    # the binomial normal approximation agrees with the bootstrap on a large sample
    p = est_big["value"]
    half = 1.96 * math.sqrt(p * (1 - p) / 4000)
    assert est_big["ci_high"] - est_big["ci_low"] == pytest.approx(2 * half, rel=0.15)


def test_bootstrap_is_seeded_and_degenerate_cases() -> None:
    num, den = np.array([1.0, 0.0, 2.0]), np.array([1.0, 1.0, 3.0])
    assert bootstrap_ratio(num, den, np.random.default_rng(5)) == bootstrap_ratio(num, den, np.random.default_rng(5))
    assert estimate([3, 3], [3, 3], np.random.default_rng(0))["ci_low"] == 1.0
    empty = estimate([], [], np.random.default_rng(0))
    assert empty["value"] is None and empty["ci_low"] is None


def test_bootstrap_coverage_is_about_95_percent() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(200):
        sample = (rng.random(200) < 0.8).astype(float)
        low, high = bootstrap_ratio(sample, np.ones(200), rng, samples=500)
        covered += low <= 0.8 <= high
    assert 0.88 <= covered / 200 <= 0.99
