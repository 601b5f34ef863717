"""Nearest-neighbour search and neighbour ranks: the one search layer of skalign.

Every neighbourhood method (TAS, mutual k-NN, information imbalance, intrinsic
dimension) gets its neighbours from here, so the conventions hold everywhere:

* the point itself is never its own neighbour;
* neighbours are sorted by distance (for ``metric='ip'``, by decreasing inner
  product), and **ties are broken by sample index** (the lower index is nearer),
  so results are deterministic;
* on the exact backends the order is that of the exact distances of the values
  given, whatever their offset or magnitude (see *Exact order* below);
* the exact path works in row blocks sized by scikit-learn's ``working_memory``
  (``sklearn.set_config(working_memory=...)``, in MiB), so no n x n matrix is
  ever held.

Backends (``algorithm``):

``'brute'``
    Exact. Feature vectors go through scikit-learn's chunked, multithreaded brute
    force (distances by BLAS, memory bounded by ``working_memory``), asked for one
    extra neighbour; rows whose list holds distances too close to order safely
    (ties, in practice duplicated points or lattice data) are redone on skalign's
    own blocked path. Precomputed distances and full-rank mode use the blocked
    path directly.
``'pynndescent'``
    Approximate nearest-neighbour descent (McInnes); imported only here, because
    numba compiles it on first use (tens of seconds).
``'cuml'``
    GPU brute force through RAPIDS cuML, imported only here.
``'auto'``
    ``'brute'`` up to :data:`AUTO_EXACT_MAX_SAMPLES` samples, ``'pynndescent'``
    above.

Inner-product neighbours
------------------------
``metric='ip'`` ranks the other rows j by decreasing :math:`x_i \\cdot x_j`, the
raw inner product, not normalised: the neighbours of Huh et al.'s mutual k-NN
code on the features as given (on L2-normalised rows it is the cosine order). It
is no distance: :math:`x_i \\cdot x_j` may exceed :math:`x_i \\cdot x_i`, and the
point itself is excluded all the same. The order is unchanged by a positive scale
factor and by rotations, but not by a translation. The layer works with the
negated product :math:`-x_i \\cdot x_j` as its "distance" (ascending, self at
:math:`-\\infty`), and returns it as such. It is computed exactly (blocked BLAS
products); pynndescent's ``'dot'`` normalises the rows first (its cosine), and
cuML's inner product is not checked here, so the approximate backends refuse it.

Exact order
-----------
Distances are formed from Gram products, ``D_ij = |x_i|^2 + |x_j|^2 - 2 x_i . x_j``,
in float64. :func:`prepare_search` first makes that safe:

* every representation is multiplied by a power of two ``2^{-e}`` that brings its
  largest absolute value into [1/2, 1): no square overflows or underflows, and the
  scaling is exact, so the order of the distances is unchanged;
* a column whose values all lie far from zero (``lo > hi - lo > 0`` or the mirror
  image) is translated by its midpoint. For every x in such a column
  ``x/2 <= c <= 2x``, so ``x - c`` is exact (Sterbenz's lemma): the translated
  points have exactly the distances of the values given, without the
  cancellation a large common offset causes.

The Gram formula still rounds. Its error is bounded (Higham, ch. 3) by

.. math::

    |\\hat D_{ij} - D_{ij}| \\le (2d + 8)\\, u\\, (\\lVert x_i\\rVert + \\max_j \\lVert x_j\\rVert)^2,
    \\qquad u = 2^{-53},

which also covers the rounding of a distance computed pair by pair. After the
(distance, index) sort, every run of neighbours whose consecutive gaps are within
twice that bound is re-sorted by distances computed pair by pair (from coordinate
differences, exact for float32 and integer data; for cosine, ``1 - u . v`` of the
unit rows in one fixed summation order, so equal operands give equal values), then
by index; a gap wider than twice the bound cannot be an inversion of the exact
order. For ``'ip'`` the Gram value is the product itself, with the error bound
:math:`(2d + 8)\\, u\\, \\lVert x_i\\rVert \\max_j \\lVert x_j\\rVert`, and the exact
order is that of the exact products of the values given: runs are re-sorted by
products summed pair by pair in float64, and products within their rounding of
each other (:math:`(d + 3) u \\lVert x_i\\rVert \\lVert x_j\\rVert`) are compared in
exact rational arithmetic, unless the data lie on a grid coarse enough for every
float64 product and sum to be exact. Where the pair-by-pair values are themselves too close to trust (within
their own rounding, :math:`(d + 3) u` relatively) and the data are not on a grid
coarse enough for float64 to be exact (as integer and lattice data are), the
Euclidean comparison is made in exact rational arithmetic. For data in general
position such runs are rare, and the result is the plain sort's.

References
----------
McInnes, L. (2018). PyNNDescent, https://github.com/lmcinnes/pynndescent (after
Dong, Charikar & Li, "Efficient k-nearest neighbor graph construction for generic
similarity measures", WWW 2011).

Higham, N. J. (2002). *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
SIAM: the rounding-error bound of inner products (ch. 3) and Sterbenz's lemma
(theorem 2.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._progress import progress
from ._validation import (
    check_n_neighbors,
    check_nonconstant,
    check_representation,
    unique_rows,
    warn_duplicates,
)

__all__ = [
    "AUTO_EXACT_MAX_SAMPLES",
    "DISTANCE_METRICS",
    "METRICS",
    "ALGORITHMS",
    "NEIGHBOR_PARAMETER_CONSTRAINTS",
    "PreparedPoints",
    "block_rows",
    "iter_rank_blocks",
    "kneighbors",
    "map_row_ranges",
    "pairwise_block",
    "prepare_points",
    "prepare_search",
    "rank_chunk_rows",
    "rank_row_chunks",
    "ranks_from_distances",
    "resolve_algorithm",
    "search_kneighbors",
    "search_rank_blocks",
    "search_target_ranks",
]

#: Above this many samples ``algorithm='auto'`` switches from exact to approximate
#: search. Exact search costs O(n^2 d); at 50,000 samples and d=128 it takes tens of
#: seconds on a laptop, which is where nearest-neighbour descent starts to pay.
AUTO_EXACT_MAX_SAMPLES = 50_000

#: pynndescent builds a graph of at least this many neighbours, then keeps the k asked for.
PYNNDESCENT_MIN_GRAPH = 40

METRICS = ("euclidean", "sqeuclidean", "cosine", "ip", "precomputed")

#: The metrics that are distances (every one but the inner product), for the
#: methods that need distances themselves and not only an order.
DISTANCE_METRICS = tuple(m for m in METRICS if m != "ip")
ALGORITHMS = ("auto", "brute", "pynndescent", "cuml")

#: Constraints of the search parameters, shared by every function (and estimator)
#: that passes them on.
NEIGHBOR_PARAMETER_CONSTRAINTS = {
    "metric": [StrOptions(set(METRICS))],
    "algorithm": [StrOptions(set(ALGORITHMS))],
    "random_state": ["random_state"],
    "n_jobs": [None, Integral],
    "working_memory": [None, Interval(Real, 0, None, closed="neither")],
}

#: Unit roundoff of float64, the precision every distance is formed in.
_U = 2.0**-53

#: Entries per chunk when distances are recomputed from coordinate differences.
_DIRECT_CHUNK = 2**20

_CUML_HINT = (
    "algorithm='cuml' needs RAPIDS cuML and a CUDA GPU. Install it with "
    "`pip install --extra-index-url=https://pypi.nvidia.com cuml-cu12` (CUDA 12) "
    "or `conda install -c rapidsai -c conda-forge cuml`; see https://docs.rapids.ai/install. "
    "Use algorithm='brute' or 'pynndescent' on a CPU."
)


# -- prepared points --------------------------------------------------------------
@dataclass(eq=False)
class PreparedPoints:
    """One validated representation, ready for distance blocks (from :func:`prepare_search`).

    Attributes
    ----------
    points : ndarray of shape (n_samples, n_features), float64
        For 'euclidean' and 'sqeuclidean', the values given multiplied by
        ``2**-exponent`` with far-from-zero columns translated (both exact, see
        the module docstring); for 'cosine', the rows scaled to unit length; for
        'ip', the values given multiplied by ``2**-exponent`` (not translated: the
        inner product is not translation-invariant); for 'precomputed', the
        (n_samples, n_samples) distance matrix as given.
    aux : ndarray of shape (n_samples,) or None
        Squared row norms of ``points`` (float64) for the Euclidean metrics and
        'ip' (whose error bounds they set).
    metric : str
    exponent : int
        Distances of ``points`` times ``2**exponent`` are the distances of the
        values given (for 'ip', products times ``4**exponent``).
    exact_grid : bool
        Whether every squared distance computed from coordinate differences (for
        'ip', every inner product) in float64 is exact (all values on one grid coarse enough, as for integer or
        lattice data); otherwise runs those values cannot order are settled in
        exact rational arithmetic.
    """

    points: np.ndarray
    aux: np.ndarray | None
    metric: str
    exponent: int = 0
    exact_grid: bool = False
    row_labels: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_samples(self):
        return self.points.shape[0]

    def labels(self):
        """Distinct-row label of every sample (found once, when a tie needs it)."""
        if self.row_labels is None:
            self.row_labels = unique_rows(self.points)[1]
        return self.row_labels

    def take(self, perm):
        """The same representation with its samples reordered by ``perm``.

        Parameters
        ----------
        perm : ndarray of int
            Sample ``i`` of the result is sample ``perm[i]`` of this one.

        Returns
        -------
        PreparedPoints
        """
        if self.metric == "precomputed":
            return replace(self, points=self.points[perm][:, perm])
        aux = None if self.aux is None else self.aux[perm]
        labels = None if self.row_labels is None else self.row_labels[perm]
        return replace(self, points=self.points[perm], aux=aux, row_labels=labels)


def _scale_exponent(A):
    """e such that ``A * 2**-e`` has its largest absolute value in [1/2, 1) (0 for all zeros)."""
    amax = max(float(A.max()), -float(A.min())) if A.size else 0.0
    return int(np.frexp(amax)[1]) if amax > 0 else 0


def _scaled(X):
    """Float64 copy of X scaled exactly by a power of two into [-1, 1), and its exponent.

    A positive scale multiplies every inner product alike, so their order is kept.
    """
    Z = np.array(X, dtype=np.float64, order="C")
    e = _scale_exponent(Z)
    if e:
        np.ldexp(Z, -e, out=Z)
    return Z, e


def _condition(X):
    """Exactly rescaled and translated float64 copy of X, and the exponent undone on output."""
    Z = np.array(X, dtype=np.float64, order="C")
    e = _scale_exponent(Z)
    if e:
        np.ldexp(Z, -e, out=Z)
    lo, hi = Z.min(axis=0), Z.max(axis=0)
    spread = hi - lo  # |Z| < 1: no overflow
    shift = np.zeros(Z.shape[1])
    pos, neg = lo > spread, -hi > spread
    # a midpoint of [lo, hi] lies within a factor 2 of every value: exact differences
    shift[pos] = lo[pos] + 0.5 * spread[pos]
    shift[neg] = hi[neg] - 0.5 * spread[neg]
    if shift.any():
        Z -= shift
    return Z, e


def _unit_rows(X, name):
    Z = np.array(X, dtype=np.float64, order="C")
    rowmax = np.max(np.abs(Z), axis=1)
    if (rowmax == 0).any():
        raise ValueError(
            f"{name} has {int((rowmax == 0).sum())} all-zero row(s); cosine distance is undefined for them."
        )
    # power-of-two row scaling is exact and keeps the norm clear of overflow and underflow
    np.ldexp(Z, -np.frexp(rowmax)[1][:, None], out=Z)
    Z /= np.linalg.norm(Z, axis=1)[:, None]
    return Z


@validate_params(
    {
        "X": ["array-like"],
        "metric": [StrOptions(set(METRICS))],
        "name": [str],
        "min_samples": [Interval(Integral, 2, None, closed="left")],
        "check_structure": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def prepare_search(X, metric="euclidean", *, name="X", min_samples=2, check_structure=False):
    """Validate a representation once and prepare it for exact distance blocks.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) when
        ``metric='precomputed'``
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
    name : str, default='X'
        Argument name for error messages.
    min_samples : int, default=2
        Fewest rows the caller needs.
    check_structure : bool, default=False
        Also refuse a representation whose rows are all one point and warn about
        duplicated rows (whose neighbour order is then set by index); features only.

    Returns
    -------
    prepared : PreparedPoints
        Accepted by :func:`kneighbors`, :func:`iter_rank_blocks`,
        :func:`search_kneighbors` and :func:`search_rank_blocks` without
        validating again.
    """
    X = check_representation(X, name=name, min_samples=min_samples)
    if metric == "precomputed":
        if X.shape[0] != X.shape[1]:
            raise ValueError(
                f"metric='precomputed' needs a square distance matrix; {name} has shape {X.shape}. "
                "Cross-validation splits of precomputed matrices are not supported (scikit-learn "
                "slices a held-out block against the training columns): pass features, or "
                "compute the distance matrices per fold."
            )
        if (X < 0).any():
            raise ValueError(f"{name} is a precomputed distance matrix with negative entries.")
        return PreparedPoints(X, None, metric)
    if check_structure:
        # every neighbour would be a tie broken by index: no structure to compare
        check_nonconstant(X, name)
        warn_duplicates(X, name)
    if metric == "cosine":
        return PreparedPoints(_unit_rows(X, name), None, metric)
    if metric == "ip":
        Z, e = _scaled(X)
        return PreparedPoints(Z, _sq_norms(Z), metric, e, _on_exact_grid(Z))
    Z, e = _condition(X)
    return PreparedPoints(Z, _sq_norms(Z), metric, e, _on_exact_grid(Z))


def _on_exact_grid(Z):
    """Whether float64 differences, squares, products and sums of Z's coordinates are all exact.

    Every value is a multiple of ``2**low`` and below ``2**top`` in magnitude, so a
    squared distance is an integer multiple of ``4**low`` below
    ``d * 4**(top - low + 1)``: exact in float64 when that fits in 53 bits. An
    inner product is a multiple of ``4**low`` below ``d * 4**top``, so the same
    test covers it, whatever the summation order (BLAS blocking, FMA).
    """
    nz = Z[Z != 0]
    if nz.size == 0:
        return True
    m, e = np.frexp(nz)  # nz = m 2**e, 1/2 <= |m| < 1: m 2**53 is an integer
    M = np.abs(np.ldexp(m, 53)).astype(np.int64)
    trailing = np.log2((M & -M).astype(np.float64)).astype(np.int64)
    low = int((e.astype(np.int64) - 53 + trailing).min())
    top = int(np.frexp(np.abs(nz).max())[1])
    return 2 * (top - low + 1) + int(np.ceil(np.log2(Z.shape[1]))) <= 53


def prepare_points(X, metric, name="X"):
    """Validate ``X`` and return what :func:`pairwise_block` needs.

    Parameters
    ----------
    X : array-like
        As in :func:`prepare_search`.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}
        Distance between samples.
    name : str, default='X'
        Argument name for error messages.

    Returns
    -------
    points, aux : ndarray, ndarray or None
        The two fields of :func:`prepare_search`'s result, for callers that form
        distance blocks themselves.
    """
    P = prepare_search(X, metric, name=name)
    return P.points, P.aux


def _as_prepared(X, metric, name):
    if isinstance(X, PreparedPoints):
        if X.metric != metric:
            raise ValueError(
                f"{name} was prepared for metric={X.metric!r}, not metric={metric!r}."
            )
        return X
    return prepare_search(X, metric, name=name)


@validate_params(
    {
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "n_samples": [Interval(Integral, 0, None, closed="left")],
        "metric": [StrOptions(set(METRICS))],
    },
    prefer_skip_nested_validation=True,
)
def resolve_algorithm(algorithm, n_samples, metric="euclidean"):
    """Return the concrete backend that ``algorithm`` means for ``n_samples``.

    Parameters
    ----------
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}
        See the module docstring.
    n_samples : int
        Samples to search among.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'

    Returns
    -------
    backend : {'brute', 'pynndescent', 'cuml'}
        'auto' is always 'brute' for 'precomputed' and 'ip', which only the exact
        backend serves.
    """
    if algorithm == "auto":
        if metric in ("precomputed", "ip") or n_samples <= AUTO_EXACT_MAX_SAMPLES:
            return "brute"
        return "pynndescent"
    if metric == "precomputed" and algorithm != "brute":
        raise ValueError(f"metric='precomputed' needs algorithm='brute' or 'auto'; got {algorithm!r}.")
    if metric == "ip" and algorithm != "brute":
        # pynndescent's 'dot' normalises the rows (it is the cosine order), and cuML's
        # inner product is untested here: neither would give the raw-product order
        raise ValueError(
            f"metric='ip' (raw inner products) needs algorithm='brute' or 'auto'; got "
            f"algorithm={algorithm!r}, whose inner product normalises the rows or is not "
            "supported. Use metric='cosine' for approximate search on normalised rows."
        )
    return algorithm


# -- distance blocks and the exact order --------------------------------------------
def _distance_rows(points, aux, metric, rows):
    """Gram-formula distances from ``points[rows]`` to every row, float64, self at -inf."""
    idx = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else np.asarray(rows)
    return _finish_rows(_gram_rows(points, metric, rows), aux, metric, idx)


def _gram_rows(points, metric, rows):
    """The Gram products of ``points[rows]`` with every row (the rows given, if precomputed)."""
    if metric == "precomputed":
        return np.array(points[rows], dtype=np.float64)
    return np.asarray(points[rows] @ points.T, dtype=np.float64)


def _finish_rows(D, aux, metric, idx):
    """Turn Gram rows into the distances of :func:`_distance_rows`, in place; rows ``idx``."""
    if metric == "cosine":
        np.subtract(1.0, D, out=D)
    elif metric == "ip":
        np.negative(D, out=D)
    elif metric != "precomputed":  # euclidean, sqeuclidean
        D *= -2.0
        D += aux[idx][:, None]
        D += aux[None, :]
        np.maximum(D, 0.0, out=D)
    D[np.arange(idx.size), idx] = -np.inf
    return D


def pairwise_block(X, aux, rows, metric):
    """Distances from ``X[rows]`` to every row of ``X``, as float64, self set to -inf.

    Parameters
    ----------
    X : ndarray
        Points (or a square distance matrix) from :func:`prepare_points`.
    aux : ndarray or None
        Squared row norms of ``X`` for the Euclidean metrics.
    rows : slice
        The rows of ``X`` the block holds.
    metric : str
        The metric ``X`` was prepared for.

    Returns
    -------
    D : ndarray of shape (rows.stop - rows.start, n_samples)

    Notes
    -----
    Any increasing function of the true distance ranks identically, so Euclidean
    search works on squared distances and takes the root only for output. Setting
    the diagonal to -inf pins each point first, which is how it is excluded even
    among exact duplicates. The Gram formula is only as accurate as the module
    docstring's bound; the search functions repair what it cannot order.
    """
    return _distance_rows(X, aux, metric, rows)


def block_rows(n_samples, working_memory=None, n_copies=1):
    """Rows per block so that ``n_copies`` float64 arrays of (rows, n_samples) fit in memory.

    Parameters
    ----------
    n_samples : int
        Columns of each block.
    working_memory : float or None, default=None
        MiB; None takes scikit-learn's config value.
    n_copies : int, default=1
        Arrays of one block's size alive at a time.

    Returns
    -------
    rows : int
        In ``[1, n_samples]``.
    """
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    rows = int(working_memory * 2**20 // (8 * n_samples * n_copies))
    return min(max(rows, 1), n_samples)


def _tie_tolerance(P, idx, ours=True):
    """Per row of ``idx``, the module docstring's bound on a Gram distance's error (None: exact).

    Our own Gram distances of data on an exact grid are exact (``ours``); those of
    scikit-learn pass through a square root and back, so they never are.
    """
    if P.metric == "precomputed" or (ours and P.exact_grid):
        return None
    d = P.points.shape[1]
    if P.metric == "ip":  # |fl(x.y) - x.y| <= gamma_d |x| |y|
        return (2 * d + 8) * _U * np.sqrt(P.aux[idx]) * np.sqrt(P.aux.max())
    if P.aux is None:  # unit rows
        reach = np.full(np.size(idx), 2.0)
    else:
        reach = np.sqrt(P.aux[idx]) + np.sqrt(P.aux.max())
    return (2 * d + 8) * _U * reach**2


def _direct_distances(P, r, c):
    """Distances of the pairs (r[m], c[m]) computed pair by pair, on the Gram scale.

    Euclidean: from coordinate differences, exact for differences of float32 or
    integer data. Cosine: ``1 - u . v`` of the unit rows, one fixed summation per
    pair, so that equal operands (duplicates, disjoint supports) give equal values.
    Inner product: ``-x . y`` in the same fixed order.
    """
    out = np.empty(r.size)
    if not r.size:
        return out
    step = max(1, _DIRECT_CHUNK // max(P.points.shape[1], 1))
    for sl in gen_batches(r.size, step):
        A, B = P.points[r[sl]], P.points[c[sl]]
        if P.metric == "cosine":
            out[sl] = 1.0 - np.einsum("ij,ij->i", A, B)
        elif P.metric == "ip":
            out[sl] = -np.einsum("ij,ij->i", A, B)
        else:
            diff = A - B
            out[sl] = np.einsum("ij,ij->i", diff, diff)
    return out


def _sort_neighbours(dist, ind, row=None):
    """Order neighbour candidates by (distance, index): the module's one tie rule.

    With ``row`` None, ``dist`` and ``ind`` are (n, m) and each row is sorted;
    otherwise they are flat candidate lists and ``row`` says whose candidate each is.
    """
    if row is None:
        o = np.lexsort((ind, dist), axis=-1)
        return np.take_along_axis(dist, o, axis=1), np.take_along_axis(ind, o, axis=1)
    o = np.lexsort((ind, dist, row))
    return dist[o], ind[o], row[o]


def _close_runs(close):
    """Runs of neighbouring sorted entries whose gaps are all ``close``.

    ``close[i]`` says entries i and i + 1 are too close to order as they stand.
    Returns the positions of every entry in such a run, and where each run starts
    within those positions (a run opens where the gap before it is not close).
    """
    member = np.zeros(close.size + 1, dtype=bool)
    member[1:] |= close
    member[:-1] |= close
    pos = np.flatnonzero(member)
    opens = np.ones(pos.size, dtype=bool)
    opens[1:] = ~close[pos[1:] - 1]
    return pos, np.flatnonzero(opens)


def _repair_runs(P, rows_g, dist, ind, row, tol, stable=False):
    """Re-sort, in place, the runs of sorted candidates that the Gram distances cannot order.

    ``dist``, ``ind``, ``row`` are flat and sorted by (row, distance);
    ``rows_g[row]`` is each candidate's query sample and ``tol[row]`` its error
    bound. Within a run of gaps at most ``2 tol`` the candidates are ordered by
    their direct distances, then by index, and take those distances. With ``P``
    None or precomputed, the distances are exact as they are: ``tol`` is 0 and runs
    of equal values are ordered by index.
    """
    if tol is None or dist.size < 2:
        return
    near = row[1:] == row[:-1]
    near &= dist[1:] - dist[:-1] <= 2.0 * tol[row[:-1]]
    if not near.any():
        return
    pos, starts = _close_runs(near)
    sizes = np.diff(np.append(starts, pos.size))
    cols = ind[pos]
    copies = None
    if P is not None and P.metric != "precomputed":
        # copies of one point are at exactly one distance: their order is by index,
        # which a stable sort has already set where their Gram values are equal too
        lab = P.labels()[cols]
        ends = starts + sizes - 1
        copies = _uniform_runs(lab, starts, ends)
        if stable:
            done = copies & _uniform_runs(dist[pos], starts, ends)
            if done.all():
                return
            keep = np.repeat(~done, sizes)
            pos, cols = pos[keep], cols[keep]
            copies, sizes = copies[~done], sizes[~done]
    run = np.repeat(np.arange(sizes.size), sizes)
    if copies is None:
        exact = dist[pos]
    else:
        exact = np.repeat(dist[pos[np.cumsum(sizes) - sizes]], sizes)  # runs ascend: their first
        mixed = ~np.repeat(copies, sizes)
        exact[mixed] = _direct_distances(P, rows_g[row[pos[mixed]]], cols[mixed])
    o = np.lexsort((cols, exact, run))
    cols, exact, run = cols[o], exact[o], run[o]
    if P is not None and P.metric != "cosine" and not P.exact_grid:
        _settle_exactly(P, rows_g[row[pos]][o], cols, exact, run)
    ind[pos] = cols
    dist[pos] = exact


def _uniform_runs(v, starts, ends):
    """Whether ``v`` is constant over each run ``v[starts[i] : ends[i] + 1]``."""
    changes = np.zeros(v.size, dtype=np.int64)
    np.cumsum(v[1:] != v[:-1], out=changes[1:])
    return changes[ends] == changes[starts]


def _settle_exactly(P, r, cols, exact, run):
    """Order, in place, the candidates whose direct distances are too close to trust.

    A squared distance from float64 coordinate differences is within
    ``(d + 3) u`` of its exact value, relatively; an inner product within
    ``(d + 3) u |x| |y|`` (its terms may cancel, so the bound is not relative to the
    value). Consecutive candidates of a run closer than their two bounds (and, for
    distances, not both at 0, which is exact) are compared in exact rational
    arithmetic of the prepared values, which are exact images of the values given.
    """
    from fractions import Fraction

    d = P.points.shape[1]
    close = run[1:] == run[:-1]
    ip = P.metric == "ip"
    if ip:
        err = (d + 3) * _U * 1.01 * np.sqrt(P.aux[r] * P.aux[cols])
        close &= exact[1:] - exact[:-1] <= err[1:] + err[:-1]
    else:
        close &= exact[1:] - exact[:-1] <= (d + 3) * _U * 1.01 * (exact[1:] + exact[:-1])
        close &= exact[1:] > 0
    if not close.any():
        return
    pos, starts = _close_runs(close)
    # a group of copies of one point is an exact tie, already in index order
    lab = P.labels()[cols[pos]]
    mixed = ~_uniform_runs(lab, starts, np.append(starts[1:], pos.size) - 1)
    rows = {}

    def exact_row(i):
        if i not in rows:
            rows[i] = [Fraction(float(v)) for v in P.points[i]]
        return rows[i]

    bounds = np.append(starts, pos.size)
    for g in np.flatnonzero(mixed):
        at = pos[bounds[g] : bounds[g + 1]]
        if ip:  # the larger product is nearer
            keyed = sorted(
                (-sum(a * b for a, b in zip(exact_row(int(r[m])), exact_row(int(cols[m])))), int(cols[m]))
                for m in at
            )
        else:
            keyed = sorted(
                (sum((a - b) ** 2 for a, b in zip(exact_row(int(r[m])), exact_row(int(cols[m])))), int(cols[m]))
                for m in at
            )
        cols[at] = [c for _, c in keyed]
        exact[at] = np.sort(exact[at])


def _topk_rows(P, rows, D, k):
    """Indices and distances of the k nearest of each row of the block D, exact order.

    A value-only partition finds each row's (k+1)-th smallest distance; every entry
    within twice the error bound above it is a candidate (so ties at the boundary
    are all present), and a sort by (row, distance, index) with the repair of
    :func:`_repair_runs` settles the order. This is several times faster than
    ``argpartition``, which also has to carry an index array.
    """
    kk = k + 1
    m, n = D.shape
    idx = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else np.asarray(rows)
    tol = _tie_tolerance(P, idx)
    if kk >= n:
        r, c = np.divmod(np.arange(m * n), n)
        d = D.ravel()
    else:
        kth = np.partition(D, kk - 1, axis=1)[:, kk - 1]
        if tol is not None:
            kth = kth + 2.0 * tol
        r, c = np.nonzero(D <= kth[:, None])
        d = D[r, c]
    d, c, r = _sort_neighbours(d, c, r)
    _repair_runs(P, idx, d, c, r, tol, stable=True)  # lexsort: equal values by index
    starts = np.zeros(m, dtype=np.intp)
    np.cumsum(np.bincount(r, minlength=m)[:-1], out=starts[1:])
    sel = starts[:, None] + np.arange(1, kk)  # position 0 is the point itself (-inf)
    return c[sel], d[sel]


def _topk_of(P, rows, k):
    return _topk_rows(P, rows, _distance_rows(P.points, P.aux, P.metric, rows), k)


def _finish_distances(sq, P):
    """Distances of the values given from squared (or cosine) distances of the prepared points."""
    if P.metric == "euclidean":
        return np.ldexp(np.sqrt(sq), P.exponent)
    if P.metric in ("sqeuclidean", "ip"):
        return np.ldexp(sq, 2 * P.exponent)
    return sq


def search_kneighbors(P, n_neighbors, backend, *, random_state=None, n_jobs=None, working_memory=None):
    """The ``n_neighbors`` nearest neighbours of every prepared sample, without checks.

    The worker behind :func:`kneighbors` for callers that validated already.

    Parameters
    ----------
    P : PreparedPoints
        From :func:`prepare_search`.
    n_neighbors : int
        In ``[1, n_samples - 1]``.
    backend : {'brute', 'pynndescent', 'cuml'}
        A concrete backend, from :func:`resolve_algorithm`.
    random_state : int, RandomState or None, default=None
        Seeds nearest-neighbour descent.
    n_jobs : int or None, default=None
        Threads for pynndescent.
    working_memory : float or None, default=None
        MiB per block on the exact path.

    Returns
    -------
    distances, indices : ndarray of shape (n_samples, n_neighbors)
        As in :func:`kneighbors`.
    """
    k = int(n_neighbors)
    if backend == "brute" and P.metric in ("precomputed", "ip"):
        # scikit-learn's brute force has no inner-product order: our blocked path
        sq, ind = _kneighbors_blocked(P, k, working_memory)
    elif backend == "brute":
        sq, ind = _kneighbors_argkmin(P, k, working_memory)
    elif backend == "pynndescent":
        sq, ind = _kneighbors_pynndescent(P, k, random_state, n_jobs)
    else:
        sq, ind = _kneighbors_cuml(P, k)
    return _finish_distances(sq, P), ind


@validate_params(
    {
        "X": ["array-like", PreparedPoints],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        **NEIGHBOR_PARAMETER_CONSTRAINTS,
        "return_distance": ["boolean"],
        "name": [str],
    },
    prefer_skip_nested_validation=True,
)
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
        ``metric='precomputed'``, or PreparedPoints
        A :class:`PreparedPoints` is used as it is, without validating again.
    n_neighbors : int
        Neighbours per point, in ``[1, n_samples - 1]``.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
        Cosine distance is ``1 - cos``; 'ip' orders by decreasing inner product
        (see the module docstring) and needs the exact backend.
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        See the module docstring.
    random_state : int, RandomState or None, default=None
        Seeds nearest-neighbour descent; the exact paths are deterministic.
    n_jobs : int or None, default=None
        Threads for pynndescent; the exact path uses the threads of BLAS.
    working_memory : float or None, default=None
        MiB per block on the exact path; None takes scikit-learn's config value.
    return_distance : bool, default=True
        Also return the distances.
    name : str, default='X'
        Argument name for error messages.

    Returns
    -------
    distances : ndarray of shape (n_samples, n_neighbors), float64
        Only when ``return_distance``; ascending along each row. For 'ip', the
        negated inner products ``-x_i . x_j``.
    indices : ndarray of shape (n_samples, n_neighbors), intp
        ``indices[i, r]`` is the (r+1)-th nearest neighbour of sample i. On the
        exact path, in the order of the exact distances, ties broken by index.
    """
    P = _as_prepared(X, metric, name)
    n = P.n_samples
    k = check_n_neighbors(n_neighbors, n, name="n_neighbors")
    backend = resolve_algorithm(algorithm, n, metric)
    dist, ind = search_kneighbors(
        P, k, backend, random_state=random_state, n_jobs=n_jobs, working_memory=working_memory
    )
    return (dist, ind) if return_distance else ind


