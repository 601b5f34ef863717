"""Inference for every paired scorer: permutation p-values, bootstrap intervals,
paired comparisons and null-calibrated scores.

Every function takes a paired scorer (any :class:`~skalign.base.BasePairedScorer`,
or a :class:`~sklearn.pipeline.Pipeline` ending in one) and two representations
``X``, ``y`` of the same stimuli (row i of both = stimulus i). The result objects
use the names of :func:`scipy.stats.permutation_test` and :func:`scipy.stats.bootstrap`.

Permutation test
----------------
Under the null hypothesis that the pairing of rows carries no information, the
rows of ``y`` are exchangeable: the statistic of ``(X, y[π])`` for a random
permutation π has the distribution of the observed one. With B permutations and
observed statistic :math:`s`,

.. math::

    p = \\frac{1 + \\#\\{b : s_b \\ge s\\}}{1 + B},
    \\qquad \\operatorname{se}(p) = \\sqrt{p (1 - p) / B}

(Phipson & Smyth [1]_: never zero, exact level for any B). ``groups`` restricts
π to permutations within groups (exchangeability blocks [2]_). A permuted value
equal to the observed one up to ``1e-12`` relative counts as "as large".

Reuse. A permutation changes the pairing, never a representation. For a stateless
scorer without ``cv``, X and y are prepared once (:meth:`~skalign.base.BasePairedScorer.prepare`)
and every permutation costs one :meth:`~skalign.base.BasePairedScorer.combine` of
the prepared X with the prepared y reordered by
:meth:`~skalign.base.BasePairedScorer.permute_prepared` (linear CKA: one cross
product of the centred data; TAS: relabelled held ranks). Where that hook
returns None the permuted y is prepared anew (X's work is still shared).
Fitted scorers, pipelines and every run with ``cv`` fall back to fitting and
scoring a clone per permutation.

Bootstrap
---------
Rows (stimuli) are resampled with replacement; with ``groups``, whole groups are.
The interval is the percentile interval, or the bias-corrected and accelerated
(BCa) interval of Efron [3]_ with the acceleration from the jackknife (one
leave-one-out evaluation per row, or per group). Duplicated rows would be each
other's nearest neighbours, zero dissimilarities of an RDM, or off-diagonal terms
of a U-statistic, so for scorers whose metadata declares ``distinct_rows=True``
(TAS, the k-NN measures, CKNNA, information imbalance, RSA, debiased CKA,
bias-corrected distance correlation) a resample is a half-sample drawn *without*
replacement (each stimulus at most once), whose spread matches the bootstrap's
for a mean over stimuli [4]_; its values are recentred on the full-sample statistic.

Calibrated score
----------------
Raw scores grow with width and depth even between unrelated networks, so they
cannot be compared across models [5]_. :func:`calibrated_score` (Algorithm 1 of
[5]_) measures the observed score from the critical value of its permutation
null: with K permutations, :math:`\\tau` is the
:math:`\\lceil (1 - \\alpha)(K + 1) \\rceil`-th smallest of the K + 1 values
made of the observed score and the K permuted ones, and

.. math::

    s_{\\mathrm{cal}} = \\operatorname{clip}\\Big(\\frac{s - \\tau}{s_{\\max} - \\tau}, 0, 1\\Big),

with :math:`s_{\\max}` the top of the scorer's ``score_range`` (for a scorer
without a finite top, the unnormalised effect size :math:`\\max(s - \\tau, 0)`).
It is 0 whenever the permutation test at level :math:`\\alpha` does not reject,
so under the null it is positive with probability at most :math:`\\alpha`, and
1 at perfect alignment. :func:`calibrated_layers` (Algorithm 2 of [5]_)
calibrates an aggregate over a layer x layer matrix, the best pair's score
(``'max'``) or the mean, against the null of the same aggregate, every layer of
the second network permuted by the same permutation: the search for the best
layer pair is part of the statistic, so its null is too.

References
----------
.. [1] Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be
   zero: calculating exact p-values when permutations are randomly drawn.
   Statistical Applications in Genetics and Molecular Biology 9(1).
.. [2] Winkler, A. M., Ridgway, G. R., Webster, M. A., Smith, S. M. & Nichols,
   T. E. (2014). Permutation inference for the general linear model.
   NeuroImage 92, 381-397.
.. [3] Efron, B. (1987). Better bootstrap confidence intervals. Journal of the
   American Statistical Association 82(397), 171-185.
.. [4] McCarthy, P. J. (1969). Pseudo-replication: half samples. Review of the
   International Statistical Institute 37(3), 239-264.
.. [5] Gröger, F., Wen, S. & Brbić, M. (2026). Revisiting the Platonic
   Representation Hypothesis: An Aristotelian View. arXiv:2602.14486.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import (
    _caller_stacklevel,
    check_paired,
    check_random_state,
    check_representation,
    check_same_samples,
    pair_warnings_off,
)
from ._progress import progress
from .base import BasePairedScorer

__all__ = [
    "ALTERNATIVES",
    "STATISTICS",
    "LAYER_AGGREGATES",
    "INTERVAL_METHODS",
    "INFERENCE_PARAMETER_CONSTRAINTS",
    "ConfidenceInterval",
    "PermutationTestResult",
    "BootstrapResult",
    "ComparisonResult",
    "CalibratedScoreResult",
    "CalibratedLayersResult",
    "permutation_test",
    "bootstrap",
    "compare",
    "calibrated_score",
    "calibrated_layers",
    "permutation_pvalue",
    "draw_permutations",
    "resampled_interval",
]

ALTERNATIVES = ("greater", "less", "two-sided")
INTERVAL_METHODS = ("percentile", "bca")
LAYER_AGGREGATES = ("max", "mean")
STATISTICS = ("score", "spectrum")

#: Constraints of the parameters the inference functions share.
INFERENCE_PARAMETER_CONSTRAINTS = {
    "scorer": "no_validation",
    "X": ["array-like"],
    "y": ["array-like"],
    "z": ["array-like"],
    "n_permutations": [Interval(Integral, 1, None, closed="left")],
    "n_resamples": [Interval(Integral, 1, None, closed="left")],
    "confidence_level": [Interval(Real, 0, 1, closed="neither")],
    "method": [StrOptions(set(INTERVAL_METHODS))],
    "alternative": [StrOptions(set(ALTERNATIVES))],
    "groups": ["array-like", None],
    "cv": ["cv_object"],
    "random_state": ["random_state"],
    "n_jobs": [Integral, None],
    "verbose": ["verbose"],
    "alpha": [Interval(Real, 0, 1, closed="neither")],
    "aggregate": [StrOptions(set(LAYER_AGGREGATES))],
    "statistic": [StrOptions(set(STATISTICS))],
    "reps_a": "no_validation",
    "reps_b": "no_validation",
}

#: Conventional level below which a user expects to be able to reject.
_LEVEL = 0.05
#: Relative tolerance for a resampled value to count as equal to the observed one.
_TIE = 1e-12


def _constraints(*names):
    return {name: INFERENCE_PARAMETER_CONSTRAINTS[name] for name in names}


# ----------------------------------------------------------------------------- results
class ConfidenceInterval(NamedTuple):
    """A two-sided confidence interval: ``low`` and ``high`` (floats, or arrays for a spectrum)."""

    low: float
    high: float


@dataclass
class PermutationTestResult:
    """Result of :func:`permutation_test`.

    With ``statistic='spectrum'`` every field but ``alternative`` has one entry
    per neighbourhood size (the null one column per size).

    Attributes
    ----------
    statistic : float or ndarray
        The observed score.
    pvalue : float or ndarray
        ``(1 + #{null as extreme as observed}) / (1 + B)``.
    pvalue_se : float or ndarray
        Monte-Carlo standard error of ``pvalue``, ``sqrt(p (1 - p) / B)``.
    null_distribution : ndarray of shape (B,) or (B, n_sizes)
        The score of every permutation, in the order drawn.
    alternative : str
        The alternative the p-value is for.
    """

    statistic: float
    pvalue: float
    pvalue_se: float
    null_distribution: np.ndarray
    alternative: str = "greater"


@dataclass
class BootstrapResult:
    """Result of :func:`bootstrap`.

    With ``statistic='spectrum'`` the statistic, both interval ends and the
    standard error have one entry per neighbourhood size.

    Attributes
    ----------
    statistic : float or ndarray
        The score on all rows.
    confidence_interval : ConfidenceInterval
        ``(low, high)``.
    standard_error : float or ndarray
        Standard deviation of ``bootstrap_distribution`` (ddof=1).
    bootstrap_distribution : ndarray of shape (B,) or (B, n_sizes)
        The score of every resample (recentred half-samples for neighbourhood measures).
    confidence_level : float
        Coverage the interval aims at.
    method : str
        'percentile' or 'bca'.
    """

    statistic: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    bootstrap_distribution: np.ndarray
    confidence_level: float = 0.95
    method: str = "percentile"


@dataclass
class ComparisonResult:
    """Result of :func:`compare`: alignment(X, y) − alignment(X, z).

    Attributes
    ----------
    difference : float
        ``statistic_y - statistic_z``.
    statistic_y, statistic_z : float
        The two scores on all rows.
    confidence_interval : ConfidenceInterval
        Paired bootstrap interval of the difference.
    standard_error : float
        Standard deviation of ``bootstrap_distribution`` (ddof=1).
    pvalue : float
        Paired permutation p-value (rows of y and z swapped), or, with
        ``n_permutations=0``, the bootstrap p-value of the shifted distribution.
    pvalue_se : float
        Monte-Carlo standard error of ``pvalue``.
    bootstrap_distribution : ndarray
        The difference on every paired resample.
    null_distribution : ndarray or None
        The difference after every swap; None with ``n_permutations=0``.
    alternative : str
        The alternative the p-value is for.
    """

    difference: float
    statistic_y: float
    statistic_z: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    pvalue: float
    pvalue_se: float
    bootstrap_distribution: np.ndarray
    null_distribution: np.ndarray | None
    alternative: str = "greater"


@dataclass
class CalibratedScoreResult:
    """Result of :func:`calibrated_score`.

    Attributes
    ----------
    calibrated_score : float
        ``clip((statistic - threshold) / (max_score - threshold), 0, 1)``, or
        ``max(statistic - threshold, 0)`` when ``max_score`` is None.
    statistic : float
        The raw score.
    threshold : float
        The critical value tau: the ``ceil((1 - alpha)(K + 1))``-th smallest of
        the observed score and the K null scores.
    pvalue, pvalue_se : float
        Of the permutation test against the same null.
    null_distribution : ndarray of shape (K,)
        The score of every permutation.
    null_mean : float
        Mean of ``null_distribution``.
    max_score : float or None
        Top of the scorer's ``score_range``; None when it is infinite.
    alpha : float
        The level of the critical value.
    """

    calibrated_score: float
    statistic: float
    threshold: float
    pvalue: float
    pvalue_se: float
    null_distribution: np.ndarray
    null_mean: float
    max_score: float | None
    alpha: float = 0.05


@dataclass
class CalibratedLayersResult:
    """Result of :func:`calibrated_layers`.

    Attributes
    ----------
    calibrated_score : float
        The calibrated aggregate, as in :class:`CalibratedScoreResult`.
    statistic : float
        The aggregate (max or mean) of ``scores``.
    threshold : float
        The critical value of the aggregate's null.
    pvalue, pvalue_se : float
        Of the aggregate against its null.
    null_distribution : ndarray of shape (K,)
        The aggregate of every permuted score matrix.
    null_mean : float
        Mean of ``null_distribution``.
    max_score : float or None
        Top of the scorer's ``score_range``; None when it is infinite.
    scores : pandas.DataFrame
        The observed score of every layer pair (rows: layers of ``reps_a``,
        columns: layers of ``reps_b``); NaN on the diagonal when ``reps_b`` is None.
    best_pair : tuple or None
        ``(name_a, name_b)`` of the pair that attains the max; None for ``'mean'``.
    aggregate : str
        'max' or 'mean'.
    alpha : float
        The level of the critical value.
    """

    calibrated_score: float
    statistic: float
    threshold: float
    pvalue: float
    pvalue_se: float
    null_distribution: np.ndarray
    null_mean: float
    max_score: float | None
    scores: object
    best_pair: tuple | None
    aggregate: str = "max"
    alpha: float = 0.05


# ----------------------------------------------------------------------------- checks
def _final_scorer(scorer):
    """The paired scorer at the end of ``scorer`` (itself, or a pipeline's last step)."""
    last = scorer.steps[-1][1] if isinstance(scorer, Pipeline) else scorer
    if not isinstance(last, BasePairedScorer):
        raise TypeError(
            "scorer must be a paired scorer (a skalign scorer such as CKAScorer(), or a Pipeline "
            f"ending in one); got {type(scorer).__name__}."
        )
    return last


def _is_pairwise(scorer):
    return bool(scorer.__sklearn_tags__().input_tags.pairwise)


def _check_groups(groups, n):
    """Integer group codes of length n, every group with at least two members."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups must be 1-D (one label per row); got shape {groups.shape}.")
    if groups.shape[0] != n:
        raise ValueError(f"groups has {groups.shape[0]} labels, but X and y have {n} rows; give one label per row.")
    _, codes, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError(
            f"groups has {int(np.sum(counts < 2))} group(s) with a single member; a one-row group cannot be "
            "permuted or resampled on its own: merge it into another group."
        )
    return codes.astype(np.intp)


def _take(A, rows, pairwise):
    """Rows ``rows`` of A (and the same columns for a precomputed n x n matrix)."""
    return A[np.ix_(rows, rows)] if pairwise else A[rows]


def _warn_floor(B, alternative, name, groups):
    floor = (2.0 if alternative == "two-sided" else 1.0) / (B + 1)
    if floor > _LEVEL:
        warnings.warn(
            f"{name}={B}: the smallest p-value it can give is {floor:.3g}, above {_LEVEL}; use at least "
            f"{int(math.ceil((2.0 if alternative == 'two-sided' else 1.0) / _LEVEL)) - 1} to reach p = {_LEVEL}.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
    if groups is not None:
        counts = np.bincount(groups)
        log_distinct = float(np.sum([math.lgamma(c + 1.0) for c in counts]))
        if log_distinct < math.log(B + 1):
            warnings.warn(
                f"groups allow only {round(math.exp(log_distinct))} distinct permutations, fewer than "
                f"{name}={B}; the same permutations repeat and p cannot fall below "
                f"{1.0 / math.exp(log_distinct):.3g}.",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )


def permutation_pvalue(observed, null, alternative="greater"):
    """The permutation p-value of ``observed`` against ``null``, and its Monte-Carlo error.

    .. math::

        p = \\frac{1 + \\#\\{b : s_b \\ge s\\}}{1 + B}, \\qquad
        \\operatorname{se}(p) = \\sqrt{p (1 - p) / B}

    for ``alternative='greater'`` (``'less'`` counts :math:`s_b \\le s`;
    ``'two-sided'`` doubles the smaller one, capped at 1). A null value equal to
    the observed one up to ``1e-12`` relative counts as "as extreme".

    Parameters
    ----------
    observed : float
        The statistic on the true pairing.
    null : ndarray of shape (B,)
        The statistic under B permutations.
    alternative : {'greater', 'less', 'two-sided'}, default='greater'
        The direction of the test.

    Returns
    -------
    pvalue, pvalue_se : float
        The p-value and its Monte-Carlo standard error.

    References
    ----------
    See the module docstring, [1]_.
    """
    p, se = _pvalues(float(observed), np.asarray(null, dtype=np.float64).ravel(), alternative)
    return float(p), float(se)


def _pvalues(observed, null, alternative):
    """p and its error for a scalar statistic (null of shape (B,)) or a vector one (null (B, m))."""
    B = null.shape[0]
    tol = _TIE * np.maximum(1.0, np.abs(observed))
    greater = (1.0 + np.count_nonzero(null >= observed - tol, axis=0)) / (1.0 + B)
    less = (1.0 + np.count_nonzero(null <= observed + tol, axis=0)) / (1.0 + B)
    if alternative == "greater":
        p = greater
    elif alternative == "less":
        p = less
    else:
        p = np.minimum(1.0, 2.0 * np.minimum(greater, less))
    return p, np.sqrt(p * (1.0 - p) / B)


# ----------------------------------------------------------------------------- draws
def draw_permutations(n_samples, n_permutations, *, groups=None, random_state=None):
    """``n_permutations`` random permutations of ``range(n_samples)``, within ``groups``.

    The permutations :func:`permutation_test` draws for the same ``random_state``
    and ``groups``, so a caller that scores many pairs (a layer x layer matrix) can
    apply one set of permutations to all of them.

    Parameters
    ----------
    n_samples : int
        Number of rows.
    n_permutations : int
        Number of permutations.
    groups : array-like of shape (n_samples,), default=None
        Exchangeability blocks: rows are permuted only within their group; every
        group needs at least two members.
    random_state : int, RandomState or None, default=None
        Seeds the draws.

    Returns
    -------
    ndarray of shape (n_permutations, n_samples)
        Row ``b`` is permutation b: the permuted y is ``y[perms[b]]``.
    """
    rs = check_random_state(random_state)
    codes = _check_groups(groups, n_samples)
    return np.stack([_permutation(rs, n_samples, codes) for _ in range(n_permutations)])


def resampled_interval(
    observed, distribution, confidence_level=0.95, method="percentile", jackknife=None, score_range=None
):
    """The percentile or BCa interval of a bootstrap ``distribution``.

    Parameters
    ----------
    observed : float
        The statistic on all rows.
    distribution : ndarray of shape (B,)
        The statistic on B resamples.
    confidence_level : float, default=0.95
        Coverage of the interval, in (0, 1).
    method : {'percentile', 'bca'}, default='percentile'
        ``'bca'`` needs ``jackknife``, the leave-one-out statistics.
    jackknife : ndarray, default=None
        Leave-one-out (or leave-one-group-out) statistics, for the acceleration.
    score_range : tuple of two floats, default=None
        The scorer's ``score_range``: the interval is clipped to it (recentred
        half-sample values can lie beyond the range a score can take).

    Returns
    -------
    ConfidenceInterval
        ``low`` and ``high``.

    References
    ----------
    See the module docstring, [3]_.
    """
    if method == "bca" and jackknife is None:
        raise ValueError("method='bca' needs jackknife, the leave-one-out statistics.")
    ci = _interval(float(observed), np.asarray(distribution, dtype=np.float64), confidence_level, method,
                   None if jackknife is None else np.asarray(jackknife, dtype=np.float64))
    return ci if score_range is None else _clip(ci, score_range)


def _clip(ci, score_range):
    """The interval with both ends inside the range the score can take."""
    low, high = (float(v) for v in score_range)
    lo, hi = np.clip(ci.low, low, high), np.clip(ci.high, low, high)
    if np.ndim(lo) == 0:
        return ConfidenceInterval(float(lo), float(hi))
    return ConfidenceInterval(lo, hi)


def _permutation(rs, n, groups):
    """A uniformly random permutation of range(n), within groups when given."""
    if groups is None:
        return rs.permutation(n).astype(np.intp)
    # sort the rows by group, break order at random inside each group, and send the
    # k-th row of the grouped order to the k-th of the shuffled one: same group
    base = np.argsort(groups, kind="stable")
    shuffled = np.lexsort((rs.random_sample(n), groups))
    perm = np.empty(n, dtype=np.intp)
    perm[base] = shuffled
    return perm


def _resample(rs, n, groups, members):
    """Bootstrap row indices: n rows, or whole groups, drawn with replacement."""
    if groups is None:
        return rs.randint(0, n, n).astype(np.intp)
    picked = rs.randint(0, len(members), len(members))
    return np.concatenate([members[g] for g in picked])


def _half_sample(rs, n, groups, members):
    """Half of the rows (or groups) drawn without replacement: no row twice."""
    if groups is None:
        return np.sort(rs.permutation(n)[: n // 2]).astype(np.intp)
    picked = rs.permutation(len(members))[: len(members) // 2]
    return np.sort(np.concatenate([members[g] for g in picked]))


def _chunks(draw, B, n_jobs):
    """The B draws in order, in chunks for the workers (the same draws for any n_jobs)."""
    n_chunks = 1 if n_jobs in (None, 1) else 4 * max(1, abs(int(n_jobs)))
    size = max(1, -(-B // n_chunks))
    done = 0
    while done < B:
        k = min(size, B - done)
        yield [draw() for _ in range(k)]
        done += k


def _run(fn, draws_chunks, n_jobs, verbose=0, desc="skalign", total=None, unit="permutation"):
    """``fn`` over the chunks of draws, in order; a progress report over draws when ``verbose``."""
    if n_jobs in (None, 1):
        if not verbose:
            return np.concatenate([np.asarray(fn(chunk), dtype=np.float64) for chunk in draws_chunks])
        # one draw per call, so that the report moves with every draw (same draws, same order)
        draws = (draw for chunk in draws_chunks for draw in chunk)
        parts = (fn([draw]) for draw in draws)
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(fn)(chunk) for chunk in draws_chunks)
        if not verbose:
            return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    values = (value for part in parts for value in np.asarray(part, dtype=np.float64))
    return np.asarray(list(progress(values, total, verbose=verbose, desc=desc, unit=unit)), dtype=np.float64)


# ----------------------------------------------------------------------------- evaluation
class _Evaluator:
    """Scores of ``scorer`` on (X, y) with y's rows permuted or both sides' rows resampled.

    ``reuse`` (stateless paired scorer, no cv): X and y are prepared once and a
    permutation costs one combine; otherwise a clone is fitted and scored per draw.
    With ``statistic='spectrum'`` every value is the scorer's vector
    ``combine_spectrum`` (one entry per neighbourhood size) instead of a number.
    """

    def __init__(self, scorer, X, y, cv, groups, verbose=0, statistic="score"):
        self.scorer = scorer
        self.final = _final_scorer(scorer)
        self.X, self.y = X, y
        self.pairwise = _is_pairwise(self.final)
        self.cv = None if cv is None else check_cv(cv)
        self.splits = None if cv is None else list(self.cv.split(X, y, groups))
        self.stateless = scorer is self.final and self.final.metadata()["stateless"]
        self.reuse = cv is None and self.stateless
        self.verbose = verbose
        self.PX = self.PY = None
        self.spectrum = statistic == "spectrum"
        if self.spectrum and not (
            self.reuse and hasattr(self.final, "combine_spectrum") and hasattr(self.final, "spectrum_at")
        ):
            raise ValueError(
                "statistic='spectrum' needs a stateless scorer with a spectrum (combine_spectrum and "
                "spectrum_at, as TopologicalAlignmentSpectrum has), passed itself rather than in a Pipeline, "
                f"and cv=None; got scorer={type(scorer).__name__}, cv={cv!r}."
            )

    def _value(self, PX, PY):
        if self.spectrum:
            return np.asarray(self.final.combine_spectrum(PX, PY), dtype=np.float64)
        return float(self.final.combine(PX, PY))

    def _prepare(self):
        if self.reuse and self.PX is None:
            with pair_warnings_off():
                self.PX = self.final.prepare(self.X, "X")
                self.PY = self.final.prepare(self.y, "Y")

    def _fit_score(self, X, Y, splits):
        with pair_warnings_off():
            if splits is None:
                return float(clone(self.scorer).fit(X, Y).score(X, Y))
            values = []
            for train, test in splits:
                Xt, Yt = _take(X, test, self.pairwise), _take(Y, test, self.pairwise)
                if self.stateless:
                    # a stateless scorer learns nothing from the training rows: score the fold directly
                    values.append(self.final.combine(self.final.prepare(Xt, "X"), self.final.prepare(Yt, "Y")))
                    continue
                est = clone(self.scorer).fit(_take(X, train, self.pairwise), _take(Y, train, self.pairwise))
                values.append(est.score(Xt, Yt))
            return float(np.mean(values))

    def observed(self):
        if self.reuse:
            self._prepare()
            with pair_warnings_off():
                return self._value(self.PX, self.PY)
        return self._fit_score(self.X, self.y, self.splits)

    def permuted(self, perms):
        out = []
        if self.reuse:
            self._prepare()
        for perm in perms:
            if self.reuse:
                with pair_warnings_off():
                    PY = self.final.permute_prepared(self.PY, perm)
                    if PY is None:
                        PY = self.final.prepare(_take(self.y, perm, self.pairwise), "Y")
                    out.append(self._value(self.PX, PY))
            else:
                out.append(self._fit_score(self.X, _take(self.y, perm, self.pairwise), self.splits))
        return out

    def with_y(self, Y):
        """Score of X with another y of the same rows (X's preparation reused)."""
        if self.reuse:
            self._prepare()
            with pair_warnings_off():
                return float(self.final.combine(self.PX, self.final.prepare(Y, "Y")))
        return self._fit_score(self.X, Y, self.splits)

    def on_rows(self, rows, X=None, y=None):
        """Score on the rows ``rows`` of (X, y); copies of one stimulus stay on one side of a split."""
        X = self.X if X is None else X
        y = self.y if y is None else y
        Xr, yr = _take(X, rows, self.pairwise), _take(y, rows, self.pairwise)
        if self.spectrum:
            return self._spectrum_on_rows(Xr, yr, np.unique(rows).size)
        if self.cv is None:
            if self.reuse:
                with pair_warnings_off():
                    return float(self.final.combine(self.final.prepare(Xr, "X"), self.final.prepare(yr, "Y")))
            return self._fit_score(Xr, yr, None)
        stimuli, where = np.unique(rows, return_inverse=True)
        splits = [
            (np.flatnonzero(np.isin(where, tr)), np.flatnonzero(np.isin(where, te)))
            for tr, te in self.cv.split(np.empty((stimuli.size, 1)))
        ]
        return self._fit_score(Xr, yr, splits)

    def _spectrum_on_rows(self, Xr, yr, m):
        """The spectrum of a resample of m distinct rows, each size at the same fraction of the rows.

        A full-sample size k is the fraction k / (n - 1) of the other rows; on m
        rows it is resolved as a fractional ``n_neighbors`` is on a
        cross-validation fold, :math:`\\operatorname{round}(k (m - 1) / (n - 1))`
        clipped to ``[1, m - 2]``, so every entry measures the same scale.
        """
        self._prepare()
        n = self.X.shape[0]
        ks = np.asarray(self.PX.ks, dtype=np.float64)
        scaled = np.clip(np.round(ks * (m - 1) / (n - 1)), 1, m - 2).astype(np.int64)
        with pair_warnings_off():
            return np.asarray(self.final.spectrum_at(Xr, yr, scaled), dtype=np.float64)



def _prepare_inputs(scorer, X, y, groups, names=("X", "Y")):
    final = _final_scorer(scorer)
    with pair_warnings_off():
        X, y = check_paired(X, y, min_samples=final._min_samples(), names=names)
    return X, y, _check_groups(groups, X.shape[0])


def _group_members(groups):
    if groups is None:
        return None
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    return np.split(order, bounds)


# ----------------------------------------------------------------------------- permutation test
@validate_params(
    _constraints("scorer", "X", "y", "n_permutations", "groups", "cv", "alternative", "random_state", "n_jobs", "verbose",
                 "statistic"),
    prefer_skip_nested_validation=True,
)
def permutation_test(
    scorer,
    X,
    y,
    *,
    n_permutations=999,
    groups=None,
    cv=None,
    alternative="greater",
    random_state=None,
    n_jobs=None,
    verbose=0,
    statistic="score",
):
    """Test whether the alignment of X and y exceeds chance, by permuting their pairing.

    The null distribution is the score with the rows of ``y`` permuted (within
    ``groups`` when given), which breaks the pairing and keeps each
    representation. The p-value is that of Phipson & Smyth [1]_ (see
    :mod:`skalign.inference`):

    .. math::

        p = \\frac{1 + \\#\\{b : s_b \\ge s\\}}{1 + B}.

    For a stateless scorer without ``cv`` each representation is prepared once
    and a permutation costs one ``combine`` (the scorer's ``permute_prepared``
    hook reorders the prepared y; where it cannot, the permuted y is prepared
    anew). Fitted scorers and pipelines, and every run with ``cv``, fit and score
    a clone per permutation.

    Parameters
    ----------
    scorer : paired scorer
        A :class:`~skalign.base.BasePairedScorer` or a Pipeline ending in one.
    X : array-like of shape (n_samples, n_features_x)
        The first representation; rows are stimuli.
    y : array-like of shape (n_samples, n_features_y)
        The second representation, rows paired with X's.
    n_permutations : int, default=999
        B, at least 1 (a warning says when B cannot reach p < 0.05).
    groups : array-like of shape (n_samples,), default=None
        Exchangeability blocks: rows are permuted only within their group (for
        example the images of one class, the tokens of one sentence). Every group
        needs at least two rows. Also passed to the splitter of ``cv``.
    cv : int, cross-validation generator or iterable, default=None
        When given, the statistic and every null value are the mean held-out
        score over the same splits, refitted on each permuted pairing.
    alternative : {'greater', 'less', 'two-sided'}, default='greater'
        'greater': alignment above chance.
    random_state : int, RandomState or None, default=None
        Seeds the permutations; the results are the same for any ``n_jobs``.
    n_jobs : int or None, default=None
        Workers (joblib) over chunks of permutations.
    verbose : int, default=0
        Report progress over the permutations when > 0 (a tqdm bar when tqdm is
        installed, printed lines otherwise).
    statistic : {'score', 'spectrum'}, default='score'
        ``'score'``: the scorer's score. ``'spectrum'``: the whole spectrum of a
        scorer that has one (:class:`~skalign.TopologicalAlignmentSpectrum`, its
        ``combine_spectrum``), tested at every neighbourhood size over the same
        permutations (the held ranks of y relabelled); no Pipeline, no ``cv``.

    Returns
    -------
    PermutationTestResult
        ``statistic``, ``pvalue``, ``pvalue_se``, ``null_distribution``; with
        ``statistic='spectrum'`` arrays with one entry per size (the null of
        shape (B, n_sizes)).

    Raises
    ------
    TypeError
        When ``scorer`` is not a paired scorer.
    ValueError
        When ``groups`` has the wrong length or a group with a single row.

    References
    ----------
    See the module docstring, [1]_ and [2]_.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import CKAScorer
    >>> from skalign.inference import permutation_test
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> res = permutation_test(CKAScorer(), X, X @ rng.normal(size=(5, 5)), n_permutations=99, random_state=0)
    >>> res.pvalue
    0.01
    """
    X, y, codes = _prepare_inputs(scorer, X, y, groups)
    _warn_floor(n_permutations, alternative, "n_permutations", codes)
    ev = _Evaluator(scorer, X, y, cv, groups, verbose, statistic)
    observed = ev.observed()
    rs = check_random_state(random_state)
    n = X.shape[0]
    null = _run(ev.permuted, _chunks(lambda: _permutation(rs, n, codes), n_permutations, n_jobs), n_jobs,
                verbose, "permutation_test", n_permutations)
    if ev.spectrum:
        p, se = _pvalues(observed, null, alternative)
    else:
        p, se = permutation_pvalue(observed, null, alternative)
    return PermutationTestResult(observed, p, se, null, alternative)


# ----------------------------------------------------------------------------- bootstrap
def _is_neighbourhood(scorer):
    """Whether resamples of ``scorer`` must hold each stimulus at most once."""
    return _final_scorer(scorer).metadata()["distinct_rows"]


def _interval(observed, dist, confidence_level, method, jackknife):
    alpha = (1.0 - confidence_level) / 2.0
    if method == "percentile":
        lo, hi = alpha, 1.0 - alpha
    else:
        below = (np.count_nonzero(dist < observed) + 0.5 * np.count_nonzero(dist == observed)) / dist.size
        if below in (0.0, 1.0):
            raise ValueError(
                "method='bca' needs bootstrap values on both sides of the statistic; all lie on one side. "
                "Use method='percentile' or more resamples."
            )
        z0 = ndtri(below)
        d = jackknife.mean() - jackknife
        den = 6.0 * np.sum(d**2) ** 1.5
        a = float(np.sum(d**3) / den) if den > 0 else 0.0
        z = ndtri(np.array([alpha, 1.0 - alpha]))
        lo, hi = ndtr(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
    low, high = np.quantile(dist, [lo, hi], axis=0)
    if dist.ndim == 1:
        return ConfidenceInterval(float(low), float(high))
    return ConfidenceInterval(low, high)


def _warn_tails(B, confidence_level):
    if (1.0 - confidence_level) / 2.0 * (B + 1) < 1.0:
        warnings.warn(
            f"n_resamples={B} is too few for a {confidence_level:g} interval: its tails hold less than one "
            "resample each; the interval is then the range of the resamples.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )


def _bootstrap_values(ev, rs, n, codes, B, n_jobs, neighbourhood, pair=None, verbose=0, desc="bootstrap"):
    members = _group_members(codes)
    draw = _half_sample if neighbourhood else _resample

    def fn(chunk):
        if pair is None:
            return [ev.on_rows(rows) for rows in chunk]
        return [ev.on_rows(rows) - ev.on_rows(rows, y=pair) for rows in chunk]

    return _run(fn, _chunks(lambda: draw(rs, n, codes, members), B, n_jobs), n_jobs, verbose, desc, B, "resample")


def _jackknife(ev, n, codes, pair=None):
    leave = (
        [np.delete(np.arange(n), i) for i in range(n)]
        if codes is None
        else [np.flatnonzero(codes != g) for g in range(codes.max() + 1)]
    )
    if pair is None:
        return np.array([ev.on_rows(rows) for rows in leave])
    return np.array([ev.on_rows(rows) - ev.on_rows(rows, y=pair) for rows in leave])


def _finish(observed, dist, neighbourhood):
    ok = np.isfinite(dist)
    if not ok.all():
        raise ValueError(
            f"{int(np.sum(~ok))} bootstrap resamples gave a non-finite score; the scorer is undefined on some "
            "resamples (too few distinct rows?): use more samples or groups."
        )
    if neighbourhood:
        # a half-sample's level differs from the full sample's (fewer stimuli, other k); its spread does not
        dist = dist - dist.mean(axis=0) + observed
    return dist


@validate_params(
    _constraints("scorer", "X", "y", "n_resamples", "confidence_level", "method", "groups", "cv", "random_state", "n_jobs",
                 "statistic", "verbose"),
    prefer_skip_nested_validation=True,
)
def bootstrap(
    scorer,
    X,
    y,
    *,
    n_resamples=999,
    confidence_level=0.95,
    method="percentile",
    groups=None,
    cv=None,
    random_state=None,
    n_jobs=None,
    statistic="score",
    verbose=0,
):
    """Confidence interval of an alignment score by resampling stimuli.

    Rows (stimuli) of X and y are resampled together, with replacement; with
    ``groups``, whole groups are. The interval is the percentile interval of the
    resampled scores, or BCa [3]_ (bias-corrected and accelerated; the
    acceleration from a jackknife of one evaluation per row or group, so n extra
    evaluations), clipped to the scorer's ``score_range``.

    Duplicates. A row drawn twice would be its own nearest neighbour, which
    inflates every neighbourhood measure, and biases RSA and the U-statistics
    (debiased CKA: duplicated rows inflated its intervals above the statistic).
    For scorers whose metadata declares ``distinct_rows=True`` (TAS, the k-NN
    measures, CKNNA, information imbalance, RSA, debiased CKA, bias-corrected
    distance correlation) each resample is therefore a half-sample without replacement
    [4]_ (no stimulus twice), whose values are recentred on the full-sample
    statistic. Other scorers see the duplicated rows as they are. With ``cv``,
    the copies of one stimulus always fall on the same side of a split.

    Parameters
    ----------
    scorer : paired scorer
        A :class:`~skalign.base.BasePairedScorer` or a Pipeline ending in one.
    X : array-like of shape (n_samples, n_features_x)
        The first representation; rows are stimuli.
    y : array-like of shape (n_samples, n_features_y)
        The second representation, rows paired with X's.
    n_resamples : int, default=999
        B, the number of resamples.
    confidence_level : float in (0, 1), default=0.95
        Coverage the interval aims at.
    method : {'percentile', 'bca'}, default='percentile'
        Percentile interval, or bias-corrected and accelerated.
    groups : array-like of shape (n_samples,), default=None
        Resample whole groups (every group needs at least two rows).
    cv : int, cross-validation generator or iterable, default=None
        When given, every value is the mean held-out score of a cross-validation
        on the resample (fitted scorers refitted on each).
    random_state : int, RandomState or None, default=None
        Seeds the resamples; the results are the same for any ``n_jobs``.
    n_jobs : int or None, default=None
        Workers (joblib) over chunks of resamples.
    statistic : {'score', 'spectrum'}, default='score'
        ``'spectrum'``: an interval at every neighbourhood size of a scorer with
        a spectrum (:class:`~skalign.TopologicalAlignmentSpectrum`), percentile
        method only. Each half-sample of m rows reads the full sample's size k
        at the same fraction of the rows, :math:`\\operatorname{round}(k (m - 1)
        / (n - 1))` clipped to ``[1, m - 2]``, as a fractional ``n_neighbors``
        is resolved on a cross-validation fold.
    verbose : int, default=0
        Report progress over the resamples when > 0 (a tqdm bar when tqdm is
        installed, printed lines otherwise).

    Returns
    -------
    BootstrapResult
        ``statistic``, ``confidence_interval`` (``low``, ``high``),
        ``standard_error``, ``bootstrap_distribution``; arrays over the sizes
        with ``statistic='spectrum'``.

    References
    ----------
    See the module docstring, [3]_ and [4]_.
    """
    if statistic == "spectrum" and method != "percentile":
        raise ValueError(f"statistic='spectrum' supports method='percentile' only; got method={method!r}.")
    X, y, codes = _prepare_inputs(scorer, X, y, groups)
    _warn_tails(n_resamples, confidence_level)
    ev = _Evaluator(scorer, X, y, cv, groups, statistic=statistic)
    observed = ev.observed()
    neighbourhood = _is_neighbourhood(scorer)
    rs = check_random_state(random_state)
    n = X.shape[0]
    dist = _finish(
        observed, _bootstrap_values(ev, rs, n, codes, n_resamples, n_jobs, neighbourhood, verbose=verbose), neighbourhood
    )
    jack = _jackknife(ev, n, codes) if method == "bca" else None
    # recentred half-sample values may leave the range a score can take; its interval may not
    ci = _clip(_interval(observed, dist, confidence_level, method, jack), ev.final.metadata()["score_range"])
    if ev.spectrum:
        se = np.std(dist, axis=0, ddof=1) if dist.shape[0] > 1 else np.full(observed.shape, np.nan)
    else:
        se = float(np.std(dist, ddof=1)) if dist.size > 1 else float("nan")
    return BootstrapResult(observed, ci, se, dist, float(confidence_level), method)


# ----------------------------------------------------------------------------- compare
def _swap(rs, n, codes):
    """Rows (or groups) whose y and z trade places."""
    if codes is None:
        return rs.random_sample(n) < 0.5
    return (rs.random_sample(codes.max() + 1) < 0.5)[codes]


@validate_params(
    {
        **_constraints("scorer", "X", "y", "z", "n_resamples", "confidence_level", "method", "groups", "cv"),
        "n_permutations": [Interval(Integral, 0, None, closed="left")],
        **_constraints("alternative", "random_state", "n_jobs"),
    },
    prefer_skip_nested_validation=True,
)
def compare(
    scorer,
    X,
    y,
    z,
    *,
    n_resamples=999,
    n_permutations=999,
    confidence_level=0.95,
    method="percentile",
    groups=None,
    cv=None,
    alternative="greater",
    random_state=None,
    n_jobs=None,
):
    """Compare the alignment of X with y and with z on the same stimuli.

    The difference :math:`d = s(X, y) - s(X, z)` gets a paired bootstrap interval
    (the same rows resampled for both scores) and a paired permutation p-value:
    under the null that y and z are exchangeable given X, each row's y and z
    trade places with probability 1/2 (per group with ``groups``), and

    .. math::

        p = \\frac{1 + \\#\\{b : d_b \\ge d\\}}{1 + B}

    (for ``alternative='greater'``). Swapping rows needs y and z of the same
    width; for representations of different widths pass ``n_permutations=0``:
    the p-value is then the bootstrap's, of the distribution shifted to the null
    :math:`(1 + \\#\\{b : d^*_b - d \\ge d\\}) / (1 + B)`.

    Parameters
    ----------
    scorer : paired scorer
        A :class:`~skalign.base.BasePairedScorer` or a Pipeline ending in one.
    X : array-like of shape (n_samples, n_features_x)
        The reference representation; rows are stimuli.
    y : array-like of shape (n_samples, n_features_y)
        The first partner, rows paired with X's.
    z : array-like of shape (n_samples, n_features_z)
        The rival of y, rows paired with X's.
    n_resamples : int, default=999
        Paired bootstrap resamples.
    n_permutations : int, default=999
        Paired swaps for the p-value; 0 for the bootstrap p-value.
    confidence_level : float in (0, 1), default=0.95
        Coverage the interval aims at.
    method : {'percentile', 'bca'}, default='percentile'
    groups : array-like of shape (n_samples,), default=None
        Resample and swap whole groups.
    cv : int, cross-validation generator or iterable, default=None
        Held-out scores, as in :func:`bootstrap`.
    alternative : {'greater', 'less', 'two-sided'}, default='greater'
        'greater': X is more aligned with y than with z.
    random_state : int, RandomState or None, default=None
        Seeds the resamples and swaps.
    n_jobs : int or None, default=None
        Workers (joblib).

    Returns
    -------
    ComparisonResult
        ``difference``, ``confidence_interval``, ``pvalue`` and the rest.

    References
    ----------
    See the module docstring, [1]_ and [3]_.
    """
    X, y, codes = _prepare_inputs(scorer, X, y, groups)
    with pair_warnings_off():
        _, z = check_paired(X, z, min_samples=_final_scorer(scorer)._min_samples(), names=("X", "z"))
    check_same_samples(y.shape[0], z.shape[0], names=("y", "z"))
    if n_permutations and y.shape[1:] != z.shape[1:]:
        raise ValueError(
            f"z has shape {z.shape} and y {y.shape}: the paired permutation test swaps their rows, so they need "
            "the same width; pass n_permutations=0 to take the p-value from the bootstrap."
        )
    _warn_tails(n_resamples, confidence_level)
    if n_permutations:
        _warn_floor(n_permutations, alternative, "n_permutations", codes)
    ev_y = _Evaluator(scorer, X, y, cv, groups)
    ev_z = _Evaluator(scorer, X, z, cv, groups)
    s_y, s_z = ev_y.observed(), ev_z.observed()
    d = s_y - s_z
    rs = check_random_state(random_state)
    n = X.shape[0]
    neighbourhood = _is_neighbourhood(scorer)
    dist = _finish(d, _bootstrap_values(ev_y, rs, n, codes, n_resamples, n_jobs, neighbourhood, pair=z), neighbourhood)
    jack = _jackknife(ev_y, n, codes, pair=z) if method == "bca" else None
    ci = _interval(d, dist, confidence_level, method, jack)
    se = float(np.std(dist, ddof=1)) if dist.size > 1 else float("nan")
    null = None
    if n_permutations:

        def fn(chunk):
            out = []
            for swap in chunk:
                out.append(ev_y.with_y(np.where(swap[:, None], z, y)) - ev_y.with_y(np.where(swap[:, None], y, z)))
            return out

        null = _run(fn, _chunks(lambda: _swap(rs, n, codes), n_permutations, n_jobs), n_jobs)
        p, p_se = permutation_pvalue(d, null, alternative)
    else:
        p, p_se = permutation_pvalue(d, dist - d, alternative)
    return ComparisonResult(d, s_y, s_z, ci, se, p, p_se, dist, null, alternative)


# ----------------------------------------------------------------------------- calibrated score
def _score_top(scorer):
    """Top of the scorer's ``score_range``, None when it has none."""
    top = float(_final_scorer(scorer).metadata()["score_range"][1])
    return top if math.isfinite(top) else None


def _critical_rank(K, alpha):
    """The 1-based rank ``ceil((1 - alpha)(K + 1))`` of tau among the K + 1 values."""
    # the tolerance keeps (1 - alpha)(K + 1) that is an integer up to rounding from moving up one rank
    return min(K + 1, max(1, int(math.ceil((1.0 - alpha) * (K + 1) - 1e-9))))


def _warn_alpha(K, alpha):
    if _critical_rank(K, alpha) == K + 1:
        warnings.warn(
            f"n_permutations={K} is too few for alpha={alpha:g}: the critical value is the largest of the "
            f"{K + 1} scores, the observed one included, so the calibrated score is always 0; use at least "
            f"{int(math.ceil(1.0 / alpha)) - 1} permutations.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )


def _calibrate(observed, null, alpha, top):
    """tau, the calibrated value, the p-value and its error (Algorithm 1 of [5]_)."""
    values = np.sort(np.append(null, observed))
    tau = float(values[_critical_rank(null.size, alpha) - 1])
    if observed <= tau:
        value = 0.0
    elif top is None:
        value = observed - tau
    elif top <= tau:
        # the null reaches the top: any score above tau is as far above chance as a score can be
        value = 1.0
    else:
        value = min(1.0, (observed - tau) / (top - tau))
    p, se = permutation_pvalue(observed, null, "greater")
    return float(value), tau, p, se


@validate_params(
    _constraints("scorer", "X", "y", "n_permutations", "alpha", "groups", "cv", "random_state", "n_jobs", "verbose"),
    prefer_skip_nested_validation=True,
)
def calibrated_score(
    scorer, X, y, *, n_permutations=999, alpha=0.05, groups=None, cv=None, random_state=None, n_jobs=None,
    verbose=0,
):
    """Alignment net of its permutation null: 0 unless it beats chance at level alpha, 1 at the top.

    The null-calibrated score of Gröger, Wen & Brbić [5]_ (their Algorithm 1).
    With :math:`s` the observed score, :math:`s_1, \\dots, s_K` the scores with
    y's rows permuted (as in :func:`permutation_test`, whose p-value comes with
    it), and :math:`\\tau` the :math:`\\lceil (1 - \\alpha)(K + 1) \\rceil`-th
    smallest of the K + 1 values :math:`\\{s, s_1, \\dots, s_K\\}` (this order
    statistic, the observed score included, as in the authors' released code,
    package ``calibrated_similarity``; their experiment scripts interpolate
    between the two neighbouring order statistics instead),

    .. math::

        s_{\\mathrm{cal}} = \\operatorname{clip}\\Big(\\frac{s - \\tau}{s_{\\max} - \\tau}, 0, 1\\Big),

    where :math:`s_{\\max}` is the top of the scorer's ``score_range``. For a
    scorer whose range has no finite top the value is the unnormalised effect
    size :math:`\\max(s - \\tau, 0)` and ``max_score`` is None. When the null
    itself reaches :math:`s_{\\max}` a score above :math:`\\tau` calibrates to 1.

    The value is positive only when the permutation test rejects at level
    ``alpha`` (so under the null with probability at most ``alpha``), and it is
    measured from the critical value of the null rather than from the raw
    scale: raw scores of unrelated representations grow with width and depth,
    calibrated ones do not, so these can be compared across models.

    Parameters
    ----------
    scorer : paired scorer
        A :class:`~skalign.base.BasePairedScorer` or a Pipeline ending in one.
    X : array-like of shape (n_samples, n_features_x)
        The first representation; rows are stimuli.
    y : array-like of shape (n_samples, n_features_y)
        The second representation, rows paired with X's.
    n_permutations : int, default=999
        K, the permutations of the null; at least ``1 / alpha - 1`` for the
        value to be able to leave 0 (a warning says so).
    alpha : float in (0, 1), default=0.05
        Level of the critical value.
    groups : array-like of shape (n_samples,), default=None
        Exchangeability blocks, as in :func:`permutation_test`.
    cv : int, cross-validation generator or iterable, default=None
        Held-out scores, as in :func:`permutation_test`.
    random_state : int, RandomState or None, default=None
        Seeds the permutations (the same ones as :func:`permutation_test` draws).
    n_jobs : int or None, default=None
        Workers (joblib).
    verbose : int, default=0
        Report progress over the permutations when > 0 (a tqdm bar when tqdm is
        installed, printed lines otherwise).

    Returns
    -------
    CalibratedScoreResult
        ``calibrated_score``, ``statistic``, ``threshold``, ``pvalue`` and the rest.

    References
    ----------
    See the module docstring, [5]_ and [1]_.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import CKAScorer
    >>> from skalign.inference import calibrated_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> calibrated_score(CKAScorer(), X, 3 * X, n_permutations=99, random_state=0).calibrated_score
    1.0
    """
    _warn_alpha(n_permutations, alpha)
    res = permutation_test(
        scorer, X, y, n_permutations=n_permutations, groups=groups, cv=cv, random_state=random_state,
        n_jobs=n_jobs, verbose=verbose,
    )
    top = _score_top(scorer)
    value, tau, p, se = _calibrate(res.statistic, res.null_distribution, alpha, top)
    return CalibratedScoreResult(
        value, res.statistic, tau, p, se, res.null_distribution, float(np.mean(res.null_distribution)), top,
        float(alpha),
    )


def _as_layers(reps, arg):
    """Names and arrays of a mapping name -> array, or of a list (named 0, 1, ...)."""
    if isinstance(reps, Mapping):
        items = list(reps.items())
    elif isinstance(reps, (list, tuple)):
        items = list(enumerate(reps))
    else:
        raise TypeError(
            f"{arg} must be a mapping of name -> (n_samples, n_features) array, or a list of such arrays; "
            f"got {type(reps).__name__}."
        )
    if not items:
        raise ValueError(f"{arg} is empty; pass at least one layer.")
    return [name for name, _ in items], [X for _, X in items]


class _LayerScores:
    """The score matrix of every layer pair, for the true pairing or with y's rows permuted.

    Stateless scorers prepare every layer once, and a permutation relabels each
    prepared layer of the second set once for all its pairs; fitted scorers and
    pipelines fit and score a clone per pair.
    """

    def __init__(self, scorer, A, B, pairs):
        self.scorer, self.final = scorer, _final_scorer(scorer)
        self.pairwise = _is_pairwise(self.final)
        self.reuse = scorer is self.final and self.final.metadata()["stateless"]
        self.pairs = pairs
        self.A, self.B = A, B
        if self.reuse:
            with pair_warnings_off():
                self.PA = [self.final.prepare(X, f"reps_a[{i}]") for i, X in enumerate(A)]
                self.PB = self.PA if B is A else [self.final.prepare(Y, f"reps_b[{j}]") for j, Y in enumerate(B)]

    def matrix(self, perm=None):
        S = np.full((len(self.A), len(self.B)), np.nan)
        with pair_warnings_off():
            for j in sorted({j for _, j in self.pairs}):
                rows = [i for i, jj in self.pairs if jj == j]
                if self.reuse:
                    PB = self.PB[j] if perm is None else self.final.permute_prepared(self.PB[j], perm)
                    if PB is None:
                        PB = self.final.prepare(_take(self.B[j], perm, self.pairwise), "Y")
                    for i in rows:
                        S[i, j] = self.final.combine(self.PA[i], PB)
                else:
                    Y = self.B[j] if perm is None else _take(self.B[j], perm, self.pairwise)
                    for i in rows:
                        S[i, j] = clone(self.scorer).fit(self.A[i], Y).score(self.A[i], Y)
        return S


@validate_params(
    _constraints("scorer", "reps_a", "reps_b", "aggregate", "n_permutations", "alpha", "groups", "random_state",
                 "n_jobs", "verbose"),
    prefer_skip_nested_validation=True,
)
def calibrated_layers(
    scorer, reps_a, reps_b=None, *, aggregate="max", n_permutations=999, alpha=0.05, groups=None,
    random_state=None, n_jobs=None, verbose=0,
):
    """Calibrated best (or mean) alignment over every layer pair of two networks.

    The aggregation-aware calibration of Gröger, Wen & Brbić [5]_ (their
    Algorithm 2). The score matrix :math:`S_{ij} = s(A_i, B_j)` over the layers
    of both networks is reduced to :math:`T = \\max_{ij} S_{ij}` (``'max'``) or
    its mean (``'mean'``). The null draws K permutations π of the stimuli and
    applies the *same* π to every layer of B, :math:`T_b = \\max_{ij} s(A_i,
    B_j[\\pi_b])`, and T is calibrated against :math:`T_1, \\dots, T_K` exactly
    as in :func:`calibrated_score`:

    .. math::

        T_{\\mathrm{cal}} = \\operatorname{clip}\\Big(\\frac{T - \\tau}{s_{\\max} - \\tau}, 0, 1\\Big)

    with :math:`\\tau` the :math:`\\lceil (1 - \\alpha)(K + 1) \\rceil`-th smallest
    of :math:`\\{T, T_1, \\dots, T_K\\}` (:math:`\\max(T - \\tau, 0)` without a
    finite top). Picking the best of many pairs inflates the raw maximum even
    between unrelated networks, and more so the more layers there are; the
    null of the maximum undergoes the same search, so the calibrated value
    does not.

    Stateless scorers prepare every layer once and a permutation relabels each
    prepared layer of B once (``permute_prepared``; where it returns None the
    permuted layer is prepared anew). Fitted scorers and pipelines fit and
    score a clone per pair and permutation: correct, and as slow as that.

    Parameters
    ----------
    scorer : paired scorer
        A :class:`~skalign.base.BasePairedScorer` or a Pipeline ending in one.
    reps_a : mapping of name -> array-like of shape (n_samples, n_features), or list
        The layers of the first network (a list names them 0, 1, ...). Every
        layer of both networks holds the same stimuli in the same row order.
    reps_b : mapping or list, default=None
        The layers of the second network, whose rows are permuted. None compares
        ``reps_a`` with itself over the pairs of distinct layers (a layer's score
        with itself is the top and says nothing); it then needs two layers.
    aggregate : {'max', 'mean'}, default='max'
        The best pair, or the mean over pairs.
    n_permutations : int, default=999
        K, the permutations of the null.
    alpha : float in (0, 1), default=0.05
        Level of the critical value.
    groups : array-like of shape (n_samples,), default=None
        Exchangeability blocks, as in :func:`permutation_test`.
    random_state : int, RandomState or None, default=None
        Seeds the permutations (the ones :func:`draw_permutations` draws).
    n_jobs : int or None, default=None
        Workers (joblib) over chunks of permutations.
    verbose : int, default=0
        Report progress over the permutations when > 0 (a tqdm bar when tqdm is
        installed, printed lines otherwise).

    Returns
    -------
    CalibratedLayersResult
        ``calibrated_score``, ``statistic``, ``threshold``, ``pvalue``,
        ``null_distribution``, ``scores`` (the observed matrix) and ``best_pair``.

    References
    ----------
    See the module docstring, [5]_.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import CKAScorer
    >>> from skalign.inference import calibrated_layers
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> A = {"a1": X, "a2": rng.normal(size=(100, 5))}
    >>> B = {"b1": rng.normal(size=(100, 4)), "b2": 2 * X}
    >>> res = calibrated_layers(CKAScorer(), A, B, n_permutations=99, random_state=0)
    >>> res.best_pair, res.calibrated_score
    (('a1', 'b2'), 1.0)
    """
    import pandas as pd

    final = _final_scorer(scorer)
    self_compare = reps_b is None
    names_a, raw_a = _as_layers(reps_a, "reps_a")
    names_b, raw_b = (names_a, raw_a) if self_compare else _as_layers(reps_b, "reps_b")
    if self_compare and len(names_a) < 2:
        raise ValueError(
            "reps_b=None compares the layers of reps_a with each other and needs at least two; "
            f"reps_a has {len(names_a)}. Pass reps_b for one network against another."
        )
    with pair_warnings_off():
        A = [check_representation(X, name=f"reps_a[{name!r}]", min_samples=final._min_samples())
             for name, X in zip(names_a, raw_a)]
        B = A if self_compare else [
            check_representation(Y, name=f"reps_b[{name!r}]", min_samples=final._min_samples())
            for name, Y in zip(names_b, raw_b)
        ]
    n = A[0].shape[0]
    for arg, names, arrays in (("reps_a", names_a, A), ("reps_b", names_b, B)):
        for name, Z in zip(names, arrays):
            check_same_samples(Z.shape[0], n, names=(f"{arg}[{name!r}]", f"reps_a[{names_a[0]!r}]"))
    codes = _check_groups(groups, n)
    _warn_alpha(n_permutations, alpha)
    pairs = [(i, j) for i in range(len(A)) for j in range(len(B)) if not (self_compare and i == j)]
    mask = np.zeros((len(A), len(B)), dtype=bool)
    mask[tuple(np.array(pairs).T)] = True
    reduce = np.max if aggregate == "max" else np.mean
    layers = _LayerScores(scorer, A, B if not self_compare else A, pairs)
    S = layers.matrix()
    observed = float(reduce(S[mask]))
    rs = check_random_state(random_state)

    def fn(chunk):
        return [float(reduce(layers.matrix(perm)[mask])) for perm in chunk]

    null = _run(fn, _chunks(lambda: _permutation(rs, n, codes), n_permutations, n_jobs), n_jobs,
                verbose, "calibrated_layers", n_permutations)
    top = _score_top(scorer)
    value, tau, p, se = _calibrate(observed, null, alpha, top)
    best = None
    if aggregate == "max":
        i, j = np.unravel_index(np.argmax(np.where(mask, S, -np.inf)), S.shape)
        best = (names_a[i], names_b[j])
    table = pd.DataFrame(S, index=pd.Index(names_a, name="layer_a"), columns=pd.Index(names_b, name="layer_b"))
    return CalibratedLayersResult(
        value, observed, tau, p, se, null, float(np.mean(null)), top, table, best, aggregate, float(alpha)
    )
