"""Synthetic pairs of representations with known alignment structure.

:func:`make_alignment_pair` draws the point clouds of the synthetic experiment of
Tavares, Ayres & Smaragdis (2024): Gaussian clusters at corners of the
[-1, 1] hypercube, and a second representation that agrees with the first at some
scales and not at others.

References
----------
Tavares, Ayres & Smaragdis, "Diagnosing Neural Convergence with Topological
Alignment Spectra", arXiv:2411.08687 (2024).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import check_random_state

__all__ = ["make_alignment_pair", "ALIGNMENT_PAIR_KINDS"]

#: The kinds :func:`make_alignment_pair` draws.
ALIGNMENT_PAIR_KINDS = ("jitter", "shuffle_centers", "random")


def _corners(n_clusters, n_features, rs):
    """``n_clusters`` distinct random corners of the [-1, 1]^d hypercube."""
    if n_features < 62 and n_clusters > 2**n_features:
        raise ValueError(
            f"n_clusters={n_clusters} needs at least {n_clusters} distinct hypercube corners, but "
            f"n_features={n_features} has only {2**n_features}."
        )
    seen = set()
    out = []
    while len(out) < n_clusters:
        c = rs.randint(0, 2, size=n_features)
        key = c.tobytes()
        if key not in seen:
            seen.add(key)
            out.append(2.0 * c - 1.0)
    return np.asarray(out)


def _derangement(m, rs):
    """A uniformly random permutation of range(m) that moves every element."""
    while True:  # about e draws on average
        p = rs.permutation(m)
        if not (p == np.arange(m)).any():
            return p


def _cloud(n_samples, n_clusters, n_features, cluster_std, rs):
    centers = _corners(n_clusters, n_features, rs)
    # equal cluster sizes (up to one), in random order over the rows
    labels = rs.permutation(np.arange(n_samples) % n_clusters)
    offsets = cluster_std * rs.standard_normal((n_samples, n_features))
    return centers, labels, offsets


@validate_params(
    {
        "kind": [StrOptions(set(ALIGNMENT_PAIR_KINDS))],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_clusters": [Interval(Integral, 2, None, closed="left")],
        # closed on the left only: inf is refused along with NaN
        "cluster_std": [Interval(Real, 0, np.inf, closed="left")],
        "noise": [Interval(Real, 0, np.inf, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_alignment_pair(
    kind,
    n_samples=500,
    n_clusters=4,
    cluster_std=0.1,
    noise=0.1,
    n_features=10,
    random_state=None,
):
    """Two representations of the same samples with a known scale of agreement.

    X has ``n_clusters`` Gaussian clusters (standard deviation ``cluster_std``)
    centred at distinct random corners of the [-1, 1]^d hypercube, of equal sizes
    ``n_samples // n_clusters`` (the first ``n_samples % n_clusters`` clusters get one
    more).

    ``kind='jitter'``
        ``Y = X + N(0, noise^2)``: fine neighbourhoods are scrambled, whole clusters
        are kept (TAS low at small k, near 1 at k = cluster size - 1).
    ``kind='shuffle_centers'``
        Every point keeps its offset from its centre, but the centres are permuted so
        that none stays in place: neighbourhoods inside a cluster are identical (TAS
        exactly 1 below the cluster size), the arrangement of clusters is not.
    ``kind='random'``
        X and Y are independent draws of the same model (TAS about 0 at every k).

    Parameters
    ----------
    kind : {'jitter', 'shuffle_centers', 'random'}
    n_samples : int, default=500
    n_clusters : int, default=4
        Needs ``2 <= n_clusters <= 2**n_features`` (and ``n_clusters >= 2`` for a
        derangement of the centres).
    cluster_std : float, default=0.1
    noise : float, default=0.1
        Standard deviation of the jitter (``kind='jitter'`` only).
    n_features : int, default=10
        Dimension of both representations.
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        Cluster of every sample in X.

    Examples
    --------
    >>> from skalign.datasets import make_alignment_pair
    >>> X, Y, labels = make_alignment_pair("shuffle_centers", random_state=0)
    >>> X.shape, Y.shape
    ((500, 10), (500, 10))
    """
    if n_clusters > n_samples:
        raise ValueError(f"n_clusters={n_clusters} exceeds n_samples={n_samples}.")
    rs = check_random_state(random_state)
    centers, labels, offsets = _cloud(n_samples, n_clusters, n_features, cluster_std, rs)
    X = centers[labels] + offsets
    if kind == "jitter":
        Y = X + noise * rs.standard_normal(X.shape)
    elif kind == "shuffle_centers":
        Y = centers[_derangement(n_clusters, rs)][labels] + offsets
    else:
        c2, l2, o2 = _cloud(n_samples, n_clusters, n_features, cluster_std, rs)
        Y = c2[l2] + o2
    return X, Y, labels