def _kneighbors_blocked(P, k, working_memory):
    """Exact search over row blocks of the distance matrix (the reference path)."""
    n = P.n_samples
    ind = np.empty((n, k), dtype=np.intp)
    dist = np.empty((n, k), dtype=np.float64)
    step = block_rows(n, working_memory, n_copies=3)
    for rows in gen_batches(n, step):
        ind[rows], dist[rows] = _topk_of(P, rows, k)
    return dist, ind


def _kneighbors_argkmin(P, k, working_memory):
    """Exact search through scikit-learn's chunked, multithreaded brute force.

    scikit-learn is asked for one neighbour more than needed and sorted by
    (distance, index). A row where two consecutive distances of that list lie
    within twice the error bound (a tie, in or across the k-th place) could be out
    of the exact order and is redone on the blocked path. Cosine rows are
    unit-normalised, so their Euclidean order is the cosine order.
    """
    from sklearn import config_context
    from sklearn.neighbors import NearestNeighbors

    n = P.n_samples
    m = min(k + 1, n - 1)
    wm = get_config()["working_memory"] if working_memory is None else working_memory
    with config_context(working_memory=wm):
        nn = NearestNeighbors(n_neighbors=m, algorithm="brute", metric="euclidean").fit(P.points)
        dist, ind = nn.kneighbors()  # no X: each point is left out of its own list
    sq = dist.astype(np.float64, copy=False) ** 2
    if P.metric == "cosine":
        sq /= 2.0  # |u - v|^2 = 2 - 2 cos for unit vectors
    sq, ind = _sort_neighbours(sq, ind.astype(np.intp, copy=False))
    tol = _tie_tolerance(P, np.arange(n), ours=False)
    redo = np.flatnonzero((np.diff(sq, axis=1) <= 2.0 * tol[:, None]).any(axis=1))
    sq, ind = sq[:, :k], ind[:, :k]
    step = block_rows(n, working_memory, n_copies=3)
    for sl in gen_batches(redo.size, step) if redo.size else ():
        rows = redo[sl]
        ind[rows], sq[rows] = _topk_of(P, rows, k)
    return sq, ind


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


