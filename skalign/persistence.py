r"""Vietoris-Rips persistence of point clouds and its summaries.

A point cloud (an embedding matrix at one checkpoint, say) gives a Vietoris-Rips
filtration; its barcode is summarised per homology dimension by four numbers
(Tang, Wang, Garcia-Redondo & Monod). With lifetimes :math:`l_i = d_i - b_i` and
:math:`L = \sum_i l_i`:

.. math::

    \max_i l_i, \qquad \sum_i l_i^{\,p}, \qquad \#\{i : l_i > \tau\}, \qquad
    E = -\sum_i \frac{l_i}{L} \log \frac{l_i}{L},

the maximum persistence, the total persistence, the number of bars longer than
a threshold :math:`\tau`, and the persistent entropy (Atienza et al., 2020).

Large clouds are replaced by farthest-point (max-min) landmarks, which are a
:math:`2r`-approximation of the cloud for their covering radius :math:`r`, so the
diagrams move by at most :math:`2r` in bottleneck distance (Chazal, de Silva &
Oudot, 2014). The diagrams are computed with gudhi.

References
----------
Tang, Wang, Garcia-Redondo, Monod. Topological signatures of grokking.

H. Adams, M. Adamaszek. The Vietoris-Rips complexes of a circle. Pacific J. Math.
290, 2017 (the regular m-gon's H1 bar).

N. Atienza, R. Gonzalez-Diaz, M. Soriano-Trigueros. On the stability of persistent
entropy and new summary functions for topological data analysis. Pattern
Recognition 107, 2020.

F. Chazal, V. de Silva, S. Oudot. Persistence stability for geometric complexes.
Geometriae Dedicata 173, 2014.
"""

from __future__ import annotations

from numbers import Integral, Real

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import check_homology_dimensions, check_int, check_random_state, check_representation

__all__ = [
    "as_point_clouds",
    "rips_diagrams",
    "diagram_features",
    "persistence_summary",
    "PERSISTENCE_FEATURES",
]

#: Normalisations of the distances of a cloud before the filtration.
SCALES = ("none", "max_h0_death", "diameter")
#: Metrics under which scaling the points by c > 0 scales every distance by c.
HOMOGENEOUS_METRICS = ("euclidean", "l2", "manhattan", "cityblock", "l1", "chebyshev", "precomputed")
#: Names of the per-dimension features of :func:`persistence_summary`, in column order.
PERSISTENCE_FEATURES = ("max_persistence", "total_persistence", "n_bars_above", "entropy")

