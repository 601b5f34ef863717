r"""Cubical homology of samples on a grid: Betti profiles, topological complexity and its decay.

A feature map, an image or a conv layer's C x H x W volume is a function ``a`` on
a grid. Its superlevel sets :math:`\{a \ge \eta\}` are cubical complexes; their
Betti numbers :math:`\beta_q(\eta)` over a grid of thresholds form the *Betti
curves*. The persistence of the filtration of :math:`-a` is computed once per
sample (with gudhi) and every curve is read off its bars: a bar :math:`(b, d)` is
alive at level :math:`-\eta` iff :math:`b \le -\eta < d`, so

.. math::

    \beta_q(\eta) = \#\{(b, d) \in \mathrm{Dgm}_q(-a) : b \le -\eta < d\}.

The topological complexity of a layer is the mean over its samples of the summed
Betti numbers (Naitzat, Zhitnikov & Lim, 2020; Suresh et al., 2023),

.. math::

    \Omega = \frac{1}{n} \sum_{i=1}^{n} \sum_q \beta_q(\{a_i \ge \eta\}),

and its decay :math:`\theta` with depth is the least-squares slope of
:math:`\Omega` against normalised depth.

Conventions
-----------
*T-construction* (``construction='T'``): every value is a top-dimensional cell
(a pixel is a closed unit square, a voxel a closed cube); cells that share only a
corner are adjacent, so superlevel sets have 8-connectivity in 2-D (26 in 3-D).
*V-construction* (``construction='V'``): every value is a vertex and a higher cell
enters when all its vertices have; superlevel sets have 4-connectivity in 2-D (6 in
3-D) (Bleile et al., 2022).

*Recipes* (``convention=``): the library's default reads superlevel sets of
min-max rescaled maps per channel, T-construction, :math:`\beta_0 + \beta_1`,
averaged over an even grid of thresholds, and :math:`\theta` is a least-squares
slope on depth in [0, 1]. ``'suresh2023'`` is the authors' released code:
sublevel sets :math:`\{a \le \eta\}` of the raw C x H x W volume,
V-construction, :math:`\beta_0 + \beta_1 + \beta_2` at one raw threshold, and
:math:`\theta` from a cubic ridge fit of the normalised :math:`\Omega` on the
layer index (see :func:`complexity_decay`).

References
----------
S. Suresh, B. Das, V. Abrol, S. Dutta Roy. On characterizing the evolution of
embedding space of neural networks using algebraic topology. arXiv:2311.04592, 2023.

G. Naitzat, A. Zhitnikov, L.-H. Lim. Topology of deep neural networks. JMLR 21, 2020.

B. Bleile, A. Garin, T. Heiss, K. Maggs, V. Robins. The persistent homology of dual
digital image constructions. In Research in Computational Topology 2, 2022.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import check_homology_dimensions, check_int, check_representation

__all__ = [
    "as_grids",
    "cubical_diagrams",
    "betti_curves",
    "quantile_thresholds",
    "minmax_per_sample",
    "topological_complexity",
    "complexity_decay",
    "complexity_decay_interval",
    "ComplexityDecay",
    "ComplexityDecayInterval",
]

#: How grid values become cells: top cells ('T') or vertices ('V').
CONSTRUCTIONS = ("T", "V")
#: Summaries of a layer's Betti curves in :func:`topological_complexity`.
COMPLEXITY_SUMMARIES = ("area", "threshold")
#: Min-max rescalings of :func:`topological_complexity`.
COMPLEXITY_NORMALIZATIONS = ("sample", "layer", "none")
#: Recipes of :func:`topological_complexity` and :func:`complexity_decay`: the
#: library's defaults, or the released code of Suresh et al. (2023).
COMPLEXITY_CONVENTIONS = ("skalign", "suresh2023")
#: What ``convention='suresh2023'`` fixes in :func:`topological_complexity`.
SURESH2023_RECIPE = {
    "homology_dimensions": (0, 1, 2),
    "construction": "V",
    "summary": "threshold",
    "per_channel": False,
    "normalize": "none",
}
#: Weights of the cubic's coefficients (c0, c1, c2, c3) in the decay score of Suresh et al. (2023).
SURESH2023_THETA_WEIGHTS = (0.0, 1.0, 0.5, 0.5)
#: Ridge penalty of the cubic fit of Suresh et al. (2023).
SURESH2023_RIDGE_ALPHA = 1e-3

#: Constraints of the parameters shared by the cubical functions and
#: :class:`skalign.CubicalBettiProfile` (scikit-learn's ``validate_params`` format).
CUBICAL_PARAMETER_CONSTRAINTS = {
    "homology_dimensions": ["array-like", Interval(Integral, 0, None, closed="left")],
    "construction": [StrOptions(set(CONSTRUCTIONS))],
    "grid_shape": ["array-like", None],
    "n_jobs": [Integral, None],
}
#: Persistence engines: gudhi (a dependency), or Cubical Ripser (``pip install cripser``),
#: which is faster on the V-construction and on 3-D volumes; their bars are the same.
CUBICAL_BACKENDS = ("gudhi", "cripser")
BACKEND_CONSTRAINTS = {"backend": [StrOptions(set(CUBICAL_BACKENDS))]}


# ---------------------------------------------------------------------------
# Validators
# ---------------------------------------------------------------------------
def check_thresholds(thresholds):
    """Thresholds as a non-empty 1-D float64 array of finite values.

    Parameters
    ----------
    thresholds : array-like of float

    Returns
    -------
    eta : ndarray of shape (n_thresholds,)
    """
    eta = np.asarray(thresholds, dtype=np.float64).ravel()
    if eta.size == 0 or not np.isfinite(eta).all():
        raise ValueError(f"thresholds must be a non-empty array of finite numbers; got {thresholds!r}.")
    return eta


def _check_grid_shape(grid_shape):
    try:
        shape = tuple(grid_shape)
    except TypeError:
        raise TypeError(f"grid_shape must be a tuple of positive integers; got {grid_shape!r}.") from None
    if not 1 <= len(shape) <= 3:
        raise ValueError(
            f"grid_shape must have 1, 2 or 3 axes (a signal, an image or a volume); "
            f"got {len(shape)} axes in {shape}."
        )
    for s in shape:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, Integral) or s < 1:
            raise ValueError(f"grid_shape must hold positive integers; got {shape}.")
    return tuple(int(s) for s in shape)


# ---------------------------------------------------------------------------
# Cubical input
# ---------------------------------------------------------------------------
@validate_params({"grid_shape": ["array-like", None], "name": [str]}, prefer_skip_nested_validation=True)
def as_grids(X, *, grid_shape=None, name="X"):
    """Validate samples given on a regular grid and return them as ``(n, *grid)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, H, W, D)
        One function on a grid per sample. A 2-D array with ``grid_shape=None`` is
        read as one 1-D signal per row (a grid of ``n_features`` cells).
    grid_shape : tuple of int or None
        Shape of one sample's grid (1 to 3 axes). With 2-D ``X`` its product must be
        ``n_features``; with 3-D or 4-D ``X`` it must equal ``X.shape[1:]``.
    name : str
        Argument name for error messages.

    Returns
    -------
    grids : ndarray of shape ``(n_samples, *grid)``
    """
    X = check_representation(X, name=name, ndim=(2, 3, 4))
    if grid_shape is None:
        return X
    shape = _check_grid_shape(grid_shape)
    if X.ndim == 2:
        if math.prod(shape) != X.shape[1]:
            raise ValueError(
                f"grid_shape={tuple(grid_shape)} holds {math.prod(shape)} cells but {name} has "
                f"{X.shape[1]} features per sample; got {name} of shape {X.shape}."
            )
        return X.reshape((X.shape[0],) + shape)
    if X.shape[1:] != shape:
        raise ValueError(
            f"grid_shape={tuple(grid_shape)} does not match the grid of {name}, whose samples "
            f"have shape {X.shape[1:]}; pass grid_shape=None for {X.ndim}-D input or flatten it."
        )
    return X


@validate_params({"X": ["array-like"]}, prefer_skip_nested_validation=True)
def minmax_per_sample(X):
    """Rescale every sample (first axis) to [0, 1] by its own min and max.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)

    Returns
    -------
    X01 : ndarray of float64, same shape
        A constant sample becomes all zeros.
    """
    X = np.asarray(X, dtype=np.float64)
    return _minmax_rows(X.reshape(X.shape[0], -1)).reshape(X.shape)


def _minmax_rows(flat):
    """Each row of a 2-D float array mapped to [0, 1] by its min and max (constant rows to 0), in its dtype."""
    # an exact power of two per row first, so that max - min cannot overflow near 1e308;
    # (x - lo) / (hi - lo) is unchanged by it, bit for bit
    top = np.max(np.abs(flat), axis=1, keepdims=True) if flat.size else np.zeros((flat.shape[0], 1))
    flat = np.ldexp(flat, -np.frexp(top)[1])
    lo = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - lo
    span[span == 0] = 1.0
    return (flat - lo) / span


@validate_params(
    {"X": ["array-like"], "n_thresholds": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def quantile_thresholds(X, n_thresholds):
    """``n_thresholds`` evenly spaced quantiles (levels 0 to 1) of all values of ``X``.

    Parameters
    ----------
    X : array-like
    n_thresholds : int
        One threshold is the median.

    Returns
    -------
    thresholds : ndarray of shape (n_thresholds,)
    """
    values = np.asarray(X, dtype=np.float64).ravel()
    if n_thresholds == 1:
        return np.array([float(np.median(values))])
    return np.quantile(values, np.linspace(0.0, 1.0, n_thresholds))


# ---------------------------------------------------------------------------
# Cubical persistence and Betti curves
# ---------------------------------------------------------------------------
def _diagrams_of_block(block, dims, construction, sublevel=False, backend="gudhi"):
    """Diagrams of the filtration of ``-a`` (of ``a`` when ``sublevel``) for every sample of ``block``."""
    if backend == "cripser":
        return _cripser_diagrams(block, dims, construction, 1.0 if sublevel else -1.0)
    # gudhi's sklearn wrapper has a dedicated O(n log n) algorithm for 2-D top cells
    # (about 40x faster than the generic CubicalComplex on 28x28 images) and falls back
    # to CubicalComplex otherwise; a 1-D signal has the same H0 in T and V.
    from gudhi.sklearn.cubical_persistence import CubicalPersistence

    input_type = "top_dimensional_cells" if construction == "T" else "vertices"
    cp = CubicalPersistence(homology_dimensions=list(dims), input_type=input_type, n_jobs=1)
    sign = 1.0 if sublevel else -1.0
    return cp.fit_transform([sign * np.asarray(s, dtype=np.float64) for s in block])


def _cripser_bars(block, dims, construction, sign):
    """Every bar of ``block`` from Cubical Ripser, flat: ``(image, dimension, bars)``.

    Cubical Ripser marks an essential class by the largest float64 as its death,
    and reports no bar of zero length (gudhi drops them too), so its bars are
    gudhi's: ``inf`` restores the death and zero-length bars are dropped in case.
    Bars come in cripser's order, which lists each image's bars by dimension.
    """
    try:
        import cripser
    except ImportError as exc:
        raise ImportError(
            "backend='cripser' needs Cubical Ripser: pip install cripser (or pip install skalign[cripser]); "
            "backend='gudhi' needs nothing more."
        ) from exc
    compute = cripser.computePH_T if construction == "T" else cripser.computePH
    grids = np.ascontiguousarray(sign * np.asarray(block, dtype=np.float64))
    top = min(max(dims), grids.ndim - 2)  # no homology at or above the grid's dimension
    phs = [compute(a, maxdim=top, location="none") for a in grids]
    # the bars of the whole block at once: per-image numpy calls cost more than cripser
    # itself on small images
    image = np.repeat(np.arange(len(phs)), [p.shape[0] for p in phs])
    ph = np.concatenate(phs) if phs else np.empty((0, 3))
    ph[ph[:, 2] == np.finfo(np.float64).max, 2] = np.inf
    keep = ph[:, 1] < ph[:, 2]
    return image[keep], ph[keep, 0].astype(np.int64), ph[keep, 1:3]


def _cripser_diagrams(block, dims, construction, sign):
    """The diagrams of :func:`_diagrams_of_block` from Cubical Ripser, in gudhi's form."""
    image, dim, bars = _cripser_bars(block, dims, construction, sign)
    n = len(block)
    # (image, dimension) runs, cripser's order kept inside each run; cripser lists the
    # bars by dimension already, so the stable sort is needed only if it ever does not
    stride = max(dims) + 2
    key = image * stride + dim
    if key.size and not bool(np.all(key[1:] >= key[:-1])):
        order = np.argsort(key, kind="stable")
        bars, key = bars[order], key[order]
    targets = np.arange(n)[:, None] * stride + np.asarray(dims, dtype=np.int64)[None, :]
    lo = np.searchsorted(key, targets, side="left")
    hi = np.searchsorted(key, targets, side="right")
    return [[bars[i:j] for i, j in zip(row_lo, row_hi)] for row_lo, row_hi in zip(lo.tolist(), hi.tolist())]


