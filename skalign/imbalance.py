r"""Information imbalance between two representations of the same samples.

:math:`\Delta(A \to B)` (Glielmo et al., 2022) is :math:`2/N` times the mean rank,
in space B, of each point's k nearest neighbours in space A,

.. math::

    \Delta(A \to B) = \frac{2}{N k} \sum_{i=1}^{N} \sum_{j \in \mathrm{NN}_A^k(i)} r^B_{ij},

with :math:`r^B_{ij}` the rank of j among i's neighbours in B (1 = nearest). It
is about :math:`(k + 1)/N` (near 0) when A's neighbourhoods are B's and about 1
when A says nothing about B's; it can reach :math:`2(N-1)/N` when A's neighbours
are B's farthest points. It is asymmetric, so the pair of values tells which
representation holds the other's information; the score of the pair,

.. math::

    s = 1 - \frac{\Delta(X \to Y) + \Delta(Y \to X)}{2}

(or one side's :math:`1 - \Delta`), is higher for more mutually informative
representations: about 1 for the same neighbourhoods, about 0 for independent
ones.

Neighbours come from :func:`skalign.neighbors.kneighbors` (exact, self excluded,
ties broken by index), and ranks follow the same tie rule.

References
----------
Glielmo, Zeni, Cheng, Csányi & Laio, "Ranking the information content of distance
measures", PNAS Nexus 1(2), pgac039 (2022).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import check_n_neighbors, check_nonconstant, check_same_samples
from .neighbors import DISTANCE_METRICS, PreparedPoints, kneighbors, prepare_search, search_target_ranks

__all__ = [
    "prepare_information_imbalance",
    "information_imbalance_prepared",
    "information_imbalance_score",
    "information_imbalance",
]

#: Which imbalance a score reports: the mean of both directions, or one side.
IMBALANCE_DIRECTIONS = ("both", "x_to_y", "y_to_x")

#: Constraints of the information imbalance's parameters, shared with
#: :class:`skalign.InformationImbalance`.
IMBALANCE_PARAMETER_CONSTRAINTS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    # ranks in B need distances: not the inner product
    "metric": [StrOptions(set(DISTANCE_METRICS))],
    "direction": [StrOptions(set(IMBALANCE_DIRECTIONS))],
    "working_memory": [Interval(Real, 0, None, closed="neither"), None],
}


@dataclass
class PreparedImbalance:
    """One representation prepared for information imbalance.

    Attributes
    ----------
    points : ndarray
        Validated rows (unit length for the cosine metric), used for distances
        when this representation is the target space B.
    aux : ndarray or None
        Squared row norms for the Euclidean distance blocks.
    neighbors : ndarray of shape (n_samples, n_neighbors)
        Nearest neighbours, used when this representation is the source space A.
    metric : str
    search : skalign.neighbors.PreparedPoints or None
        The prepared points ``points`` and ``aux`` come from, which rank targets in
        the exact distance order; None (a hand-built instance) prepares them again
        from ``points``.
    """

    points: np.ndarray
    aux: object
    neighbors: np.ndarray
    metric: str
    search: PreparedPoints | None = None

    @property
    def n_samples(self):
        return self.neighbors.shape[0]

    @property
    def n_neighbors(self):
        return self.neighbors.shape[1]


@validate_params(
    {
        "n_neighbors": IMBALANCE_PARAMETER_CONSTRAINTS["n_neighbors"],
        "metric": IMBALANCE_PARAMETER_CONSTRAINTS["metric"],
        "name": [str],
    },
    prefer_skip_nested_validation=True,
)
def prepare_information_imbalance(X, n_neighbors=1, *, metric="euclidean", name="X"):
    """Per-representation work of the information imbalance: its k nearest neighbours.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a square distance matrix
        with ``metric='precomputed'``
    n_neighbors : int, default=1
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'precomputed'}
        Ranks do not change under monotone maps of the distance, so 'euclidean' and
        'sqeuclidean' give the same result.
    name : str
        Argument name for error messages.

    Returns
    -------
    PreparedImbalance
        Exact neighbours (ties by index), plus what a distance block of X needs.
    """
    P = prepare_search(X, metric, name=name)
    if metric != "precomputed":
        check_nonconstant(P.points, name)
    k = check_n_neighbors(n_neighbors, P.n_samples, name="n_neighbors")
    ind = kneighbors(P, k, metric=metric, algorithm="brute", return_distance=False, name=name)
    return PreparedImbalance(points=P.points, aux=P.aux, neighbors=np.asarray(ind), metric=metric, search=P)


def _ranks_of_targets(B, targets, working_memory=None):
    """Rank in B, from each row i, of the samples ``targets[i]`` (1 = nearest).

    Same order as :func:`skalign.neighbors.iter_rank_blocks` (exact distance, then
    index): the rank of j is the number of samples nearer to i (i itself
    included) plus those at the same distance with a lower index. Only the few
    target columns are ranked, by counting, so a block costs O(b n k) instead of a
    sort's O(b n log n); :func:`skalign.neighbors.search_target_ranks` re-sorts
    exactly the rows where a Gram distance is too close to a target's to count.
    """
    P = B.search
    if P is None:
        P = prepare_search(B.points, B.metric)
    return search_target_ranks(P, targets, working_memory=working_memory)


def _delta(PA, PB, working_memory):
    ranks = _ranks_of_targets(PB, PA.neighbors, working_memory=working_memory)
    return float(2.0 * ranks.mean() / PA.n_samples)


@validate_params(
    {
        "PA": [PreparedImbalance],
        "PB": [PreparedImbalance],
        "working_memory": IMBALANCE_PARAMETER_CONSTRAINTS["working_memory"],
    },
    prefer_skip_nested_validation=True,
)
def information_imbalance_prepared(PA, PB, *, working_memory=None):
    r""":math:`\Delta(A \to B)` from two :func:`prepare_information_imbalance` results.

    Cost: B's distances are needed, so each call streams B's n x n distance matrix in
    row blocks of ``working_memory`` MiB: O(n^2 d_B) time (one matrix product, as for
    a kNN search of B) plus O(n^2 k) comparisons, O(block x n) memory. Only A's
    neighbour lists are reused from the preparation.

    Parameters
    ----------
    PA, PB : PreparedImbalance
        The source space A and the target space B.
    working_memory : float or None
        MiB per distance block of B.

    Returns
    -------
    delta : float
    """
    check_same_samples(PA.n_samples, PB.n_samples, names=("PA", "PB"))
    return _delta(PA, PB, working_memory)


@validate_params(
    {
        "PX": [PreparedImbalance],
        "PY": [PreparedImbalance],
        "direction": IMBALANCE_PARAMETER_CONSTRAINTS["direction"],
        "working_memory": IMBALANCE_PARAMETER_CONSTRAINTS["working_memory"],
    },
    prefer_skip_nested_validation=True,
)
def information_imbalance_score(PX, PY, *, direction="both", working_memory=None):
    r"""Score :math:`s` of a pair (module notes): 1 minus the mean imbalance of ``direction``.

    Only the imbalances that ``direction`` needs are computed.

    Parameters
    ----------
    PX, PY : PreparedImbalance
        The two representations, from :func:`prepare_information_imbalance`.
    direction : {'both', 'x_to_y', 'y_to_x'}, default='both'
        :math:`1 - (\Delta(X \to Y) + \Delta(Y \to X))/2`, :math:`1 - \Delta(X \to Y)`
        or :math:`1 - \Delta(Y \to X)`.
    working_memory : float or None
        MiB per distance block.

    Returns
    -------
    score : float
        In [-1, 1]: about 1 for the same neighbourhoods, about 0 for independent ones.
    """
    check_same_samples(PX.n_samples, PY.n_samples, names=("PX", "PY"))
    deltas = []
    if direction in ("both", "x_to_y"):
        deltas.append(_delta(PX, PY, working_memory))
    if direction in ("both", "y_to_x"):
        deltas.append(_delta(PY, PX, working_memory))
    return float(1.0 - sum(deltas) / len(deltas))


@validate_params(
    {
        "n_neighbors": IMBALANCE_PARAMETER_CONSTRAINTS["n_neighbors"],
        "metric": IMBALANCE_PARAMETER_CONSTRAINTS["metric"],
        "working_memory": IMBALANCE_PARAMETER_CONSTRAINTS["working_memory"],
    },
    prefer_skip_nested_validation=True,
)
def information_imbalance(A, B, *, n_neighbors=1, metric="euclidean", working_memory=None):
    r"""Information imbalance :math:`\Delta(A \to B)`: how badly A's neighbours predict B's.

    See the module notes for the definition and its range. Small
    :math:`\Delta(A \to B)` with large :math:`\Delta(B \to A)`: A holds B's
    information and more (Glielmo et al., 2022).

    Parameters
    ----------
    A, B : array-like of shape (n_samples, n_features_a), (n_samples, n_features_b)
        Two representations of the same samples.
    n_neighbors : int, default=1
        k; the paper's definition is k = 1.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'precomputed'}, default='euclidean'
        Used in both spaces.
    working_memory : float or None
        MiB per distance block of B.

    Returns
    -------
    delta : float

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import information_imbalance
    >>> X = np.random.default_rng(0).random((1000, 3))
    >>> information_imbalance(X, X[:, :2]) < information_imbalance(X[:, :2], X)
    True
    """
    PA = prepare_information_imbalance(A, n_neighbors, metric=metric, name="A")
    PB = prepare_information_imbalance(B, n_neighbors, metric=metric, name="B")
    return information_imbalance_prepared(PA, PB, working_memory=working_memory)