#: Constraints of the Rips filtration's parameters, shared by :func:`rips_diagrams`,
#: :func:`persistence_summary` and :class:`skalign.PersistenceSummary`.
RIPS_PARAMETER_CONSTRAINTS = {
    "homology_dimensions": ["array-like", Interval(Integral, 0, None, closed="left")],
    "metric": [str, callable],
    "max_edge_length": [Interval(Real, 0, None, closed="right")],
    "collapse_edges": [StrOptions({"auto"}), "boolean"],
    "sparse": [Interval(Real, 0, None, closed="neither"), None],
    "max_points": [Interval(Integral, 3, None, closed="left"), None],
    "scale": [StrOptions(set(SCALES))],
    "random_state": ["random_state"],
    "n_jobs": [Integral, None],
}
#: Constraints of the barcode summaries' parameters (:func:`diagram_features`).
FEATURE_PARAMETER_CONSTRAINTS = {
    "p": [Interval(Real, 0, None, closed="neither")],
    "persistence_threshold": [Interval(Real, 0, None, closed="left")],
}


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------
@validate_params({"metric": RIPS_PARAMETER_CONSTRAINTS["metric"], "name": [str]}, prefer_skip_nested_validation=True)
def as_point_clouds(X, *, metric="euclidean", name="X"):
    """Validate a collection of point clouds (or distance matrices).

    Parameters
    ----------
    X : list of array-like, or ndarray of 2 or 3 dimensions
        A list (or 3-D array) of clouds, each (n_points, d); with
        ``metric='precomputed'`` a list (or 3-D array) of square distance matrices.
        A 2-D numeric array is read as one cloud of scalar points per row (so that
        ``n_samples`` is the number of clouds, as scikit-learn expects).
    metric : str
    name : str
        Argument name for error messages.

    Returns
    -------
    clouds : list of ndarray
        With ``metric='precomputed'`` each matrix is made exactly symmetric,
        ``(D + D.T) / 2``: a matrix symmetric only to rounding (as
        :func:`sklearn.metrics.pairwise_distances` returns) is not a consistent
        filtration for gudhi, which reads both triangles.
    """
    import scipy.sparse as sp

    if isinstance(X, np.ndarray) or hasattr(X, "to_numpy") or sp.issparse(X):
        arr = check_representation(X, name=name, ndim=(2, 3))
        if arr.ndim == 2:
            if metric == "precomputed":
                raise ValueError(
                    f"with metric='precomputed', {name} must be a list or 3-D array of square "
                    f"distance matrices; got a single 2-D array of shape {arr.shape}."
                )
            clouds = [row.reshape(-1, 1) for row in arr]
        else:
            clouds = list(arr)
    else:
        try:
            clouds = list(X)
        except TypeError:
            raise TypeError(
                f"{name} must be a list of point clouds (arrays of shape (n_points, d)); "
                f"got {type(X).__name__}."
            ) from None
        if not clouds:
            raise ValueError(f"{name} is empty; pass at least one point cloud.")
    out = []
    for i, c in enumerate(clouds):
        cname = f"{name}[{i}]"
        c = check_representation(c, name=cname, ndim=2)
        if c.shape[0] < 3:
            raise ValueError(
                f"{cname} has {c.shape[0]} point(s) ({c.shape[1]} feature(s) each); a Rips "
                "persistence summary needs at least 3 points per cloud."
            )
        if metric == "precomputed":
            if c.shape[0] != c.shape[1]:
                raise ValueError(
                    f"{cname} must be a square distance matrix with metric='precomputed'; got shape {c.shape}."
                )
            if (c < 0).any() or not np.allclose(c, c.T) or np.any(np.diag(c) != 0):
                raise ValueError(
                    f"{cname} is not a distance matrix: it must be symmetric, non-negative and "
                    "zero on the diagonal."
                )
            # a + b == b + a in IEEE arithmetic, so the mean is exactly symmetric
            c = 0.5 * (np.asarray(c, dtype=np.float64) + np.asarray(c, dtype=np.float64).T)
        out.append(c)
    return out


def _distance_matrix(cloud, metric):
    if metric == "precomputed":
        return np.asarray(cloud, dtype=np.float64)
    from sklearn.metrics import pairwise_distances

    D = pairwise_distances(np.asarray(cloud, dtype=np.float64), metric=metric)
    D = 0.5 * (D + D.T)
    np.fill_diagonal(D, 0.0)
    return D