def _split(grids, n_jobs):
    n = grids.shape[0]
    n_blocks = max(1, min(n, 4 * effective_n_jobs(n_jobs)))
    return [grids[s] for s in np.array_split(np.arange(n), n_blocks) if s.size]


@validate_params({**CUBICAL_PARAMETER_CONSTRAINTS, **BACKEND_CONSTRAINTS}, prefer_skip_nested_validation=True)
def cubical_diagrams(
    X, *, homology_dimensions=(0, 1), construction="T", grid_shape=None, n_jobs=None, backend="gudhi"
):
    """Persistence diagrams of the superlevel filtrations of every sample.

    Parameters
    ----------
    X : array-like, see :func:`as_grids`
    homology_dimensions : sequence of int
    construction : {'T', 'V'}
        Pixels as top cells (8-connectivity in 2-D) or as vertices (4-connectivity).
    grid_shape : tuple of int or None
    n_jobs : int or None
        Threads over samples (gudhi releases the GIL).
    backend : {'gudhi', 'cripser'}, default='gudhi'
        The persistence engine; 'cripser' (Cubical Ripser, installed separately,
        imported only here) is the faster one for ``construction='V'`` and for 3-D
        volumes, gudhi for 2-D top cells. Both give the same bars (the order of
        bars within a dimension may differ).

    Returns
    -------
    diagrams : list of list of ndarray of shape (n_bars, 2)
        ``diagrams[i][j]`` holds the bars ``(b, d)`` of dimension
        ``homology_dimensions[j]`` of sample ``i`` in the filtration of ``-X[i]``:
        a feature appears when the superlevel threshold falls to ``-b`` and vanishes
        when it falls to ``-d`` (``d = inf`` for an essential class).
    """
    grids = as_grids(X, grid_shape=grid_shape)
    dims = check_homology_dimensions(homology_dimensions)
    out = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_diagrams_of_block)(b, dims, construction, False, backend) for b in _split(grids, n_jobs)
    )
    return [d for part in out for d in part]