def _kneighbors_pynndescent(P, k, random_state, n_jobs):
    try:
        from pynndescent import NNDescent
    except ImportError as exc:  # pragma: no cover - core dependency
        raise ImportError("algorithm='pynndescent' needs the pynndescent package: pip install pynndescent") from exc
    rs = check_random_state(random_state)
    seed = int(rs.randint(np.iinfo(np.int32).max))
    # A graph of only k+1 neighbours converges poorly (recall@10 was 0.39 on 128-d
    # Gaussian data); building a wider one and truncating gave 0.93-0.99 at a small cost.
    n_build = min(max(k + 1, PYNNDESCENT_MIN_GRAPH), P.n_samples - 1)
    index = NNDescent(
        np.ascontiguousarray(P.points, dtype=np.float32),
        n_neighbors=n_build,
        metric="cosine" if P.metric == "cosine" else "euclidean",
        random_state=seed,
        n_jobs=1 if n_jobs is None else n_jobs,
        low_memory=True,
        compressed=True,
    )
    ind, dist = index.neighbor_graph
    ind = np.asarray(ind, dtype=np.intp)
    dist = np.asarray(dist, dtype=np.float64)
    # pynndescent pads unfilled slots with -1
    dist = np.where(ind < 0, np.inf, dist)
    dist, ind = _sort_neighbours(dist, ind)
    dist, ind = _drop_self(ind, dist, n_build - 1)
    dist, ind = dist[:, :k], ind[:, :k]
    short = np.flatnonzero((ind < 0).any(axis=1))
    if short.size:
        # an unfilled slot would silently index the last row downstream
        raise ValueError(
            f"pynndescent found fewer than n_neighbors={k} neighbours for {short.size} point(s) "
            f"(e.g. row {short[0]}); use algorithm='brute' or a smaller n_neighbors."
        )
    return (dist if P.metric == "cosine" else dist**2), ind


