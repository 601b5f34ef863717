r"""Neighbourhood alignment across scales: the Topological Alignment Spectrum family.

Two representations X and Y of the same n samples are compared through the
k-nearest-neighbour sets of every sample, for every neighbourhood size k at once.

Definitions (Tavares, Ayres & Smaragdis 2024, as in the authors' reference code):
:math:`N_k^X(i)` is the set of the k nearest neighbours of sample i in X, i itself
excluded, ties broken by sample index (the convention of :mod:`skalign.neighbors`);
the overlap, the per-point Jaccard index and its mean are

.. math::

    o_i(k) = |N_k^X(i) \cap N_k^Y(i)|, \qquad
    J_i(k) = \frac{o_i(k)}{2k - o_i(k)}, \qquad
    J(k) = \frac{1}{n} \sum_i J_i(k).

The chance level :math:`E_k` is either the published one (``'paper'``) or the
expected Jaccard of two independent uniformly random k-subsets of the other
n - 1 samples (``'exact'``, with :math:`I` their hypergeometric overlap):

.. math::

    E_k^{\mathrm{paper}} = \frac{k}{2(n-1) - k}, \qquad
    E_k^{\mathrm{exact}} = \mathbb{E}\left[\frac{I}{2k - I}\right],\quad
    I \sim \mathrm{Hypergeometric}(n-1, k, k),

and the spectrum, not clipped (below 0 the neighbourhoods overlap less than
chance: anti-alignment), is

.. math::

    \mathrm{TAS}(k) = \frac{J(k) - E_k}{1 - E_k}.

With the paper's chance level :math:`\mathrm{TAS}(k) \ge -(1 - k/(n-1))` for
k > (n-1)/2 and :math:`\ge -k/(2(n-1-k))` below, so it never goes under -1/2.

Siblings sharing the same machinery: the mutual k-NN alignment of Huh et al.
(2024), the mean of :math:`o_i(k)/k`, and the raw k-NN Jaccard :math:`J(k)`.
Every member takes ``metric='ip'``, neighbours by decreasing inner product (the
setting of Huh et al.'s code on features as given); it is exact only, and its
order is not invariant to translation.

One pass for every k
--------------------
j lies in both k-neighbourhoods of i exactly when
:math:`\max(\mathrm{rank}_X(i,j), \mathrm{rank}_Y(i,j)) \le k`. A per-row histogram
of that maximum, cumulated, gives :math:`o_i(k)` for every k at once, in
:math:`O(n^2)` after the two rankings; rows are streamed in blocks
(:func:`skalign.neighbors.rank_row_chunks`), so memory stays bounded by
``working_memory``. With ``n_jobs`` > 1 the rows of each block (their distances,
sorts and histograms) are shared out among threads, which numpy's sorts and BLAS
let run in parallel. Ranks used once, as in :func:`tas_score`, are not held but
computed inside those threads, both representations chunk by chunk, so that one
thread's sorts overlap the other's counting (which holds the GIL). Per-row values
are summed in row order whatever the blocks, the threads and which ranks are
held, so the results are the same bit for bit. With k_max-neighbour lists (approximate search, or few small
k), a neighbour present in both lists counts from k = the larger of its two list
positions, which gives the spectrum for :math:`k \le k_{\max}` in
:math:`O(n k_{\max})`.

Preparation and combination
---------------------------
:func:`prepare_neighborhoods` does all the work that depends on one representation
(validation, the rank matrix when it fits in :data:`RANK_CACHE_MAX_BYTES`, or the
k_max-neighbour lists), :func:`combine_neighborhoods` turns two prepared
representations into the overlap spectrum, and :func:`combine_tas` into the
chance-normalised summary; :func:`tas_spectrum` is exactly the two composed.

References
----------
Tavares, Ayres & Smaragdis (2024), "Diagnosing Neural Convergence with
Topological Alignment Spectra", arXiv:2411.08687.

Huh, Cheung, Wang & Isola (2024), "The Platonic Representation Hypothesis", ICML.

Phipson & Smyth (2010), "Permutation p-values should never be zero", Statistical
Applications in Genetics and Molecular Biology 9(1).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy.stats import hypergeom
from sklearn import get_config
from sklearn.utils import Bunch, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._progress import progress
from ._validation import check_n_neighbors, check_random_state, check_same_samples
from .neighbors import (
    NEIGHBOR_PARAMETER_CONSTRAINTS,
    PreparedPoints,
    block_rows,
    map_row_ranges,
    prepare_search,
    rank_chunk_rows,
    rank_row_chunks,
    resolve_algorithm,
    search_kneighbors,
    search_rank_blocks,
)

__all__ = [
    "CHANCE_LEVELS",
    "SUMMARIES",
    "TAS_PARAMETER_CONSTRAINTS",
    "PreparedNeighborhoods",
    "combine_neighborhoods",
    "combine_tas",
    "knn_jaccard",
    "mutual_knn_alignment",
    "permutation_pvalues",
    "prepare_neighborhoods",
    "resolve_n_neighbors",
    "summarize_spectrum",
    "tas_chance",
    "tas_from_jaccard",
    "tas_score",
    "tas_spectrum",
]

#: Fewest samples the spectrum is defined for: k must lie in [1, n - 2].
MIN_SAMPLES = 4

#: Largest neighbourhood of the default log-spaced grid on the approximate path.
DEFAULT_K_MAX = 100

#: Points of the default log-spaced grid on the approximate path.
DEFAULT_GRID_SIZE = 32

#: Memory (bytes) one representation's full rank matrix may take in
#: :func:`prepare_neighborhoods`; above it the validated points are kept instead and
#: ranks are recomputed block by block in every combination. Ranks are stored as
#: uint16 up to 65,536 samples, so 256 MiB holds the matrix up to n = 11,585.
RANK_CACHE_MAX_BYTES = 256 * 2**20

#: On the exact backend, explicit neighbourhood sizes all at most this fraction of
#: n use k_max-neighbour lists (O(n k_max) memory and combination) instead of full
#: ranks (O(n^2)).
LIST_PATH_MAX_FRACTION = 0.25

#: (block x n) float64-sized arrays alive per side when ranks are computed during the
#: combination (int32 rank rows, and the float64 Gram rows of a computed side);
#: sizes the row blocks so that both sides together stay near ``working_memory``.
_N_COPIES = 8

#: Entries of a block's rank rows per chunk when their overlaps are counted.
_OVERLAP_CHUNK_ENTRIES = 2**17

CHANCE_LEVELS = ("paper", "exact")
SUMMARIES = ("mean", "max", "min")

#: Parameter constraints of the family, shared by its functions and
#: :class:`skalign.TopologicalAlignmentSpectrum`.
TAS_PARAMETER_CONSTRAINTS = {
    "n_neighbors": [
        None,
        Interval(Integral, 1, None, closed="left"),
        Interval(Real, 0, 1, closed="neither"),
        "array-like",
    ],
    "summary": [StrOptions(set(SUMMARIES))],
    "chance": [StrOptions(set(CHANCE_LEVELS))],
    "metric": NEIGHBOR_PARAMETER_CONSTRAINTS["metric"],
    "algorithm": NEIGHBOR_PARAMETER_CONSTRAINTS["algorithm"],
    "n_permutations": [Interval(Integral, 0, None, closed="left")],
    "random_state": NEIGHBOR_PARAMETER_CONSTRAINTS["random_state"],
    "n_jobs": NEIGHBOR_PARAMETER_CONSTRAINTS["n_jobs"],
    "verbose": ["verbose"],
}

# The functions check the sizes against the data themselves (resolve_n_neighbors),
# so that an out-of-range size is reported with the range that n allows.
_FUNCTION_CONSTRAINTS = {
    **TAS_PARAMETER_CONSTRAINTS,
    "X": ["array-like"],
    "Y": ["array-like"],
    "n_neighbors": [None, Real, "array-like"],
    "working_memory": NEIGHBOR_PARAMETER_CONSTRAINTS["working_memory"],
    "name": [str],
}


def _constraints(*names, **extra):
    return {**{k: _FUNCTION_CONSTRAINTS[k] for k in names}, **extra}


_PAIR_PARAMETERS = ("X", "Y", "n_neighbors", "metric", "algorithm", "random_state", "n_jobs",
                    "working_memory")


# -- neighbourhood sizes ------------------------------------------------------
@validate_params(
    _constraints(
        "n_neighbors",
        n_samples=[Integral],
        approximate=["boolean"],
        k_max=[Interval(Integral, 1, None, closed="left")],
    ),
    prefer_skip_nested_validation=True,
)
def resolve_n_neighbors(n_neighbors, n_samples, *, approximate=False, k_max=DEFAULT_K_MAX):
    """Turn an ``n_neighbors`` specification into sorted integer neighbourhood sizes.

    Parameters
    ----------
    n_neighbors : None, int, float in (0, 1), or array-like of int/float
        None: every k in ``[1, n - 2]`` (``approximate=False``) or a log-spaced grid
        of :data:`DEFAULT_GRID_SIZE` points up to ``min(k_max, n - 2)``
        (``approximate=True``). An int is a neighbour count in ``[1, n - 2]``. A float
        in (0, 1) is a fraction of ``n - 1``: ``k = round(f (n - 1))`` clipped to
        ``[1, n - 2]``, so one setting means the same scale on folds of different size.
    n_samples : int
        Rows of the data the sizes apply to.
    approximate : bool, default=False
        Which default grid None stands for.
    k_max : int, default=100
        Largest k of the approximate default grid.

    Returns
    -------
    ks : ndarray of int64
        Sorted, without repeats.
    """
    n = int(n_samples)
    if n < MIN_SAMPLES:
        raise ValueError(
            f"The neighbourhood spectrum needs at least {MIN_SAMPLES} samples (k ranges over "
            f"[1, n - 2]); got n_samples={n}."
        )
    upper = n - 2
    if n_neighbors is None:
        if not approximate:
            return np.arange(1, upper + 1, dtype=np.int64)
        top = min(int(k_max), upper)
        return np.unique(np.round(np.geomspace(1, top, DEFAULT_GRID_SIZE)).astype(np.int64))
    values = np.atleast_1d(
        np.asarray(n_neighbors, dtype=object) if not np.isscalar(n_neighbors) else [n_neighbors]
    )
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"n_neighbors must be a scalar or a non-empty 1-D array; got {n_neighbors!r}."
        )
    ks = []
    for v in values.tolist():
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(f"n_neighbors entries must be int or float, not bool; got {v!r}.")
        if isinstance(v, numbers.Integral):
            ks.append(check_n_neighbors(int(v), n, name="n_neighbors", max_k=upper))
        elif isinstance(v, numbers.Real):
            f = float(v)
            if not 0.0 < f < 1.0:
                raise ValueError(
                    "A float n_neighbors is a fraction of n_samples - 1 and must lie in (0, 1); "
                    f"got {v!r}. "
                    f"Pass an int for a neighbour count in [1, {upper}] (n_samples={n})."
                )
            ks.append(int(min(max(round(f * (n - 1)), 1), upper)))
        else:
            raise TypeError(
                f"n_neighbors entries must be int or float; got {v!r} of type {type(v).__name__}."
            )
    return np.unique(np.asarray(ks, dtype=np.int64))


# -- chance level and normalisation -------------------------------------------
@validate_params(
    {
        "ks": ["array-like", Integral],
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "kind": _FUNCTION_CONSTRAINTS["chance"],
    },
    prefer_skip_nested_validation=True,
)
def tas_chance(ks, n_samples, kind="paper"):
    r"""Expected mean Jaccard of the k-neighbourhoods of two unrelated representations.

    Parameters
    ----------
    ks : array-like of int
        Neighbourhood sizes, each in ``[1, n - 1]``.
    n_samples : int
        Samples n of the representations.
    kind : {'paper', 'exact'}, default='paper'
        ``'paper'``: the Jaccard of the expected overlap :math:`k^2/(n-1)`
        (Tavares et al. 2024); ``'exact'``: the expectation over the
        hypergeometric overlap, summed over its support with scipy's pmf (see
        the module docstring). By Jensen's inequality ``'exact' >= 'paper'``; the
        two differ by less than 2e-3 at n = 500.

    Returns
    -------
    chance : ndarray of float64

    Notes
    -----
    The exact sum is truncated to :math:`|I - k^2/(n-1)| \le 6 \sqrt{k} + 1`; by
    Hoeffding's bound for sampling without replacement the mass left out is below
    :math:`2 e^{-72}`, and the summand lies in [0, 1], so the truncation error is
    below 1e-30.
    """
    ks = np.asarray(ks, dtype=np.int64)
    m = int(n_samples) - 1
    if ks.size and (ks.min() < 1 or ks.max() > m):
        raise ValueError(f"neighbourhood sizes must lie in [1, {m}] for n_samples={n_samples}.")
    kf = ks.astype(np.float64)
    if kind == "paper":
        return kf / (2.0 * m - kf)
    out = np.empty(ks.shape, dtype=np.float64)
    flat_k = ks.ravel()
    flat_out = out.ravel()
    mean = flat_k.astype(np.float64) ** 2 / m
    half = np.ceil(6.0 * np.sqrt(flat_k) + 1.0).astype(np.int64)
    lo = np.maximum(np.maximum(0, 2 * flat_k - m), np.floor(mean).astype(np.int64) - half)
    hi = np.minimum(flat_k, np.ceil(mean).astype(np.int64) + half)
    width = int((hi - lo).max()) + 1 if flat_k.size else 1
    # evaluate the pmf on a (chunk of k) x (support window) grid, a few MB at a time
    step = max(1, 2**21 // width)
    offs = np.arange(width, dtype=np.int64)
    for sl in gen_batches(flat_k.size, step):
        k = flat_k[sl, None]
        i = lo[sl, None] + offs
        valid = i <= hi[sl, None]
        i = np.where(valid, i, lo[sl, None])
        p = hypergeom.pmf(i, m, k, k)
        p = np.where(valid, p, 0.0)
        flat_out[sl] = (p * (i / (2.0 * k - i))).sum(axis=1)
    return flat_out.reshape(ks.shape)


@validate_params(
    {"jaccard": ["array-like", Real], "chance": ["array-like", Real]},
    prefer_skip_nested_validation=True,
)
def tas_from_jaccard(jaccard, chance):
    """Chance-normalised Jaccard: ``(J - E) / (1 - E)``, and 1 where ``E = 1``.

    ``E = 1`` only at ``k = n - 1``, where both neighbourhoods hold every other
    sample and agree trivially.

    Parameters
    ----------
    jaccard : array-like of float
        Mean Jaccard index at each k.
    chance : array-like of float
        Its chance level at the same k (:func:`tas_chance`).

    Returns
    -------
    tas : ndarray of float64
    """
    jaccard = np.asarray(jaccard, dtype=np.float64)
    chance = np.asarray(chance, dtype=np.float64)
    denom = 1.0 - chance
    full = denom <= 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        tas = (jaccard - chance) / np.where(full, 1.0, denom)
    return np.where(full, 1.0, tas)


@validate_params(
    {"tas": ["array-like"], "summary": _FUNCTION_CONSTRAINTS["summary"]},
    prefer_skip_nested_validation=True,
)
def summarize_spectrum(tas, summary="mean"):
    """Reduce a spectrum to one number: its mean, max or min over the swept k.

    Parameters
    ----------
    tas : array-like of float
        TAS at the swept sizes.
    summary : {'mean', 'max', 'min'}, default='mean'

    Returns
    -------
    score : float
    """
    return float(getattr(np, summary)(tas))


# -- per-representation preparation --------------------------------------------
@dataclass(eq=False, repr=False)
class PreparedNeighborhoods:
    """What :func:`prepare_neighborhoods` keeps of one representation.

    Attributes
    ----------
    n_samples : int
    ks : ndarray of int64
        The neighbourhood sizes this preparation serves.
    mode : {'ranks', 'points', 'lists'}
        ``'ranks'``: the full rank matrix ``ranks[i, j]`` (0 = self) is held;
        ``'points'``: the prepared points are held and ranks are streamed in blocks;
        ``'lists'``: the ``k_max`` nearest neighbours of every sample are held.
    data : ndarray or skalign.neighbors.PreparedPoints
        The rank matrix (uint16 or int32), the (n, k_max) lists, or the points.
    metric : str
    backend : str
    """

    n_samples: int
    ks: np.ndarray
    mode: str
    data: np.ndarray | PreparedPoints
    metric: str
    backend: str
    n_jobs: int | None = None

    def permute(self, perm):
        """The same representation with its samples reordered by ``perm``.

        Held ranks and lists are relabelled, never recomputed (``Z[perm]`` ranks
        j from i as Z ranks ``perm[j]`` from ``perm[i]``); held points are reordered.

        Parameters
        ----------
        perm : ndarray of int
            Sample ``i`` of the result is sample ``perm[i]`` of this one.

        Returns
        -------
        PreparedNeighborhoods
        """
        perm = np.asarray(perm, dtype=np.intp)
        if self.mode == "ranks":
            # np.take gathers a uint16 matrix about twice as fast as fancy indexing
            data = np.take(np.take(self.data, perm, axis=0), perm, axis=1)
        elif self.mode == "lists":
            data = _permute_lists(self.data, perm)
        else:
            data = self.data.take(perm)
        return PreparedNeighborhoods(
            self.n_samples, self.ks, self.mode, data, self.metric, self.backend, self.n_jobs
        )

    def __repr__(self):
        return (
            f"PreparedNeighborhoods(n_samples={self.n_samples}, n_ks={self.ks.size}, "
            f"mode={self.mode!r}, metric={self.metric!r}, backend={self.backend!r})"
        )


def _rank_dtype(n):
    return np.uint16 if n <= np.iinfo(np.uint16).max + 1 else np.int32


@validate_params(
    _constraints(
        "n_neighbors",
        "metric",
        "algorithm",
        "random_state",
        "n_jobs",
        "working_memory",
        "verbose",
        "name",
        X=["array-like"],
        rank_cache_bytes=[None, Interval(Integral, 0, None, closed="left")],
    ),
    prefer_skip_nested_validation=True,
)
def prepare_neighborhoods(
    X,
    n_neighbors=None,
    *,
    metric="euclidean",
    algorithm="auto",
    random_state=None,
    n_jobs=None,
    working_memory=None,
    rank_cache_bytes=None,
    name="X",
    verbose=0,
):
    """Do every piece of work on one representation that its pairings can share.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) with
        ``metric='precomputed'``
    n_neighbors : None, int, float in (0, 1) or array-like, default=None
        See :func:`resolve_n_neighbors`.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Exact backends rank every pair; approximate ones give k_max-neighbour lists.
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search, and of the exact rank blocks (each
        block's rows shared out, BLAS at one thread per worker); kept in the
        result for the threads of :func:`combine_tas`. Results do not depend on it.
    working_memory : float or None, default=None
        MiB per row block on the exact path; None takes scikit-learn's setting.
    rank_cache_bytes : int or None, default=None
        Largest rank matrix to hold; None means :data:`RANK_CACHE_MAX_BYTES`.
    name : str, default='X'
        Argument name for error messages.
    verbose : int, default=0
        Show a progress bar over the row blocks of the exact ranks when > 0.

    Returns
    -------
    prepared : PreparedNeighborhoods
        ``'lists'`` mode on an approximate backend, or on the exact one when every k
        is at most ``LIST_PATH_MAX_FRACTION * n``; otherwise ``'ranks'`` when the
        rank matrix fits in ``rank_cache_bytes``, else ``'points'``.
    """
    P = prepare_search(X, metric, name=name, min_samples=MIN_SAMPLES, check_structure=True)
    n = P.n_samples
    backend = resolve_algorithm(algorithm, n, metric)
    approximate = backend != "brute"
    ks = resolve_n_neighbors(n_neighbors, n, approximate=approximate)
    k_max = int(ks.max())
    if approximate or k_max <= LIST_PATH_MAX_FRACTION * n:
        _, ind = search_kneighbors(
            P, k_max, backend, random_state=random_state, n_jobs=n_jobs, working_memory=working_memory
        )
        ind = ind.astype(np.int32 if n <= np.iinfo(np.int32).max else np.int64, copy=False)
        return PreparedNeighborhoods(n, ks, "lists", ind, metric, backend, n_jobs)
    budget = RANK_CACHE_MAX_BYTES if rank_cache_bytes is None else rank_cache_bytes
    dtype = _rank_dtype(n)
    if n * n * np.dtype(dtype).itemsize <= budget:
        ranks = np.empty((n, n), dtype=dtype)
        blocks = search_rank_blocks(
            P, working_memory=working_memory, n_copies=4, n_jobs=n_jobs, verbose=verbose
        )
        for rows, block in blocks:
            ranks[rows] = block
        return PreparedNeighborhoods(n, ks, "ranks", ranks, metric, backend, n_jobs)
    return PreparedNeighborhoods(n, ks, "points", P, metric, backend, n_jobs)


# -- per-pair combination -------------------------------------------------------
def _held_rows(P, rows, perm=None):
    """Rows of a held rank matrix, of the representation with rows permuted by ``perm``.

    The representation ``Z[perm]`` ranks j from i as Z ranks ``perm[j]`` from
    ``perm[i]``, so permuting never needs new distances.
    """
    if perm is None:
        return P.data[rows]
    return P.data[perm[rows]][:, perm]


def _rank_chunks(R, lo, hi, rows):
    """The rank rows of a block, ``rows`` at a time, over ``[lo, hi)``.

    R is a block of held ranks, or ``(points, block)``: the block's rows of a
    streamed representation, ranked here, in the caller's thread, so that their
    sorts (which release the GIL) overlap another thread's counting (which holds
    it), and their ranks are used while still in cache.
    """
    if isinstance(R, np.ndarray):
        for c in range(lo, hi, rows):
            yield R[c : min(c + rows, hi)]
        return
    points, block = R
    for _, _, ranks in rank_row_chunks(points, block.start + lo, block.start + hi):
        yield ranks


def _overlap_from_max_rank(rx, ry, ks, jac_sum, ovl_sum, n_jobs=None):
    """Add one block's per-row overlaps at ``ks`` into running sums.

    ``M[r, j] = max(rank_X, rank_Y)``; row r's histogram of it, cumulated, counts
    for every k the j with both ranks <= k (self, at 0, is taken out). ``rx`` and
    ``ry`` are held rank rows, or ``(points, block rows)`` to be ranked chunk by
    chunk in the threads (:func:`_rank_chunks`).

    The per-row Jaccard values are added into ``jac_sum`` one row at a time in row
    order, whatever ``n_jobs`` and the blocks: the first thread adds its rows as it
    goes (nothing of size block x n is stored, which at n=4,000 halves the time of
    this step), the others keep theirs and they are added after, in order. Every
    sum is then the plain row-order sum. The overlaps are integers, whose sums are
    exact in any order.

    Rows go in chunks of about :data:`_OVERLAP_CHUNK_ENTRIES` entries, one
    histogram and one cumulative sum per chunk: ``bincount`` holds the GIL, and
    called once per row it left a second thread waiting on it (two threads were
    slower than one at n=4,000). The cumulative sum runs over the flattened
    chunk, which releases the GIL where a 2-D one along rows does not; every row
    has L entries, so row r's counts are the flat ones less r L.
    """
    held = [R for R in (rx, ry) if isinstance(R, np.ndarray)]
    if held:
        b, L = held[0].shape
    else:
        points, rows = rx
        b, L = rows.stop - rows.start, points.n_samples
    kf = ks.astype(np.float64)
    two_k = 2.0 * kf
    # every k from k0 on (the default sweep) is a slice of the cumulated counts
    k0 = int(ks[0])
    contiguous = bool(ks.size == int(ks[-1]) - k0 + 1)
    step = max(_OVERLAP_CHUNK_ENTRIES // max(L, 1), 1)
    # held rows go in the chunks in which rank_row_chunks computes the others
    chunk_rows = step if len(held) == 2 else rank_chunk_rows(L)
    parts = {}

    def fill(lo, hi):
        ovl = np.zeros(ks.size)
        rows_q = None if lo == 0 else np.empty((hi - lo, ks.size))
        c0 = lo
        for a, bb in zip(_rank_chunks(rx, lo, hi, chunk_rows), _rank_chunks(ry, lo, hi, chunk_rows)):
            e0 = c0 + a.shape[0]
            for c in range(c0, e0, step):
                e = min(c + step, e0)
                m = np.maximum(a[c - c0 : e - c0], bb[c - c0 : e - c0])
                # row r's values moved to [r L, (r + 1) L): one histogram for the chunk
                m = m.astype(np.result_type(m.dtype, np.min_scalar_type(-(e - c) * L)), copy=False)
                m += (np.arange(e - c, dtype=m.dtype) * L)[:, None]
                cum = np.cumsum(np.bincount(m.ravel(), minlength=(e - c) * L)).reshape(e - c, L)
                o = cum[:, k0 : k0 + ks.size] if contiguous else cum[:, ks]
                o = o.astype(np.float64)
                # less the rows before, and the point itself (at rank 0 in both)
                o -= (np.arange(e - c, dtype=np.float64) * L + 1.0)[:, None]
                ovl += o.sum(axis=0)  # integers below 2**53: exact in any order
                q = np.empty_like(o) if rows_q is None else rows_q[c - lo : e - lo]
                np.subtract(two_k, o, out=q)
                np.divide(o, q, out=q)
                if rows_q is None:
                    for row in q:
                        np.add(jac_sum, row, out=jac_sum)
            c0 = e0
        parts[lo] = (ovl, rows_q)

    map_row_ranges(fill, b, n_jobs)
    for lo in sorted(parts):
        ovl, rows_q = parts[lo]
        ovl_sum += ovl
        if rows_q is not None:
            for q in rows_q:
                jac_sum += q


def _overlap_ranks(PX, PY, ks, working_memory, perm=None, verbose=0):
    """Overlap sums from full ranks, held or streamed; Y's rows permuted by ``perm``.

    A streamed representation is ranked inside the overlap's threads, block by
    block (:func:`_overlap_from_max_rank`), beside the other's held rows or its
    own ranks computed there too.
    """
    n = PX.n_samples
    jac = np.zeros(ks.size)
    ovl = np.zeros(ks.size)
    streamed = PX.mode == "points" or PY.mode == "points"
    # a block's rank rows, int32, for each side; the Gram rows, float64, of a streamed one
    step = block_rows(n, working_memory, n_copies=_N_COPIES if streamed else 2 * _N_COPIES)
    y_points = PY.data if perm is None or PY.mode != "points" else PY.data.take(perm)
    blocks = list(gen_batches(n, step))
    desc = "neighbour ranks" if streamed else "neighbour overlaps"
    for rows in progress(blocks, len(blocks), verbose=verbose, desc=desc, unit="block"):
        rx = (PX.data, rows) if PX.mode == "points" else _held_rows(PX, rows)
        ry = (y_points, rows) if PY.mode == "points" else _held_rows(PY, rows, perm)
        _overlap_from_max_rank(rx, ry, ks, jac, ovl, PX.n_jobs)
    return jac, ovl


def _overlap_lists(IX, IY, ks, perm=None, working_memory=None):
    """Overlap sums from k_max-neighbour lists: a shared neighbour counts from the
    larger of its two list positions onwards.

    Rows go in blocks of about ``working_memory`` (the sort inside ``intersect1d``
    holds some twelve int64 arrays of block x k_max entries). The Jaccard sum is
    the plain row-order one whatever the blocks: a cumulative sum down the rows
    (``sum`` may pair them up instead), with the running total carried in each
    block's first row.
    """
    n = IX.shape[0]
    k_max = int(ks.max())
    IX = IX[:, :k_max]
    IY = IY[:, :k_max] if perm is None else _permute_lists(IY[:, :k_max], perm)
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    step = max(int(working_memory * 2**20 // (8 * k_max * 12)), 1)
    pos = np.arange(1, k_max + 1, dtype=np.int64)
    two_k = 2.0 * ks.astype(np.float64)
    L = k_max + 1
    jac = np.zeros(ks.size)
    ovl = np.zeros(ks.size)
    for rows in gen_batches(n, step):
        b = rows.stop - rows.start
        ix, iy = IX[rows].astype(np.int64), IY[rows].astype(np.int64)
        vx, vy = ix >= 0, iy >= 0  # approximate search may leave unfilled (-1) slots
        local = np.arange(b, dtype=np.int64)[:, None] * n
        kx, ky = (local + ix)[vx], (local + iy)[vy]
        common, ax, ay = np.intersect1d(kx, ky, assume_unique=True, return_indices=True)
        first = np.maximum(np.broadcast_to(pos, ix.shape)[vx][ax], np.broadcast_to(pos, iy.shape)[vy][ay])
        counts = np.bincount((common // n) * L + first, minlength=b * L).reshape(b, L)
        o = np.cumsum(counts, axis=1, dtype=np.int64)[:, ks].astype(np.float64)
        q = o / (two_k - o)
        q[0] += jac
        jac = np.cumsum(q, axis=0)[-1]
        ovl += o.sum(axis=0)  # integers below 2**53: exact in any order
    return jac, ovl


def _permute_lists(I, perm):
    """Neighbour lists of ``Y[perm]`` from those of Y: j is a neighbour of i in
    ``Y[perm]`` when ``perm[j]`` is one of ``perm[i]`` in Y."""
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size, dtype=perm.dtype)
    J = I[perm]
    return np.where(J >= 0, inv[np.maximum(J, 0)], -1)


def _check_compatible(PX, PY):
    for P, name in ((PX, "PX"), (PY, "PY")):
        if not isinstance(P, PreparedNeighborhoods):
            raise TypeError(f"{name} must come from prepare_neighborhoods; got {type(P).__name__}.")
    check_same_samples(PX.n_samples, PY.n_samples, names=("PX", "PY"))
    if not np.array_equal(PX.ks, PY.ks):
        raise ValueError(
            "X and Y were prepared for different neighbourhood sizes; prepare both with the "
            "same n_neighbors."
        )
    if (PX.mode == "lists") != (PY.mode == "lists"):
        raise ValueError(
            "X and Y were prepared on different paths (neighbour lists vs full ranks); "
            "prepare both with the same n_neighbors and algorithm."
        )


def _combine(PX, PY, working_memory=None, perm=None, verbose=0):
    """Mean Jaccard and mean overlap at every k, of compatible preparations (Y permuted)."""
    ks = PX.ks
    if PX.mode == "lists":
        jac, ovl = _overlap_lists(PX.data, PY.data, ks, perm=perm, working_memory=working_memory)
    else:
        jac, ovl = _overlap_ranks(PX, PY, ks, working_memory, perm=perm, verbose=verbose)
    return jac / PX.n_samples, ovl / PX.n_samples


@validate_params(
    _constraints("working_memory", PX="no_validation", PY="no_validation"),
    prefer_skip_nested_validation=True,
)
def combine_neighborhoods(PX, PY, *, working_memory=None):
    """Mean Jaccard and mean overlap of two prepared representations, at every k.

    Parameters
    ----------
    PX, PY : PreparedNeighborhoods
        From :func:`prepare_neighborhoods` with the same ``n_neighbors`` and algorithm.
    working_memory : float or None, default=None
        MiB per row block when ranks are streamed.

    Returns
    -------
    result : Bunch
        ``k`` (int64), ``jaccard`` (mean ``o/(2k-o)``), ``overlap`` (mean ``o``), at
        ``PX.ks``.
    """
    _check_compatible(PX, PY)
    jac, ovl = _combine(PX, PY, working_memory)
    return Bunch(k=PX.ks.copy(), jaccard=jac, overlap=ovl)


@validate_params(
    _constraints(
        "summary", "chance", "working_memory", PX="no_validation", PY="no_validation"
    ),
    prefer_skip_nested_validation=True,
)
def combine_tas(PX, PY, *, summary="mean", chance="paper", working_memory=None):
    """TAS of two prepared representations, reduced to one number.

    ``summary`` of :math:`\\mathrm{TAS}(k) = (J(k) - E_k) / (1 - E_k)` over the
    sizes both were prepared for (the module docstring defines the terms).

    Parameters
    ----------
    PX, PY : PreparedNeighborhoods
        From :func:`prepare_neighborhoods` with the same ``n_neighbors`` and algorithm.
    summary : {'mean', 'max', 'min'}, default='mean'
    chance : {'paper', 'exact'}, default='paper'
        See :func:`tas_chance`.
    working_memory : float or None, default=None
        MiB per row block when ranks are streamed.

    Returns
    -------
    score : float
    """
    _check_compatible(PX, PY)
    jac, _ = _combine(PX, PY, working_memory)
    tas = tas_from_jaccard(jac, tas_chance(PX.ks, PX.n_samples, chance))
    return summarize_spectrum(tas, summary)


# -- public functions -------------------------------------------------------------
def _prepare_pair(
    X, Y, n_neighbors, metric, algorithm, random_state, n_jobs, working_memory, verbose=0, hold=False
):
    # X and Y are prepared exactly as the estimator's prepare() does (same seed for
    # both), so its score and this function agree on the approximate path too
    kw = dict(
        metric=metric,
        algorithm=algorithm,
        n_jobs=n_jobs,
        working_memory=working_memory,
        random_state=random_state,
        verbose=verbose,
    )
    # full ranks used once are not held but computed inside the combination's
    # threads, block by block, where one thread's sorts overlap another's counting
    # (which holds the GIL); for permutations they are held
    cache = None if hold else 0
    PX = prepare_neighborhoods(X, n_neighbors, name="X", rank_cache_bytes=cache, **kw)
    PY = prepare_neighborhoods(Y, n_neighbors, name="Y", rank_cache_bytes=cache, **kw)
    check_same_samples(PX.n_samples, PY.n_samples)
    return PX, PY


@validate_params(
    _constraints(
        "n_permutations",
        "random_state",
        "working_memory",
        "verbose",
        PX="no_validation",
        PY="no_validation",
        observed_jaccard=["array-like"],
    ),
    prefer_skip_nested_validation=True,
)
def permutation_pvalues(
    PX, PY, observed_jaccard, n_permutations, random_state=None, *, working_memory=None, verbose=0
):
    """Permutation p-value at every k: shuffle the rows of Y, keep X's ranks.

    .. math::

        p(k) = \\frac{1 + \\#\\{b : J_b(k) \\ge J(k)\\}}{1 + B}

    (Phipson & Smyth 2010), where :math:`J_b` is the mean Jaccard with Y's rows
    permuted by the b-th of B random permutations. Y's ranks are permuted rather
    than recomputed when they are held (``'ranks'`` or ``'lists'`` mode), so a
    permutation costs O(n^2) (or O(n k_max)); in ``'points'`` mode both streams
    are re-ranked for every permutation.

    Parameters
    ----------
    PX, PY : PreparedNeighborhoods
        From :func:`prepare_neighborhoods` with the same ``n_neighbors`` and algorithm.
    observed_jaccard : array-like of float
        ``J(k)`` of the unpermuted pair, at ``PX.ks``.
    n_permutations : int
        B.
    random_state : int, RandomState or None, default=None
        Seeds the permutations.
    working_memory : float or None, default=None
        MiB per row block when ranks are streamed.
    verbose : int, default=0
        Print progress every tenth of the permutations when > 0.

    Returns
    -------
    p_value : ndarray of float64
    """
    _check_compatible(PX, PY)
    rs = check_random_state(random_state)
    n = PX.n_samples
    observed_jaccard = np.asarray(observed_jaccard, dtype=np.float64)
    exceed = np.zeros(observed_jaccard.shape, dtype=np.int64)
    # a permuted mean equal to the observed one up to rounding counts as "as large"
    tol = 1e-12 * np.maximum(1.0, np.abs(observed_jaccard))
    for b in range(n_permutations):
        perm = rs.permutation(n).astype(np.intp)
        jac, _ = _combine(PX, PY, working_memory, perm)
        exceed += jac >= observed_jaccard - tol
        if verbose and (b + 1) % max(1, n_permutations // 10) == 0:
            print(f"[tas] permutation {b + 1}/{n_permutations}")
    return (1.0 + exceed) / (1.0 + n_permutations)


@validate_params(
    _constraints(*_PAIR_PARAMETERS, "chance", "n_permutations", "verbose"),
    prefer_skip_nested_validation=True,
)
def tas_spectrum(
    X,
    Y,
    n_neighbors=None,
    *,
    chance="paper",
    metric="euclidean",
    algorithm="auto",
    n_permutations=0,
    random_state=None,
    n_jobs=None,
    working_memory=None,
    verbose=0,
):
    """Topological Alignment Spectrum of two representations, every k in one pass.

    :math:`\\mathrm{TAS}(k) = (J(k) - E_k) / (1 - E_k)` with :math:`J(k)` the mean
    over samples of the Jaccard index ``o/(2k - o)`` of their k-neighbourhoods in X
    and in Y, and :math:`E_k` its chance level (Tavares et al. 2024; the module
    docstring defines the terms).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        The first representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation.
    n_neighbors : None, int, float in (0, 1) or array-like, default=None
        Neighbourhood sizes; see :func:`resolve_n_neighbors`. None is every k in
        ``[1, n - 2]`` on the exact path.
    chance : {'paper', 'exact'}, default='paper'
        Chance level; see :func:`tas_chance`.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Neighbour backend (:mod:`skalign.neighbors`).
    n_permutations : int, default=0
        Permutations of Y's rows for per-k p-values; 0 skips the test.
    random_state : int, RandomState or None, default=None
        Seeds the permutations and the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search and of the exact rank blocks; the
        result does not depend on it.
    working_memory : float or None, default=None
        MiB per row block on the exact path.
    verbose : int, default=0
        Show a progress bar over the exact rank blocks, and print permutation
        progress, when > 0.

    Returns
    -------
    result : Bunch
        ``k``, ``tas``, ``jaccard``, ``chance``, ``overlap`` (mean ``o``), and
        ``p_value`` (None without permutations), arrays over the sizes in ``k``;
        ``n_samples`` and ``mode``: ``'ranks'`` (full ranks) or ``'lists'``
        (k_max-neighbour lists).
    """
    PX, PY = _prepare_pair(
        X, Y, n_neighbors, metric, algorithm, random_state, n_jobs, working_memory, verbose,
        hold=bool(n_permutations),
    )
    jac, ovl = _combine(PX, PY, working_memory, verbose=verbose)  # prepared alike: compatible
    E = tas_chance(PX.ks, PX.n_samples, chance)
    pv = None
    if n_permutations:
        pv = permutation_pvalues(
            PX, PY, jac, n_permutations, random_state, working_memory=working_memory, verbose=verbose
        )
    return Bunch(
        k=PX.ks.copy(),
        tas=tas_from_jaccard(jac, E),
        jaccard=jac,
        chance=E,
        overlap=ovl,
        p_value=pv,
        n_samples=PX.n_samples,
        mode="lists" if PX.mode == "lists" else "ranks",
    )


@validate_params(
    _constraints(*_PAIR_PARAMETERS, "summary", "chance"),
    prefer_skip_nested_validation=True,
)
def tas_score(
    X,
    Y,
    n_neighbors=None,
    *,
    summary="mean",
    chance="paper",
    metric="euclidean",
    algorithm="auto",
    random_state=None,
    n_jobs=None,
    working_memory=None,
):
    """Topological Alignment Spectrum reduced to one number (higher = more aligned).

    With a single k it is TAS(k); otherwise ``summary`` ('mean', 'max' or 'min')
    of TAS(k) over the swept sizes (Tavares et al. 2024). In [-1, 1] (at least
    -1/2 with the paper's chance level); 1 when every neighbourhood agrees, about 0
    for unrelated representations.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        The first representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation.
    n_neighbors : None, int, float in (0, 1) or array-like, default=None
        Neighbourhood sizes; see :func:`resolve_n_neighbors`.
    summary : {'mean', 'max', 'min'}, default='mean'
        Reduction over the swept sizes.
    chance : {'paper', 'exact'}, default='paper'
        Chance level; see :func:`tas_chance`.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
        Distance between samples.
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Neighbour backend (:mod:`skalign.neighbors`).
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search and of the exact rank blocks.
    working_memory : float or None, default=None
        MiB per row block on the exact path.

    Returns
    -------
    score : float
        The summary of TAS(k).
    """
    PX, PY = _prepare_pair(
        X, Y, n_neighbors, metric, algorithm, random_state, n_jobs, working_memory
    )
    return combine_tas(PX, PY, summary=summary, chance=chance, working_memory=working_memory)


def _sibling(X, Y, n_neighbors, metric, algorithm, random_state, n_jobs, working_memory):
    if n_neighbors is None:
        raise ValueError(
            "n_neighbors must be given (an int, a float in (0, 1) or an array of those); got None."
        )
    PX, PY = _prepare_pair(
        X, Y, n_neighbors, metric, algorithm, random_state, n_jobs, working_memory
    )
    jac, ovl = _combine(PX, PY, working_memory)
    return PX.ks, jac, ovl


def _out(values, n_neighbors):
    if np.ndim(n_neighbors) == 0:
        return float(values[0])
    return values


@validate_params(_constraints(*_PAIR_PARAMETERS), prefer_skip_nested_validation=True)
def mutual_knn_alignment(
    X,
    Y,
    n_neighbors=10,
    *,
    metric="euclidean",
    algorithm="auto",
    random_state=None,
    n_jobs=None,
    working_memory=None,
):
    """Mutual k-nearest-neighbour alignment: mean over samples of ``o_i(k) / k``.

    The fraction of each sample's k neighbours in X that are also among its k
    neighbours in Y (Huh et al. 2024). In [0, 1]; about ``k / (n - 1)`` by chance.
    ``metric='ip'`` takes the neighbours of largest inner product, Huh et al.'s
    setting on the features as given (on L2-normalised features it is 'cosine').

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        The first representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation.
    n_neighbors : int, float in (0, 1) or array-like, default=10
        As in :func:`resolve_n_neighbors` (None is not allowed).
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
        Distance between samples.
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Neighbour backend (:mod:`skalign.neighbors`).
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search and of the exact rank blocks.
    working_memory : float or None, default=None
        MiB per row block on the exact path.

    Returns
    -------
    score : float or ndarray
        A float for one size; an array over the sorted distinct sizes when
        ``n_neighbors`` is an array.
    """
    ks, _, ovl = _sibling(X, Y, n_neighbors, metric, algorithm, random_state, n_jobs, working_memory)
    return _out(ovl / ks, n_neighbors)


@validate_params(_constraints(*_PAIR_PARAMETERS), prefer_skip_nested_validation=True)
def knn_jaccard(
    X,
    Y,
    n_neighbors=10,
    *,
    metric="euclidean",
    algorithm="auto",
    random_state=None,
    n_jobs=None,
    working_memory=None,
):
    """Mean Jaccard index of the k-neighbourhoods, not normalised for chance.

    ``mean_i o_i / (2k - o_i)`` (the module docstring defines the terms). In [0, 1];
    about ``k / (2(n-1) - k)`` by chance.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        The first representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation.
    n_neighbors : int, float in (0, 1) or array-like, default=10
        As in :func:`resolve_n_neighbors` (None is not allowed).
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
        Distance between samples.
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Neighbour backend (:mod:`skalign.neighbors`).
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search and of the exact rank blocks.
    working_memory : float or None, default=None
        MiB per row block on the exact path.

    Returns
    -------
    score : float or ndarray
        A float for one size; an array over the sorted distinct sizes when
        ``n_neighbors`` is an array.
    """
    _, jac, _ = _sibling(X, Y, n_neighbors, metric, algorithm, random_state, n_jobs, working_memory)
    return _out(jac, n_neighbors)