def _bars_to_curves(diagrams, levels_sorted, n_dims):
    """Betti curves of many samples from their bars, in one vectorised pass.

    ``levels_sorted`` are the sublevel values ``t_k = -eta_k`` in increasing order.
    A bar ``(b, d)`` is alive exactly for ``lo <= k < hi`` with ``lo = #{t_k < b}``
    and ``hi = #{t_k < d}``; adding +1 at ``lo`` and -1 at ``hi`` of a difference
    array and taking the running sum counts the live bars at every level at once.
    """
    n = len(diagrams)
    flat = [per_dim[j] for per_dim in diagrams for j in range(n_dims)]
    counts = np.fromiter((len(b) for b in flat), dtype=np.int64, count=len(flat))
    if not counts.any():
        return np.zeros((n, n_dims, levels_sorted.size), dtype=np.int64)
    bars = np.concatenate([np.asarray(b, dtype=np.float64).reshape(-1, 2) for b in flat if len(b)])
    rows = np.repeat(np.arange(n * n_dims, dtype=np.int64), counts)
    return _count_live_bars(rows, bars, n, n_dims, levels_sorted)


def _count_live_bars(rows, bars, n, n_dims, levels_sorted):
    """Curves of :func:`_bars_to_curves` from bars flat, ``rows = sample * n_dims + j``."""
    K = levels_sorted.size
    lo = np.searchsorted(levels_sorted, bars[:, 0], side="left")
    hi = np.searchsorted(levels_sorted, bars[:, 1], side="left")
    width = K + 1
    size = n * n_dims * width
    diff = np.bincount(rows * width + lo, minlength=size) - np.bincount(rows * width + hi, minlength=size)
    curves = np.cumsum(diff.reshape(n * n_dims, width), axis=1)[:, :K]
    return curves.reshape(n, n_dims, K)