def _kneighbors_cuml(P, k):
    try:
        from cuml.neighbors import NearestNeighbors
    except ImportError as exc:
        raise ImportError(_CUML_HINT) from exc
    cm = "cosine" if P.metric == "cosine" else "euclidean"
    nn = NearestNeighbors(n_neighbors=k + 1, metric=cm, algorithm="brute", output_type="numpy")
    nn.fit(P.points)
    dist, ind = nn.kneighbors(P.points)
    ind = np.asarray(ind, dtype=np.intp)
    dist = np.asarray(dist, dtype=np.float64)
    dist, ind = _sort_neighbours(dist, ind)
    dist, ind = _drop_self(ind, dist, k)
    return (dist if P.metric == "cosine" else dist**2), ind


# -- full ranks -----------------------------------------------------------------------
def ranks_from_distances(D, positions=None):
    """Rank of every column within each row of a distance block (0 = smallest).

    Equal distances rank by column index, the module's tie rule.

    Parameters
    ----------
    D : ndarray of shape (n_rows, n_columns)
        Distances.
    positions : ndarray of shape (n_columns,), int32, optional
        ``arange(n_columns)``, passed in to reuse it across blocks.

    Returns
    -------
    ranks : ndarray of shape (n_rows, n_columns), int32
    """
    return _ranks_from_order(_row_order(D), positions)


