"""Tests of skalign.datasets.make_alignment_pair against its stated generative model."""

import numpy as np
import pytest

from skalign.datasets import make_alignment_pair


def _centres(X, labels):
    return np.array([X[labels == c].mean(axis=0) for c in np.unique(labels)])


@pytest.mark.parametrize("kind", ["jitter", "shuffle_centers", "random"])
def test_shapes_sizes_and_reproducibility(kind):
    X, Y, labels = make_alignment_pair(
        kind, n_samples=502, n_clusters=4, n_features=7, random_state=3
    )
    assert X.shape == Y.shape == (502, 7)
    assert sorted(np.bincount(labels).tolist()) == [125, 125, 126, 126]
    X2, Y2, l2 = make_alignment_pair(
        kind, n_samples=502, n_clusters=4, n_features=7, random_state=3
    )
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)
    np.testing.assert_array_equal(labels, l2)
    X3, _, _ = make_alignment_pair(kind, n_samples=502, n_clusters=4, n_features=7, random_state=4)
    assert not np.array_equal(X, X3)


def test_clusters_at_distinct_hypercube_corners():
    X, _, labels = make_alignment_pair(
        "jitter", n_samples=4000, n_clusters=6, cluster_std=0.1, n_features=5, random_state=0
    )
    C = _centres(X, labels)
    corners = np.sign(C)
    np.testing.assert_allclose(C, corners, atol=0.03)  # mean of ~667 draws with sd 0.1
    assert len({tuple(c) for c in corners}) == 6
    within = X - corners[labels]
    assert within.std() == pytest.approx(0.1, rel=0.03)


def test_jitter_adds_gaussian_noise():
    X, Y, _ = make_alignment_pair("jitter", n_samples=3000, noise=0.25, random_state=0)
    diff = Y - X
    assert diff.std() == pytest.approx(0.25, rel=0.03)
    assert abs(diff.mean()) < 0.01
    corr = np.corrcoef(diff.ravel(), X.ravel())[0, 1]
    assert abs(corr) < 0.03


def test_shuffle_centers_keeps_offsets_and_moves_every_centre():
    for seed in range(5):
        X, Y, labels = make_alignment_pair(
            "shuffle_centers", n_samples=400, n_clusters=4, n_features=6, random_state=seed
        )
        CX = np.sign(_centres(X, labels))
        CY = np.sign(_centres(Y, labels))
        # offsets from the centre are the same in both
        np.testing.assert_allclose(X - CX[labels], Y - CY[labels], atol=1e-12)
        # Y's centres are X's, permuted, none in place
        assert {tuple(c) for c in CX} == {tuple(c) for c in CY}
        assert not (CX == CY).all(axis=1).any()


def test_random_pairs_are_independent():
    X, Y, labels = make_alignment_pair("random", n_samples=4000, n_features=3, random_state=0)
    corr = np.corrcoef(X.T, Y.T)[:3, 3:]
    assert np.abs(corr).max() < 0.1
    # Y is clustered too, but not by X's labels
    same = (Y[labels == 0].std(axis=0)).max()
    assert same > 0.5


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"kind": "rotate"}, ValueError, "'kind' parameter.*among"),
        ({"kind": "jitter", "n_clusters": 1}, ValueError, r"'n_clusters' parameter.*\[2, inf\)"),
        (
            {"kind": "jitter", "n_clusters": 5, "n_features": 2},
            ValueError,
            "distinct hypercube corners",
        ),
        ({"kind": "jitter", "n_samples": 3, "n_clusters": 4}, ValueError, "exceeds n_samples"),
        ({"kind": "jitter", "noise": -1.0}, ValueError, r"'noise' parameter.*range \[0"),
        ({"kind": "jitter", "noise": np.inf}, ValueError, "'noise' parameter"),
        ({"kind": "jitter", "cluster_std": np.nan}, ValueError, "'cluster_std' parameter"),
        ({"kind": "jitter", "cluster_std": "big"}, TypeError, "cluster_std"),
        ({"kind": "jitter", "n_samples": 10.5}, TypeError, "'n_samples' parameter.*int"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_alignment_pair(**kwargs)