def _max_h0_death(D):
    """Longest edge of a minimum spanning tree = largest finite H0 death of the Rips filtration."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    W = D.copy()
    # scipy reads zero entries as missing edges; duplicates are at a tiny positive distance instead
    off = ~np.eye(W.shape[0], dtype=bool)
    W[off & (W == 0)] = np.finfo(np.float64).tiny
    return float(minimum_spanning_tree(W).max())


def _farthest_points(cloud, m, metric, start):
    """Indices of ``m`` max-min (farthest-point) landmarks, the first one ``start``.

    Distances are computed one landmark row at a time: O(n m) time, O(n) memory.
    """
    from sklearn.metrics import pairwise_distances

    n = cloud.shape[0]
    idx = np.empty(m, dtype=np.intp)
    idx[0] = start
    nearest = np.full(n, np.inf)
    for k in range(1, m + 1):
        j = idx[k - 1]
        if metric == "precomputed":
            row = cloud[j]
        else:
            row = pairwise_distances(cloud[j : j + 1], cloud, metric=metric)[0]
        np.minimum(nearest, row, out=nearest)
        if k < m:
            idx[k] = int(np.argmax(nearest))
    return idx


def _cloud_diagrams(cloud, dims, metric, max_edge_length, collapse_edges, sparse, max_points, scale, seed):
    from gudhi.sklearn.rips_persistence import RipsPersistence

    # A power of two brings a cloud (or its distances) under a homogeneous metric to
    # unit scale: exact, so every distance is the data's divided by 2**e, and no
    # squared distance of data near 1e-300 or 1e300 underflows or overflows.
    top = float(np.max(np.abs(cloud))) if metric in HOMOGENEOUS_METRICS else 0.0
    e = int(np.frexp(top)[1]) if top > 0 else 0
    if e:
        cloud = np.ldexp(cloud, -e)
    n = cloud.shape[0]
    if max_points is not None and n > max_points:
        idx = _farthest_points(cloud, max_points, metric, np.random.RandomState(seed).randint(n))
        D = cloud[np.ix_(idx, idx)] if metric == "precomputed" else _distance_matrix(cloud[idx], metric)
    else:
        D = _distance_matrix(cloud, metric)

    if scale == "none":
        s = 1.0
    elif scale == "diameter":
        s = float(D.max())
    else:
        s = _max_h0_death(D)
    if not s > 0:
        raise ValueError("a point cloud has all its points equal, so its scale is zero and cannot be normalised.")
    D = D / s
    # without a normalising scale the bars are in data units: undo 2**e on them
    unit = e if scale == "none" else 0
    max_edge_length = float(np.ldexp(max_edge_length, -unit))

    if sparse is not None:
        from gudhi import RipsComplex

        rc = RipsComplex(distance_matrix=D, max_edge_length=max_edge_length, sparse=sparse)
        st = rc.create_simplex_tree(max_dimension=max(dims) + 1)
        st.compute_persistence(persistence_dim_max=True)
        dgms = [st.persistence_intervals_in_dimension(q) for q in dims]
    else:
        num_collapses = "auto" if collapse_edges == "auto" else (1 if collapse_edges else 0)
        rp = RipsPersistence(
            homology_dimensions=list(dims),
            threshold=max_edge_length,
            input_type="full distance matrix",
            num_collapses=num_collapses,
            n_jobs=1,
        )
        dgms = rp.fit_transform([D])[0]
    out = []
    for bars in dgms:
        bars = np.asarray(bars, dtype=np.float64).reshape(-1, 2)
        inf = ~np.isfinite(bars[:, 1])
        if inf.any():
            if np.isfinite(max_edge_length):
                bars = bars.copy()
                bars[inf, 1] = max_edge_length
            else:
                bars = bars[~inf]
        out.append(np.ldexp(bars, unit) if unit else bars)
    return out


@validate_params(RIPS_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def rips_diagrams(
    X,
    *,
    homology_dimensions=(1,),
    metric="euclidean",
    max_edge_length=np.inf,
    collapse_edges="auto",
    sparse=None,
    max_points=1000,
    scale="none",
    random_state=None,
    n_jobs=None,
):
    """Vietoris-Rips persistence diagrams of point clouds.

    Parameters
    ----------
    X : list of clouds, see :func:`as_point_clouds`
    homology_dimensions : sequence of int
    metric : str
        Any metric of :func:`sklearn.metrics.pairwise_distances`, or 'precomputed'.
    max_edge_length : float
        Largest edge of the filtration, in the units after ``scale``. Classes still
        alive there get ``d = max_edge_length``; with an infinite value the only
        essential class (the H0 component) is dropped.
    collapse_edges : {'auto', True, False}
        Edge collapse before the expansion (gudhi's ``reduce_graph``), which keeps
        the persistence exactly. 'auto' is gudhi's heuristic (collapse when H2 or
        above is asked for): on a dense cloud in R^16 with 2,000 points one
        collapse took 20 to 60 times longer than the whole H1 computation without it.
    sparse : float or None
        Use gudhi's sparse Rips complex with this approximation parameter epsilon
        (a (1 + epsilon)-interleaving of the exact filtration) instead of the exact one.
        It is built by expansion in a simplex tree, which pays off in low ambient
        dimension only: 500 points of a noisy circle in R^16 with epsilon = 0.5 took
        about 2 minutes and 3.4 GB, against 2 s exact, so ``max_points`` landmarks are
        the default route for large clouds.
    max_points : int or None, default=1000
        Clouds with more points are replaced by this many farthest-point landmarks
        (the first chosen with ``random_state``); the bars then move by at most twice
        the landmarks' covering radius (Chazal, de Silva & Oudot, 2014). Exact Rips
        persistence grows steeply with the number of points (a 2,000-point noisy
        circle in R^16 takes minutes, 1,000 landmarks of it about 10 s); None keeps
        every point.
    scale : {'none', 'max_h0_death', 'diameter'}
        Divide all distances by the longest edge of a minimum spanning tree (the
        largest finite H0 death) or by the diameter of the cloud, so that a uniform
        shrinkage (e.g. by weight decay) is not read as a topological change.
    random_state : int, RandomState or None
        Picks the first landmark of clouds above ``max_points``. None uses NumPy's
        global random state, so repeated calls choose different landmarks and the
        bars differ within the bound above (H1 max persistence varied 2-4% over six
        calls on 1,500 blob points); pass an int for reproducible diagrams. A
        warning says when a cloud is subsampled.
    n_jobs : int or None
        Threads over clouds.

    Returns
    -------
    diagrams : list of list of ndarray of shape (n_bars, 2)
    """
    dims = check_homology_dimensions(homology_dimensions)
    clouds = as_point_clouds(X, metric=metric)
    if max_points is not None:
        big = [len(c) for c in clouds if len(c) > max_points]
        if big:
            warnings.warn(
                f"{len(big)} point cloud(s) of up to {max(big)} points are replaced by max_points="
                f"{max_points} farthest-point landmarks; the bars move by at most twice the landmarks' "
                "covering radius"
                + (" and, with random_state=None, differ from call to call (pass an int)."
                   if random_state is None else "."),
                UserWarning,
                stacklevel=3,
            )
    rs = check_random_state(random_state)
    # one seed for every cloud, so that a cloud's landmarks do not depend on its
    # position in X (transforming a subset of clouds gives a subset of rows)
    seed = int(rs.randint(np.iinfo(np.int32).max))
    return Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_cloud_diagrams)(
            c, dims, metric, float(max_edge_length), collapse_edges, sparse, max_points, scale, seed
        )
        for c in clouds
    )


def _features(bars, p, persistence_threshold):
    bars = np.asarray(bars, dtype=np.float64).reshape(-1, 2)
    life = bars[:, 1] - bars[:, 0]
    life = life[life > 0]
    if life.size == 0:
        return np.zeros(4)
    with np.errstate(over="ignore"):
        total = life.sum()
        powered = (life**p).sum()
    if not (np.isfinite(total) and np.isfinite(powered)):
        raise ValueError(
            f"the total persistence of a barcode (bars up to {life.max():.3g} long, p={p}) overflows "
            "float64; normalise the distances with scale='diameter' or 'max_h0_death', or rescale the data."
        )
    q = life / total
    entropy = float(-(q * np.log(q)).sum()) + 0.0  # no -0.0 for a single bar
    return np.array([life.max(), powered, float((life > persistence_threshold).sum()), entropy])


@validate_params({"bars": ["array-like"], **FEATURE_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True)
def diagram_features(bars, *, p=1.0, persistence_threshold=0.1):
    """Summaries of one barcode: the four numbers of the module notes.

    Parameters
    ----------
    bars : array-like of shape (n_bars, 2)
        Birth and death of each bar.
    p : float, default=1.0
        Exponent of the total persistence.
    persistence_threshold : float, default=0.1
        Bars longer than this are counted.

    Returns
    -------
    features : ndarray of shape (4,)
        In the order of :data:`PERSISTENCE_FEATURES`; zeros for an empty barcode.
    """
    return _features(bars, p, persistence_threshold)


@validate_params({**RIPS_PARAMETER_CONSTRAINTS, **FEATURE_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True)
def persistence_summary(
    X,
    *,
    homology_dimensions=(1,),
    p=1.0,
    persistence_threshold=0.1,
    metric="euclidean",
    max_edge_length=np.inf,
    collapse_edges="auto",
    sparse=None,
    max_points=1000,
    scale="none",
    random_state=None,
    n_jobs=None,
):
    """Rips persistence summaries of point clouds, one row per cloud.

    Parameters
    ----------
    X : list of clouds, see :func:`as_point_clouds`
    homology_dimensions : sequence of int
    p : float, default=1.0
        Exponent of the total persistence (:func:`diagram_features`).
    persistence_threshold : float, default=0.1
        Bars longer than this are counted (:func:`diagram_features`).
    metric, max_edge_length, collapse_edges, sparse, max_points, scale, random_state, n_jobs
        As for :func:`rips_diagrams`.

    Returns
    -------
    features : ndarray of shape (n_clouds, 4 * n_dims)
        For each homology dimension in turn, the features of
        :data:`PERSISTENCE_FEATURES`.
    """
    # rips_diagrams validates the clouds (its parameters were validated here)
    dgms = rips_diagrams(
        X,
        homology_dimensions=homology_dimensions,
        metric=metric,
        max_edge_length=max_edge_length,
        collapse_edges=collapse_edges,
        sparse=sparse,
        max_points=max_points,
        scale=scale,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return np.array(
        [np.concatenate([_features(b, p, persistence_threshold) for b in per_dim]) for per_dim in dgms]
    )