def _ranks_from_order(order, positions=None):
    if positions is None:
        positions = np.arange(order.shape[1], dtype=np.int32)
    ranks = np.empty(order.shape, dtype=np.int32)
    # row by row: a 1-D scatter is faster than put_along_axis's broadcast index
    for i in range(order.shape[0]):
        ranks[i, order[i]] = positions
    return ranks


#: Rows per pass when a block's sorted distances are scanned for (near) ties.
_SCAN_ROWS = 64

#: Distances per chunk of rows ranked in one go (2 MiB of float64): a chunk's
#: distances, order and ranks stay in cache between the passes over them.
_CACHE_ENTRIES = 2**18


def _row_order(D, P=None, idx=None):
    """Column order of every row of D by exact distance, then index.

    Exact values (given distances, or Gram distances of data on an exact grid) take
    a stable sort, which puts equal values in index order. Otherwise numpy's
    default sort, unstable but 4-5 times faster than the stable one on float64
    rows, is followed by :func:`_repair_runs` on the runs of equal or nearly equal
    values found by scanning the sorted values; with duplicated rows present, the
    stable sort is kept, since it already orders most of their many runs. Rows
    without runs keep the plain sort, which is then the only order there is.
    """
    tol = None if P is None else _tie_tolerance(P, idx)
    if tol is None:  # the values are exact: a stable sort puts equal ones in index order
        return np.argsort(D, axis=1, kind="stable")
    # with copies of points present, runs of equal values are common and a stable
    # sort already orders most of them
    stable = bool(P.labels().max() + 1 < P.n_samples)
    order = np.argsort(D, axis=1, kind="stable" if stable else None)
    n = D.shape[1]
    # rows are scanned one at a time (a 1-D take is faster than take_along_axis);
    # only rows holding a run are gathered again and repaired
    tied = np.zeros(D.shape[0], dtype=bool)
    for i in range(D.shape[0]):
        s = D[i].take(order[i])
        tied[i] = (s[1:] - s[:-1] <= 2.0 * tol[i]).any()
    todo = np.flatnonzero(tied)
    for sl in gen_batches(todo.size, _SCAN_ROWS) if todo.size else ():
        sub = todo[sl]
        o = order[sub]
        S = np.take_along_axis(D[sub], o, axis=1)
        b = o.shape[0]
        r = np.repeat(np.arange(b), n)
        c, d = o.ravel().copy(), S.ravel()
        _repair_runs(P, idx[sub], d, c, r, tol[sub], stable)
        order[sub] = c.reshape(b, n)
    return order


