"""Nearest-neighbour search and neighbour ranks: the one search layer of skalign.

Every neighbourhood method (TAS, mutual k-NN, information imbalance, intrinsic
dimension) gets its neighbours from here, so the conventions hold everywhere:

* the point itself is never its own neighbour;
* neighbours are sorted by distance, and **ties are broken by sample index**
  (the lower index is nearer), so results are deterministic;
* the exact path works in row blocks sized by scikit-learn's ``working_memory``
  (``sklearn.set_config(working_memory=...)``, in MiB), so no n x n matrix is
  ever held.

Backends (``algorithm``):

``'brute'``
    Exact. Feature vectors go through scikit-learn's chunked, multithreaded brute
    force (distances by BLAS, memory bounded by ``working_memory``), asked for one
    extra neighbour so that ties can be ordered by index (rows where a tie crosses
    the k-th place are redone on skalign's own blocked path); precomputed
    distances and full-rank mode use the blocked path directly.
``'pynndescent'``
    Approximate nearest-neighbour descent (McInnes); imported only here, because
    numba compiles it on first use (tens of seconds).
``'cuml'``
    GPU brute force through RAPIDS cuML, imported only here.
``'auto'``
    ``'brute'`` up to :data:`AUTO_EXACT_MAX_SAMPLES` samples, ``'pynndescent'``
    above.
"""

from __future__ import annotations

import numpy as np
from sklearn import get_config
from sklearn.utils import check_random_state, gen_batches

from ._validation import check_n_neighbors, check_representation

__all__ = [
    "AUTO_EXACT_MAX_SAMPLES",
    "METRICS",
    "ALGORITHMS",
    "kneighbors",
    "iter_rank_blocks",
    "pairwise_block",
    "block_rows",
    "prepare_points",
    "ranks_from_distances",
    "resolve_algorithm",
]

#: Above this many samples ``algorithm='auto'`` switches from exact to approximate
#: search. Exact search costs O(n^2 d); at 50,000 samples and d=128 it takes tens of
#: seconds on a laptop, which is where nearest-neighbour descent starts to pay.
AUTO_EXACT_MAX_SAMPLES = 50_000

#: pynndescent builds a graph of at least this many neighbours, then keeps the k asked for.
PYNNDESCENT_MIN_GRAPH = 40

METRICS = ("euclidean", "sqeuclidean", "cosine", "precomputed")
ALGORITHMS = ("auto", "brute", "pynndescent", "cuml")

_CUML_HINT = (
    "algorithm='cuml' needs RAPIDS cuML and a CUDA GPU. Install it with "
    "`pip install --extra-index-url=https://pypi.nvidia.com cuml-cu12` (CUDA 12) "
    "or `conda install -c rapidsai -c conda-forge cuml`; see https://docs.rapids.ai/install. "
    "Use algorithm='brute' or 'pynndescent' on a CPU."
)