def _curves_of_block(block, dims, construction, levels_sorted, sublevel=False, backend="gudhi"):
    if backend == "cripser":
        # cripser's flat bars go straight to the counts, not through per-sample lists
        image, dim, bars = _cripser_bars(block, dims, construction, 1.0 if sublevel else -1.0)
        position = np.full(max(dims) + 2, -1, dtype=np.int64)
        position[list(dims)] = np.arange(len(dims))
        j = position[np.minimum(dim, max(dims) + 1)]
        wanted = j >= 0
        rows = image[wanted] * len(dims) + j[wanted]
        return _count_live_bars(rows, bars[wanted], len(block), len(dims), levels_sorted)
    diagrams = _diagrams_of_block(block, dims, construction, sublevel, backend)
    return _bars_to_curves(diagrams, levels_sorted, len(dims))


def _betti_curves(grids, eta, dims, construction, n_jobs, sublevel=False, backend="gudhi"):
    """Betti curves of validated grids at validated thresholds ``eta`` (of ``{a <= eta}`` when ``sublevel``)."""
    levels = eta if sublevel else -eta
    order = np.argsort(levels, kind="stable")
    levels_sorted = levels[order]
    parts = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_curves_of_block)(b, dims, construction, levels_sorted, sublevel, backend)
        for b in _split(grids, n_jobs)
    )
    sorted_curves = np.concatenate(parts, axis=0)
    curves = np.empty_like(sorted_curves)
    curves[:, :, order] = sorted_curves
    return curves