def _exact_ranks(P, rows, D, positions):
    """Ranks of a block of P's distances in the exact order."""
    return _ranks_from_order(_row_order(D, P, np.arange(rows.start, rows.stop)), positions)


def search_rank_blocks(P, *, working_memory=None, n_copies=4, n_jobs=None, verbose=0):
    """Full-rank blocks of a prepared representation, without checks.

    The worker behind :func:`iter_rank_blocks`, for callers that validated already.

    Parameters
    ----------
    P : PreparedPoints
        From :func:`prepare_search`.
    working_memory : float or None, default=None
        MiB per block; None takes scikit-learn's config value.
    n_copies : int, default=4
        As in :func:`iter_rank_blocks`.
    n_jobs : int or None, default=None
        Threads per block, see :func:`map_row_ranges`; the blocks and their ranks
        are the same for every value.
    verbose : int, default=0
        Show a progress bar over the blocks when > 0.

    Yields
    ------
    rows : slice
    ranks : ndarray of shape (rows.stop - rows.start, n_samples), int32
        As in :func:`iter_rank_blocks`.
    """
    n = P.n_samples
    step = block_rows(n, working_memory, n_copies=n_copies)
    positions = np.arange(n, dtype=np.int32)
    batches = list(gen_batches(n, step))
    for rows in progress(batches, len(batches), verbose=verbose, desc="neighbour ranks", unit="block"):
        out = np.empty((rows.stop - rows.start, n), dtype=np.int32)

        def fill(lo, hi, rows=rows, out=out):
            # each thread takes a slice of the block's rows: ranks are per row, so
            # the split changes no value, and the block's memory is shared out
            a = rows.start
            for c, e, ranks in rank_row_chunks(P, a + lo, a + hi, positions):
                out[c - a : e - a] = ranks

        map_row_ranges(fill, out.shape[0], n_jobs)
        yield rows, out