def resolve_algorithm(algorithm, n_samples, metric="euclidean"):
    """Return the concrete backend that ``algorithm`` means for ``n_samples``."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}; got {algorithm!r}.")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}; got {metric!r}.")
    if algorithm == "auto":
        if metric == "precomputed" or n_samples <= AUTO_EXACT_MAX_SAMPLES:
            return "brute"
        return "pynndescent"
    if metric == "precomputed" and algorithm != "brute":
        raise ValueError(f"metric='precomputed' needs algorithm='brute' or 'auto'; got {algorithm!r}.")
    return algorithm


def prepare_points(X, metric, name="X"):
    """Validate ``X`` and precompute what the blocked distance needs."""
    if metric == "precomputed":
        D = check_representation(X, name=name, min_samples=2)
        if D.shape[0] != D.shape[1]:
            raise ValueError(
                f"metric='precomputed' needs a square distance matrix; {name} has shape {D.shape}. "
                "Cross-validation splits of precomputed matrices are not supported (scikit-learn "
                "slices a held-out block against the training columns): pass features, or "
                "compute the distance matrices per fold."
            )
        if (D < 0).any():
            raise ValueError(f"{name} is a precomputed distance matrix with negative entries.")
        return D, None
    X = check_representation(X, name=name, min_samples=2)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1)
        if (norms == 0).any():
            raise ValueError(
                f"{name} has {int((norms == 0).sum())} all-zero row(s); cosine distance is undefined for them."
            )
        X = X / norms[:, None].astype(X.dtype)
        return X, None
    return X, _sq_norms(X)


def pairwise_block(X, aux, rows, metric):
    """Distances from ``X[rows]`` to every row of ``X``, as float64, self set to -inf.

    Any increasing function of the true distance ranks identically, so Euclidean
    search works on squared distances and takes the root only for output. Setting
    the diagonal to -inf pins each point first, which is how it is excluded even
    among exact duplicates.
    """
    if metric == "precomputed":
        D = np.array(X[rows], dtype=np.float64)
    elif metric == "cosine":
        D = 1.0 - (X[rows] @ X.T).astype(np.float64, copy=False)
    else:  # euclidean, sqeuclidean
        D = (X[rows] @ X.T).astype(np.float64, copy=False)
        D *= -2.0
        D += aux[rows][:, None]
        D += aux[None, :]
        np.maximum(D, 0.0, out=D)
    start = rows.start
    idx = np.arange(D.shape[0])
    D[idx, start + idx] = -np.inf
    return D


def block_rows(n_samples, working_memory=None, n_copies=1):
    """Rows per block so that ``n_copies`` float64 arrays of (rows, n_samples) fit in
    ``working_memory`` MiB (None: scikit-learn's config value); at least 1."""
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    rows = int(working_memory * 2**20 // (8 * n_samples * n_copies))
    return min(max(rows, 1), n_samples)


def _topk_block(D, k):
    """Indices and distances of the k+1 smallest entries per row, ties by index.

    A value-only partition finds each row's (k+1)-th smallest distance; every entry
    at or below it is a candidate, so ties at the boundary are all present and a
    sort by (row, distance, index) settles them by index. This is several times
    faster than ``argpartition``, which also has to carry an index array.
    """
    kk = k + 1
    m, n = D.shape
    if kk >= n:
        order = np.argsort(D, axis=1, kind="stable")[:, :kk]
        return order[:, 1:], np.take_along_axis(D, order, axis=1)[:, 1:]
    kth = np.partition(D, kk - 1, axis=1)[:, kk - 1]
    r, c = np.nonzero(D <= kth[:, None])
    d = D[r, c]
    o = np.lexsort((c, d, r))
    c, d = c[o], d[o]
    starts = np.zeros(m, dtype=np.intp)
    np.cumsum(np.bincount(r, minlength=m)[:-1], out=starts[1:])
    sel = starts[:, None] + np.arange(1, kk)  # position 0 is the point itself (-inf)
    return c[sel], d[sel]


def _finish_distances(dist, metric):
    if metric == "euclidean":
        return np.sqrt(dist)
    return dist


def kneighbors(
    X,
    n_neighbors,
    *,
    metric="euclidean",
    algorithm="auto",
    random_state=None,
    n_jobs=None,
    working_memory=None,
    return_distance=True,
    name="X",
):
    """The ``n_neighbors`` nearest neighbours of every row of ``X``, self excluded.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) when
        ``metric='precomputed'``
    n_neighbors : int
        Neighbours per point, in ``[1, n_samples - 1]``.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'precomputed'}
        Cosine distance is ``1 - cos``.
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}
        See the module docstring.
    random_state : int, RandomState or None
        Seeds nearest-neighbour descent; the exact paths are deterministic.
    n_jobs : int or None
        Threads for pynndescent; the exact path uses the threads of BLAS.
    working_memory : float or None
        MiB per block on the exact path; None takes scikit-learn's config value.
    return_distance : bool
        Also return the distances.

    Returns
    -------
    distances : ndarray of shape (n_samples, n_neighbors), float64
        Only when ``return_distance``; ascending along each row.
    indices : ndarray of shape (n_samples, n_neighbors), intp
        ``indices[i, r]`` is the (r+1)-th nearest neighbour of sample i. Ties are
        broken by index on the exact path.
    """
    Xv, aux = prepare_points(X, metric, name=name)
    n = Xv.shape[0]
    k = check_n_neighbors(n_neighbors, n, name="n_neighbors")
    backend = resolve_algorithm(algorithm, n, metric)
    if backend == "brute" and metric == "precomputed":
        dist, ind = _kneighbors_blocked(Xv, aux, k, metric, working_memory)
    elif backend == "brute":
        dist, ind = _kneighbors_argkmin(Xv, aux, k, metric, working_memory)
    elif backend == "pynndescent":
        dist, ind = _kneighbors_pynndescent(Xv, k, metric, random_state, n_jobs)
    else:
        dist, ind = _kneighbors_cuml(Xv, k, metric)
    return (dist, ind) if return_distance else ind


def _kneighbors_blocked(Xv, aux, k, metric, working_memory):
    """Exact search over row blocks of the distance matrix (the reference path)."""
    n = Xv.shape[0]
    ind = np.empty((n, k), dtype=np.intp)
    dist = np.empty((n, k), dtype=np.float64)
    step = block_rows(n, working_memory, n_copies=3)
    for rows in gen_batches(n, step):
        D = pairwise_block(Xv, aux, rows, metric)
        ind[rows], dist[rows] = _topk_block(D, k)
        del D
    return _finish_distances(dist, metric), ind


def _kneighbors_argkmin(Xv, aux, k, metric, working_memory):
    """Exact search through scikit-learn's chunked, multithreaded brute force, ties by index.

    scikit-learn does not promise an order among equal distances, so it is asked for
    one neighbour more than needed: sorting by (distance, index) then fixes the order
    inside the list, and a row whose k-th and (k+1)-th distances are equal (a tie
    across the boundary, in practice only duplicated points) is redone on the
    blocked path, which settles it by index. Cosine rows are unit-normalised, so
    their Euclidean order is the cosine order.
    """
    from sklearn import config_context
    from sklearn.neighbors import NearestNeighbors

    n = Xv.shape[0]
    m = min(k + 1, n - 1)
    wm = get_config()["working_memory"] if working_memory is None else working_memory
    with config_context(working_memory=wm):
        nn = NearestNeighbors(n_neighbors=m, algorithm="brute", metric="euclidean").fit(Xv)
        dist, ind = nn.kneighbors()  # no X: each point is left out of its own list
    dist = dist.astype(np.float64, copy=False)
    o = np.lexsort((ind, dist), axis=-1)
    ind = np.take_along_axis(ind, o, axis=1).astype(np.intp, copy=False)
    dist = np.take_along_axis(dist, o, axis=1)
    if m > k:
        tied = np.flatnonzero(dist[:, k - 1] == dist[:, k])
        for r in tied:
            D = pairwise_block(Xv, aux if aux is not None else _sq_norms(Xv), slice(r, r + 1), "sqeuclidean")
            i_r, d_r = _topk_block(D, k)
            ind[r, :k], dist[r, :k] = i_r[0], np.sqrt(d_r[0])
    ind, dist = ind[:, :k], dist[:, :k]
    if metric == "sqeuclidean":
        dist = dist**2
    elif metric == "cosine":
        dist = dist**2 / 2.0  # |u - v|^2 = 2 - 2 cos for unit vectors
    return dist, ind


def _sq_norms(X):
    return np.einsum("ij,ij->i", X, X, dtype=np.float64)


def _drop_self(ind, dist, k):
    """Remove each point from its own list (or the farthest entry if it is absent)."""
    n = ind.shape[0]
    is_self = ind == np.arange(n)[:, None]
    # keep the first k entries that are not the point itself
    keep = ~is_self
    keep &= np.cumsum(keep, axis=1) <= k
    out_i = ind[keep].reshape(n, k)
    out_d = dist[keep].reshape(n, k)
    return out_d, out_i


def _kneighbors_pynndescent(X, k, metric, random_state, n_jobs):
    try:
        from pynndescent import NNDescent
    except ImportError as exc:  # pragma: no cover - core dependency
        raise ImportError("algorithm='pynndescent' needs the pynndescent package: pip install pynndescent") from exc
    rs = check_random_state(random_state)
    seed = int(rs.randint(np.iinfo(np.int32).max))
    pm = "euclidean" if metric == "sqeuclidean" else metric
    # A graph of only k+1 neighbours converges poorly (recall@10 was 0.39 on 128-d
    # Gaussian data); building a wider one and truncating gave 0.93-0.99 at a small cost.
    n_build = min(max(k + 1, PYNNDESCENT_MIN_GRAPH), X.shape[0] - 1)
    index = NNDescent(
        np.ascontiguousarray(X, dtype=np.float32),
        n_neighbors=n_build,
        metric=pm,
        random_state=seed,
        n_jobs=1 if n_jobs is None else n_jobs,
        low_memory=True,
        compressed=True,
    )
    ind, dist = index.neighbor_graph
    ind = np.asarray(ind, dtype=np.intp)
    dist = np.asarray(dist, dtype=np.float64)
    # pynndescent pads unfilled slots with -1; order by (distance, index) like the exact path
    dist = np.where(ind < 0, np.inf, dist)
    o = np.lexsort((ind, dist), axis=-1)
    ind = np.take_along_axis(ind, o, axis=1)
    dist = np.take_along_axis(dist, o, axis=1)
    dist, ind = _drop_self(ind, dist, n_build - 1)
    dist, ind = dist[:, :k], ind[:, :k]
    short = np.flatnonzero((ind < 0).any(axis=1))
    if short.size:
        # an unfilled slot would silently index the last row downstream
        raise ValueError(
            f"pynndescent found fewer than n_neighbors={k} neighbours for {short.size} point(s) "
            f"(e.g. row {short[0]}); use algorithm='brute' or a smaller n_neighbors."
        )
    if metric == "sqeuclidean":
        dist = dist**2
    return dist, ind


def _kneighbors_cuml(X, k, metric):
    try:
        from cuml.neighbors import NearestNeighbors
    except ImportError as exc:
        raise ImportError(_CUML_HINT) from exc
    cm = "euclidean" if metric == "sqeuclidean" else metric
    nn = NearestNeighbors(n_neighbors=k + 1, metric=cm, algorithm="brute", output_type="numpy")
    nn.fit(X)
    dist, ind = nn.kneighbors(X)
    ind = np.asarray(ind, dtype=np.intp)
    dist = np.asarray(dist, dtype=np.float64)
    o = np.lexsort((ind, dist), axis=-1)
    ind = np.take_along_axis(ind, o, axis=1)
    dist = np.take_along_axis(dist, o, axis=1)
    dist, ind = _drop_self(ind, dist, k)
    if metric == "sqeuclidean":
        dist = dist**2
    return dist, ind


def ranks_from_distances(D, positions=None):
    """Rank of every column within each row of a distance block (0 = smallest).

    A stable sort makes equal distances rank by column index, the module's tie rule.
    """
    order = np.argsort(D, axis=1, kind="stable")
    if positions is None:
        positions = np.arange(D.shape[1], dtype=np.int32)
    ranks = np.empty(order.shape, dtype=np.int32)
    np.put_along_axis(ranks, order, np.broadcast_to(positions, order.shape), axis=1)
    return ranks


def iter_rank_blocks(X, *, metric="euclidean", working_memory=None, n_copies=4, name="X"):
    """Full-rank mode: yield, block by block, the rank of every point from each row.

    For row i, ``ranks[i, j]`` is the position of sample j in i's neighbour list
    sorted by distance (ties by index): 1 for the nearest neighbour, ``n - 1`` for
    the farthest, and 0 for i itself. A point j is among the k nearest neighbours of
    i exactly when ``1 <= ranks[i, j] <= k``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a square distance matrix
        with ``metric='precomputed'``
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'precomputed'}
    working_memory : float or None
        MiB per block; None takes scikit-learn's config value.
    n_copies : int
        How many (block x n) arrays the caller keeps alive per block (to size
        blocks so the whole pipeline stays near ``working_memory``).

    Yields
    ------
    rows : slice
        The rows of this block.
    ranks : ndarray of shape (rows.stop - rows.start, n_samples), int32
    """
    Xv, aux = prepare_points(X, metric, name=name)
    n = Xv.shape[0]
    step = block_rows(n, working_memory, n_copies=n_copies)
    positions = np.arange(n, dtype=np.int32)
    for rows in gen_batches(n, step):
        D = pairwise_block(Xv, aux, rows, metric)
        yield rows, ranks_from_distances(D, positions)