@validate_params(
    {"X": ["array-like"], "thresholds": ["array-like"], **CUBICAL_PARAMETER_CONSTRAINTS, **BACKEND_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def betti_curves(
    X, thresholds, *, homology_dimensions=(0, 1), construction="T", grid_shape=None, n_jobs=None, backend="gudhi"
):
    r"""Betti numbers of the superlevel sets :math:`\{X_i \ge \eta\}` at every threshold.

    The persistence of :math:`-X_i` is computed once per sample; the Betti numbers
    at all thresholds are then counted from its bars (see the module notes), for
    all samples and thresholds in one vectorised pass. No complex is rebuilt per
    threshold.

    Parameters
    ----------
    X : array-like, see :func:`as_grids`
    thresholds : array-like of float, shape (n_thresholds,)
        The levels ``eta``, in any order; the output follows it.
    homology_dimensions : sequence of int
        Dimensions at or above the grid's dimension are identically zero (a subset
        of R^d has no d-dimensional homology) and are returned as zero curves.
    construction : {'T', 'V'}
    grid_shape : tuple of int or None
    n_jobs : int or None
        Threads over blocks of samples.
    backend : {'gudhi', 'cripser'}, default='gudhi'
        Persistence engine, as in :func:`cubical_diagrams`: the curves are the same.

    Returns
    -------
    curves : ndarray of int64, shape (n_samples, n_dims, n_thresholds)
    """
    grids = as_grids(X, grid_shape=grid_shape)
    dims = check_homology_dimensions(homology_dimensions)
    return _betti_curves(grids, check_thresholds(thresholds), dims, construction, n_jobs, backend=backend)


# ---------------------------------------------------------------------------
# Layer-level complexity and its decay
# ---------------------------------------------------------------------------
ComplexityDecay = namedtuple("ComplexityDecay", ["theta", "intercept", "r2"])
ComplexityDecay.__doc__ = """Fit of Omega against depth: ``theta``, ``intercept`` and ``r2``.

With ``convention='skalign'`` the least-squares line ``Omega ~ intercept + theta *
depth`` (depth in [0, 1]); with ``convention='suresh2023'`` the decay score of the
cubic ridge fit (see :func:`complexity_decay`). ``theta < 0`` means the
complexity falls with depth; ``r2`` is the coefficient of determination of the
fit (nan when Omega is constant)."""


#: Constraints of the parameters of :func:`topological_complexity`, shared with
#: :func:`complexity_decay_interval`.
COMPLEXITY_PARAMETER_CONSTRAINTS = {
    "homology_dimensions": CUBICAL_PARAMETER_CONSTRAINTS["homology_dimensions"],
    "construction": CUBICAL_PARAMETER_CONSTRAINTS["construction"],
    "summary": [StrOptions(set(COMPLEXITY_SUMMARIES))],
    "eta": [Real],
    "n_thresholds": [Interval(Integral, 1, None, closed="left")],
    "per_channel": ["boolean"],
    "channel_axis": [Integral],
    "normalize": [StrOptions(set(COMPLEXITY_NORMALIZATIONS))],
    "relative": ["boolean"],
    "n_jobs": CUBICAL_PARAMETER_CONSTRAINTS["n_jobs"],
    "convention": [StrOptions(set(COMPLEXITY_CONVENTIONS))],
    "per_cell": ["boolean"],
    **BACKEND_CONSTRAINTS,
}


def _layer_arrays(layers):
    """Names and arrays of a list or dict of layers."""
    if isinstance(layers, dict):
        names = [str(k) for k in layers]
        arrays = list(layers.values())
    else:
        arrays = list(layers)
        names = [f"layer{i}" for i in range(len(arrays))]
    if not arrays:
        raise ValueError("layers is empty; pass a list or dict of per-layer activations.")
    return names, arrays


def _resolve_convention(convention, homology_dimensions, construction, summary, per_channel, normalize):
    """The recipe's (dims, construction, summary, per_channel, normalize, sublevel) for ``convention``."""
    sublevel = convention == "suresh2023"
    if sublevel:
        given = {
            "homology_dimensions": tuple(check_homology_dimensions(homology_dimensions)),
            "construction": construction,
            "summary": summary,
            "per_channel": bool(per_channel),
            "normalize": normalize,
        }
        defaults = {"homology_dimensions": (0, 1), "construction": "T", "summary": "area",
                    "per_channel": True, "normalize": "sample"}
        for key, fixed in SURESH2023_RECIPE.items():
            if given[key] not in (fixed, defaults[key]):
                raise ValueError(
                    f"convention='suresh2023' fixes {key}={fixed!r}; got {key}={given[key]!r}. "
                    f"Leave {key} at its default or use convention='skalign'."
                )
        homology_dimensions, construction, summary, per_channel, normalize = (
            SURESH2023_RECIPE[k] for k in ("homology_dimensions", "construction", "summary", "per_channel", "normalize")
        )
    dims = check_homology_dimensions(homology_dimensions)
    return dims, construction, summary, per_channel, normalize, sublevel


def _sample_bettis(A, name, dims, construction, summary, eta, n_thresholds, per_channel, channel_axis,
                   normalize, n_jobs, sublevel, backend="gudhi"):
    """Betti numbers of one layer averaged over thresholds, shape (n_samples, n_maps, n_dims), and the cells of one grid."""
    A = check_representation(A, name=f"layers[{name!r}]", ndim=(2, 3, 4))
    n = A.shape[0]
    if A.ndim == 4 and per_channel:
        A = np.moveaxis(A, channel_axis, 1)
        n_maps = A.shape[1]
        grids = A.reshape((n * n_maps,) + A.shape[2:])
    else:
        n_maps = 1
        grids = A
    if normalize == "sample":
        grids = minmax_per_sample(grids)
    elif normalize == "layer":
        grids = _minmax_rows(grids.reshape(1, -1)).reshape(grids.shape)
    if summary == "threshold":
        thresholds = np.array([float(eta)])
    else:
        lo, hi = (0.0, 1.0) if normalize != "none" else (float(grids.min()), float(grids.max()))
        edges = np.linspace(lo, hi, n_thresholds + 1)
        thresholds = 0.5 * (edges[:-1] + edges[1:])
    curves = _betti_curves(grids, thresholds, dims, construction, n_jobs, sublevel, backend)
    return curves.mean(axis=2).reshape(n, n_maps, len(dims)), math.prod(grids.shape[1:])


@validate_params(COMPLEXITY_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def topological_complexity(
    layers,
    *,
    homology_dimensions=(0, 1),
    construction="T",
    summary="area",
    eta=0.5,
    n_thresholds=20,
    per_channel=True,
    channel_axis=1,
    normalize="sample",
    relative=False,
    n_jobs=None,
    convention="skalign",
    per_cell=False,
    backend="gudhi",
):
    r"""Topological complexity :math:`\Omega` of every layer of a network.

    :math:`\Omega` (see the module notes) at one threshold
    (``summary='threshold'``), or its mean over an even grid of thresholds spanning
    the values, i.e. the area under the summed Betti curve divided by the value
    range (``summary='area'``).

    The paper (Suresh et al., 2023) does not fix every step; the choices below are
    the library's, each a parameter:

    * thresholds are taken in per-sample min-max units by default
      (``normalize='sample'``), so that layers of different scale are comparable;
    * the T-construction (8-connectivity) by default;
    * conv volumes are read per channel and averaged over channels by default
      (``per_channel=True``), so that a wider layer does not count more; with
      ``per_channel=False`` the C x H x W volume is one 3-D grid;
    * the raw :math:`\Omega` by default; ``relative=True`` adds ``omega_relative``,
      :math:`\Omega` divided by the first layer's.

    ``convention='suresh2023'`` instead reproduces the authors' released code
    (Suresh et al., 2023): each sample's whole C x H x W volume is one 3-D grid
    in the V-construction, filtered by *sublevel* sets :math:`\{a \le \eta\}` of
    the raw values (no rescaling), at the one raw threshold ``eta``, with
    :math:`\Omega = \frac1n \sum_i (\beta_0 + \beta_1 + \beta_2)`. The parameters
    that recipe fixes (``homology_dimensions=(0, 1, 2)``, ``construction='V'``,
    ``summary='threshold'``, ``per_channel=False``, ``normalize='none'``) must be
    left at their defaults or set to those values. A bar :math:`(b, d)` counts at
    :math:`\eta` when :math:`b \le \eta < d`, the Betti number of
    :math:`\{a \le \eta\}`; the released code counts :math:`b \le \eta \le d`, so
    at a threshold equal to a death value it counts the dying class and the class
    it merges into (a double count there); elsewhere the two agree exactly.
    Their Omega is computed on the raw values, so it depends on the scale and
    the resolution of every map: pooling alone lowers it.

    Parameters
    ----------
    layers : list or dict of array-like
        Per-layer activations, samples first, in depth order: (n, C, H, W) conv
        volumes (channel axis ``channel_axis``), (n, H, W) single-channel maps, or
        (n, d) vectors (read as 1-D signals, so only beta_0 is non-zero and it depends
        on the unit order). A dict's keys name the layers.
    homology_dimensions : sequence of int
        The q of the summed :math:`\beta_q`.
    construction : {'T', 'V'}
        Values as top cells or as vertices (see the module notes).
    summary : {'area', 'threshold'}
        Mean over a grid of thresholds, or the value at ``eta``.
    eta : float
        Threshold for ``summary='threshold'``, in the units set by ``normalize``
        (default 0.5: half-way between each sample's min and max).
    n_thresholds : int
        Grid size for ``summary='area'``: midpoints of ``n_thresholds`` equal bins
        of [0, 1] for ``normalize='sample'`` or ``'layer'``, or of the layer's
        [min, max] for ``normalize='none'``.
    per_channel : bool
        Read each channel of a 4-D layer as its own map and average over
        channels, or the C x H x W volume as one 3-D grid.
    channel_axis : int
        Axis of the channels in 4-D layers (1 for PyTorch's NCHW, -1 or 3 for NHWC).
    normalize : {'sample', 'layer', 'none'}
        Min-max rescaling of each sample (each sample's channel when per channel),
        of the whole layer, or none.
    relative : bool
        Add ``omega_relative``, Omega divided by the first layer's.
    n_jobs : int or None
        Threads over blocks of samples.
    convention : {'skalign', 'suresh2023'}
        The library's recipe (above) or the released code's.
    per_cell : bool
        Add ``omega_per_cell``: Omega divided by the number of cells of one grid
        (pixels of one map when per channel, voxels of the C x H x W volume
        otherwise, units of a 1-D signal), i.e. the number of topological
        features per cell. Omega itself grows with the map's resolution (a
        pooled map has fewer cells and so fewer features, trained or not); the
        per-cell value compares layers of different resolution.
    backend : {'gudhi', 'cripser'}, default='gudhi'
        Persistence engine (see :func:`cubical_diagrams`): 'cripser' is the faster
        for the V-construction (``convention='suresh2023'``) and 3-D volumes; the
        numbers are the same.

    Returns
    -------
    profile : pandas.DataFrame
        One row per layer (index: layer name) with ``depth`` (layer position scaled
        to [0, 1]), ``omega``, ``betti<q>`` (the per-dimension means that sum to
        Omega), ``n_samples``, when ``relative`` ``omega_relative`` and, when
        ``per_cell``, ``omega_per_cell``.

    References
    ----------
    See the module references (Suresh et al., 2023).
    """
    import pandas as pd

    names, arrays = _layer_arrays(layers)
    dims, construction, summary, per_channel, normalize, sublevel = _resolve_convention(
        convention, homology_dimensions, construction, summary, per_channel, normalize
    )
    rows = []
    for name, A in zip(names, arrays):
        bettis, n_cells = _sample_bettis(A, name, dims, construction, summary, eta, n_thresholds,
                                         per_channel, channel_axis, normalize, n_jobs, sublevel, backend)
        # mean over thresholds (done), then over channels and samples
        per_dim = bettis.mean(axis=(0, 1))
        row = {"layer": name, "omega": float(per_dim.sum()), "n_samples": bettis.shape[0]}
        row.update({f"betti{q}": float(v) for q, v in zip(dims, per_dim)})
        if per_cell:
            row["omega_per_cell"] = row["omega"] / n_cells
        rows.append(row)
    profile = pd.DataFrame(rows).set_index("layer")
    L = len(rows)
    profile.insert(0, "depth", np.linspace(0.0, 1.0, L) if L > 1 else np.zeros(1))
    if relative:
        first = profile["omega"].iloc[0]
        if not first > 0:
            warnings.warn(
                f"the first layer ({profile.index[0]!r}) has Omega = 0, so omega_relative "
                "(Omega divided by the first layer's) is undefined and set to NaN.",
                UserWarning,
                stacklevel=2,
            )
        profile["omega_relative"] = profile["omega"] / first if first > 0 else np.nan
    return profile


@validate_params(
    {
        "depth": ["array-like", None],
        "log": ["boolean"],
        "column": [str],
        "convention": [StrOptions(set(COMPLEXITY_CONVENTIONS))],
    },
    prefer_skip_nested_validation=True,
)
def complexity_decay(profile, depth=None, *, log=False, column="omega", convention="skalign"):
    r"""Decay rate :math:`\theta` of the topological complexity with depth.

    Least-squares fit of :math:`\Omega` (or :math:`\log \Omega` with ``log=True``)
    against depth scaled to [0, 1],

    .. math::

        \Omega_l \approx c + \theta \, \mathrm{depth}_l .

    A negative :math:`\theta` means complexity falls with depth, as Suresh et al.
    (2023) report for well-generalising networks.

    ``convention='suresh2023'`` computes the score of the authors' released code
    instead: :math:`y = \Omega / \lVert \Omega \rVert_2` is fitted by a cubic in
    the layer index :math:`x = 1, \dots, L` (or the raw ``depth`` when given) with
    ridge regression (penalty :math:`\alpha = 10^{-3}` on the three non-constant
    coefficients, intercept unpenalised),

    .. math::

        \min_{c} \sum_l \bigl(y_l - c_0 - c_1 x_l - c_2 x_l^2 - c_3 x_l^3\bigr)^2
        + \alpha (c_1^2 + c_2^2 + c_3^2),
        \qquad \theta = c_1 + \tfrac12 c_2 + \tfrac12 c_3 .

    This :math:`\theta` is scale-free in :math:`\Omega` but not in depth: it
    depends on the number of layers through :math:`x`.

    Parameters
    ----------
    profile : pandas.DataFrame or array-like of shape (n_layers,)
        The output of :func:`topological_complexity` (column ``column`` is used,
        and its ``depth`` column when ``depth`` is None) or the Omega values.
    depth : array-like of shape (n_layers,) or None
        Layer depths (any increasing scale, e.g. layer index or cumulative FLOPs);
        rescaled to [0, 1]. None: the profile's ``depth`` or evenly spaced.
    log : bool
        Fit log Omega (an exponential decay ``Omega ~ exp(theta * depth)``).
        Only with ``convention='skalign'``.
    column : str
        The profile's column to fit (``'omega'``, ``'omega_per_cell'``,
        ``'omega_relative'``, ...).
    convention : {'skalign', 'suresh2023'}
        The least-squares slope on depth in [0, 1], or the released code's
        cubic ridge score on the layer index.

    Returns
    -------
    ComplexityDecay
        ``(theta, intercept, r2)``; for ``'suresh2023'`` the intercept and
        :math:`R^2` are those of the cubic fit of the normalised Omega.

    References
    ----------
    See the module references (Suresh et al., 2023).
    """
    if hasattr(profile, "columns"):
        if column not in profile.columns:
            raise ValueError(f"profile has no column {column!r}; columns are {list(profile.columns)}.")
        omega = profile[column].to_numpy(dtype=np.float64)
        # the released code fits on the layer index, not the profile's [0, 1] depth
        if depth is None and "depth" in profile.columns and convention == "skalign":
            depth = profile["depth"].to_numpy(dtype=np.float64)
    else:
        omega = np.asarray(profile, dtype=np.float64).ravel()
    L = omega.size
    if L < 2:
        raise ValueError(f"complexity_decay needs at least 2 layers; got {L}.")
    if not np.isfinite(omega).all():
        raise ValueError("profile contains NaN or inf complexity values.")
    if convention == "suresh2023":
        if log:
            raise ValueError("log=True is not part of convention='suresh2023'; use convention='skalign'.")
        if depth is None:
            depth = np.arange(1.0, L + 1.0)
    if depth is None:
        depth = np.linspace(0.0, 1.0, L)
    depth = np.asarray(depth, dtype=np.float64).ravel()
    if depth.size != L or not np.isfinite(depth).all():
        raise ValueError(f"depth must hold {L} finite values, one per layer; got {depth.size}.")
    span = depth.max() - depth.min()
    if span <= 0:
        raise ValueError("depth must not be constant: every layer would sit at the same depth.")
    if convention == "suresh2023":
        return _suresh2023_decay(omega, depth)
    x = (depth - depth.min()) / span
    y = omega
    if log:
        if (omega <= 0).any():
            raise ValueError("log=True needs Omega > 0 at every layer; some layers have Omega <= 0.")
        y = np.log(omega)
    A = np.column_stack([np.ones(L), x])
    (intercept, theta), *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ np.array([intercept, theta])
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return ComplexityDecay(float(theta), float(intercept), r2)


ComplexityDecayInterval = namedtuple("ComplexityDecayInterval", ["theta", "low", "high", "bootstrap"])
ComplexityDecayInterval.__doc__ = """Decay rate on all samples, a percentile bootstrap interval, and the resampled rates.

``theta`` is :func:`complexity_decay`'s value on all samples; ``(low, high)`` the
percentile interval of the ``bootstrap`` values (one per resample of the samples)."""


@validate_params(
    {
        **{k: v for k, v in COMPLEXITY_PARAMETER_CONSTRAINTS.items() if k != "relative"},
        "log": ["boolean"],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def complexity_decay_interval(
    layers,
    *,
    homology_dimensions=(0, 1),
    construction="T",
    summary="area",
    eta=0.5,
    n_thresholds=20,
    per_channel=True,
    channel_axis=1,
    normalize="sample",
    convention="skalign",
    per_cell=False,
    log=False,
    n_resamples=1000,
    confidence_level=0.95,
    random_state=None,
    n_jobs=None,
    backend="gudhi",
):
    r"""Decay rate :math:`\theta` with a bootstrap interval over the samples (images).

    Every sample's Betti numbers are computed once per layer; each resample
    draws ``n`` samples with replacement, the *same* samples in every layer
    (the layers of one image are paired), and recomputes
    :math:`\Omega_l` and :math:`\theta`. The interval is the percentile interval
    of the resampled :math:`\theta`: it shows how much of a difference in
    :math:`\theta` between two networks the choice of images alone explains.
    It says nothing about the variation between trained networks.

    Parameters
    ----------
    layers : list or dict of array-like
        As in :func:`topological_complexity`; every layer must hold the same
        samples (row ``i`` is image ``i`` in each).
    homology_dimensions, construction, summary, eta, n_thresholds, per_channel, channel_axis, normalize
        As in :func:`topological_complexity`.
    convention : {'skalign', 'suresh2023'}
        Recipe of both Omega (:func:`topological_complexity`) and theta
        (:func:`complexity_decay`).
    per_cell : bool
        Fit the per-cell Omega (see :func:`topological_complexity`).
    log : bool
        See :func:`complexity_decay`.
    n_resamples : int
    confidence_level : float in (0, 1)
    random_state : int, RandomState instance or None
    n_jobs : int or None
    backend : {'gudhi', 'cripser'}, default='gudhi'
        Persistence engine (see :func:`cubical_diagrams`); the numbers are the same.

    Returns
    -------
    ComplexityDecayInterval
        ``(theta, low, high, bootstrap)``.

    References
    ----------
    See the module references (Suresh et al., 2023).
    """
    from sklearn.utils import check_random_state

    names, arrays = _layer_arrays(layers)
    if len(arrays) < 2:
        raise ValueError(f"complexity_decay_interval needs at least 2 layers; got {len(arrays)}.")
    dims, construction, summary, per_channel, normalize, sublevel = _resolve_convention(
        convention, homology_dimensions, construction, summary, per_channel, normalize
    )
    per_sample = []  # (n_samples,) Omega of each sample, per layer
    for name, A in zip(names, arrays):
        bettis, n_cells = _sample_bettis(A, name, dims, construction, summary, eta, n_thresholds,
                                         per_channel, channel_axis, normalize, n_jobs, sublevel, backend)
        omega_i = bettis.mean(axis=1).sum(axis=1)
        per_sample.append(omega_i / n_cells if per_cell else omega_i)
    n = per_sample[0].size
    for name, o in zip(names, per_sample):
        if o.size != n:
            raise ValueError(
                f"every layer must hold the same samples; layers[{names[0]!r}] has {n} and "
                f"layers[{name!r}] has {o.size}."
            )
    omega = np.column_stack(per_sample)  # (n_samples, n_layers)
    theta = complexity_decay(omega.mean(axis=0), log=log, convention=convention).theta
    rng = check_random_state(random_state)
    boot = np.empty(n_resamples)
    for b in range(n_resamples):
        mean = omega[rng.randint(0, n, size=n)].mean(axis=0)
        boot[b] = _decay_of(mean, log, convention)
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        raise ValueError("no resample gave a finite theta (Omega is zero or non-positive with log=True).")
    tail = 50.0 * (1.0 - confidence_level)
    low, high = np.percentile(boot, [tail, 100.0 - tail])
    return ComplexityDecayInterval(float(theta), float(low), float(high), boot)


def _decay_of(omega, log, convention):
    """theta of one resample; nan where the resample leaves it undefined (all-zero Omega, log of 0)."""
    try:
        return complexity_decay(omega, log=log, convention=convention).theta
    except ValueError:
        return float("nan")


def _suresh2023_decay(omega, x):
    """Cubic ridge fit of ``omega / ||omega||`` on ``x`` and its score ``c1 + c2/2 + c3/2``."""
    norm = float(np.linalg.norm(omega))
    if not norm > 0:
        raise ValueError("convention='suresh2023' normalises Omega by its norm; Omega is zero at every layer.")
    y = omega / norm
    # the intercept is left out of the penalty by centring, as a ridge with an intercept does
    F = np.column_stack([x, x**2, x**3])
    F_mean, y_mean = F.mean(axis=0), y.mean()
    Fc, yc = F - F_mean, y - y_mean
    c = np.linalg.solve(Fc.T @ Fc + SURESH2023_RIDGE_ALPHA * np.eye(3), Fc.T @ yc)
    intercept = float(y_mean - F_mean @ c)
    theta = float(np.dot(SURESH2023_THETA_WEIGHTS[1:], c))
    resid = yc - Fc @ c
    ss_tot = float((yc**2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return ComplexityDecay(theta, intercept, r2)