def rank_chunk_rows(n_samples):
    """Rows per chunk of :func:`rank_row_chunks` (``_CACHE_ENTRIES`` distances)."""
    return max(_CACHE_ENTRIES // max(int(n_samples), 1), 1)


def rank_row_chunks(P, start, stop, positions=None):
    """Exact ranks of rows ``start:stop`` of P, in cache-sized chunks, without checks.

    The Gram rows of the whole range come from one BLAS product; the rest goes
    chunk by chunk: distances finished, sorted and scanned while they are in cache,
    not streamed through memory once per pass (20% of the time at n=4,000). The
    exact order makes the ranks independent of the chunking. Callers run it in
    their own threads (:func:`map_row_ranges`), one range each.

    Parameters
    ----------
    P : PreparedPoints
        From :func:`prepare_search`.
    start, stop : int
        Rows to rank.
    positions : ndarray of int32 or None, default=None
        ``arange(n_samples)``, reused across calls when given.

    Yields
    ------
    c, e : int
        The chunk's rows, ``c:e``.
    ranks : ndarray of shape (e - c, n_samples), int32
        As in :func:`iter_rank_blocks`; ``e - c`` is :func:`rank_chunk_rows`
        but in the last chunk.
    """
    n = P.n_samples
    if positions is None:
        positions = np.arange(n, dtype=np.int32)
    chunk = rank_chunk_rows(n)
    G = _gram_rows(P.points, P.metric, slice(start, stop))
    for c in range(start, stop, chunk):
        e = min(c + chunk, stop)
        D = _finish_rows(G[c - start : e - start], P.aux, P.metric, np.arange(c, e))
        yield c, e, _exact_ranks(P, slice(c, e), D, positions)


def map_row_ranges(fn, n_rows, n_jobs=None):
    """Call ``fn(lo, hi)`` on contiguous row ranges covering ``[0, n_rows)``, in threads.

    numpy's sorts, gathers and BLAS products release the GIL, so threads over row
    ranges scale without copying data to processes. BLAS is held at one thread per
    worker while they run, so that the workers do not oversubscribe the cores.

    Parameters
    ----------
    fn : callable
        ``fn(lo, hi)`` does the work of rows ``lo:hi``; its return value is ignored.
        Ranges never overlap, so ``fn`` may write into a shared output.
    n_rows : int
        Rows to cover.
    n_jobs : int or None, default=None
        Threads, as in joblib: None is 1, -1 every core.
    """
    from joblib import effective_n_jobs

    workers = min(max(int(effective_n_jobs(n_jobs)), 1), max(int(n_rows), 1))
    if workers == 1:
        fn(0, n_rows)
        return
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    edges = np.linspace(0, n_rows, workers + 1).astype(int)
    with threadpool_limits(limits=1), ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(fn, int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:])]
        for f in futures:
            f.result()  # re-raises a worker's error here


def search_target_ranks(P, targets, *, working_memory=None):
    """Rank, from each sample i, of the samples ``targets[i]``, without checks.

    The ranks are those of :func:`search_rank_blocks` (exact distance, then index;
    1 = nearest), found by counting the samples nearer than each target: O(n k) per
    row instead of a sort. Where a Gram distance lies within its error bound of a
    target's, counting could misplace it, and that row is ranked by the full exact
    order instead.

    Parameters
    ----------
    P : PreparedPoints
        From :func:`prepare_search`.
    targets : ndarray of shape (n_samples, k), int
        Column indices to rank in each row.
    working_memory : float or None, default=None
        MiB per block; None takes scikit-learn's config value.

    Returns
    -------
    ranks : ndarray of shape (n_samples, k), int64
    """
    n = P.n_samples
    targets = np.asarray(targets, dtype=np.intp)
    k = targets.shape[1]
    step = block_rows(n, working_memory, n_copies=2 + k)
    cols = np.arange(n)
    ranks = np.empty((n, k), dtype=np.int64)
    for rows in gen_batches(n, step):
        idx = np.arange(rows.start, rows.stop)
        D = _distance_rows(P.points, P.aux, P.metric, rows)
        t = targets[rows]
        dt = np.take_along_axis(D, t, axis=1)
        tol = _tie_tolerance(P, idx)
        unsure = np.zeros(idx.size, dtype=bool)
        for c in range(k):
            ref = dt[:, c : c + 1]
            below = np.count_nonzero(D < ref, axis=1)
            tied = np.count_nonzero((D == ref) & (cols[None, :] < t[:, c : c + 1]), axis=1)
            ranks[rows.start + np.arange(idx.size), c] = below + tied
            if tol is not None:
                # the target itself is always in its own band
                band = np.count_nonzero(np.abs(D - ref) <= 2.0 * tol[:, None], axis=1)
                unsure |= band > 1
        redo = np.flatnonzero(unsure)
        if redo.size:
            order = _row_order(D[redo], P, idx[redo])
            full = _ranks_from_order(order)
            ranks[idx[redo]] = np.take_along_axis(full, t[redo], axis=1)
    return ranks


@validate_params(
    {
        "X": ["array-like", PreparedPoints],
        "metric": [StrOptions(set(METRICS))],
        "working_memory": [None, Interval(Real, 0, None, closed="neither")],
        "n_copies": [Interval(Integral, 1, None, closed="left")],
        "name": [str],
    },
    prefer_skip_nested_validation=True,
)
def iter_rank_blocks(X, *, metric="euclidean", working_memory=None, n_copies=4, name="X"):
    """Full-rank mode: yield, block by block, the rank of every point from each row.

    For row i, ``ranks[i, j]`` is the position of sample j in i's neighbour list
    sorted by exact distance (for 'ip', by decreasing inner product; ties by
    index): 1 for the nearest neighbour,
    ``n - 1`` for the farthest, and 0 for i itself. A point j is among the k nearest
    neighbours of i exactly when ``1 <= ranks[i, j] <= k``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a square distance matrix
        with ``metric='precomputed'``, or PreparedPoints
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
    working_memory : float or None, default=None
        MiB per block; None takes scikit-learn's config value.
    n_copies : int, default=4
        How many (block x n) arrays the caller keeps alive per block (to size
        blocks so the whole pipeline stays near ``working_memory``).
    name : str, default='X'
        Argument name for error messages.

    Returns
    -------
    blocks : iterator of (slice, ndarray)
        ``(rows, ranks)`` per block: the rows of the block, and their ranks, an
        int32 array of shape (rows.stop - rows.start, n_samples).
    """
    P = _as_prepared(X, metric, name)
    # validation runs here, not at the first next(): errors surface at the call
    return search_rank_blocks(P, working_memory=working_memory, n_copies=n_copies)
