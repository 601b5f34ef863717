"""Layer x layer alignment matrices: every pairwise score of many representations.

:func:`alignment_matrix` scores every layer of one model against every layer of
another (or of itself) with one or several paired scorers and returns a tidy
table; :func:`pivot_alignment` turns it into the square matrix and
:func:`plot_alignment_matrix` draws it.

How the work is organised
-------------------------
Every skalign paired scorer splits its work into ``prepare(X)``, everything that
depends on one representation (validation, centring, Gram matrices, neighbour
ranks, whitening), and ``combine(PX, PY)``, the cheap per-pair score (see
:mod:`skalign.base`). A matrix of L x M layers therefore costs L + M
preparations and L * M combinations instead of 2 * L * M preparations; comparing
a model with itself costs L preparations and L (L + 1) / 2 combinations when the
scorer is symmetric.

The run has two parallel passes, both through :class:`joblib.Parallel`:

1. *prepare*: one task per (scorer, layer, fold); the caller collects the
   prepared representations;
2. *combine*: one task per (scorer, pair, fold), which receives exactly two
   prepared representations and returns one float.

Memory trade-off. Preparing every layer first is what makes each preparation
happen once; the price is that the calling process holds all prepared
representations of the run (for linear CKA a centred copy of each layer, i.e.
about the size of the input). A worker, in turn, never holds more than the two
prepared representations of the pair it scores: combine tasks carry one pair
each whenever the prepared objects are large (over 1 MiB), and joblib batches
them only when they are small, where batching saves dispatch overhead and costs
no memory. The alternative, tasks that prepare their row layer and every column
layer themselves, bounds the caller's memory too but prepares each layer L times,
which for neighbour ranks (O(n^2 d) each) costs far more than it saves. With the
default loky backend large arrays reach the workers as memory maps, so the
prepared layers are written once, not once per pair; on a Dask cluster the joblib
backend scatters them to the workers.

Fitted scorers (``stateless = False``) with ``cv`` learn on training rows, so
nothing can be prepared once for a layer: each (pair, fold) task clones the
scorer, fits it on the training rows and scores the test rows.

With ``n_permutations`` or ``n_resamples``, a third pass tests every cell: the
permutations and resamples are drawn once for the run and every pair sees the
same ones; one task per (scorer, chunk of draws) scores every cell of its scorer
on each draw of its chunk, permuting (or re-preparing) each column layer once
per permutation and preparing each layer once per resample, and the caller turns
the values into p-values (:func:`skalign.inference.permutation_pvalue`) and
intervals (:func:`skalign.inference.resampled_interval`). The values of a draw
do not depend on how the draws are chunked, so ``n_jobs`` changes no number.

Every task returns its exception instead of raising it, so that the caller can
name the failed pair, scorer and fold, and with ``on_error='skip'`` go on with
the others. Finished scores go to the checkpoint file (:mod:`skalign._checkpoint`)
as they arrive; the progress report is :func:`skalign._progress.progress`.

References
----------
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.
Williams, Kunz, Kornblith & Linderman (2021). Generalized shape metrics on
neural representations. NeurIPS.
Phipson & Smyth (2010). Permutation p-values should never be zero: calculating
exact p-values when permutations are randomly drawn. Statistical Applications
in Genetics and Molecular Biology 9(1).
McCarthy (1969). Pseudo-replication: half samples. Review of the International
Statistical Institute 37(3), 239-264.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import traceback
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._checkpoint import VALUE_COLUMNS, Checkpoint, scorer_params_key
from ._progress import progress
from ._validation import (
    check_random_state,
    check_representation,
    check_same_samples,
    pair_warnings_off,
)
from .base import BasePairedScorer
from .inference import draw_permutations, permutation_pvalue, resampled_interval

__all__ = [
    "INFERENCE_COLUMNS",
    "MATRIX_PARAMETER_CONSTRAINTS",
    "MEAN_FOLD",
    "ON_ERROR_OPTIONS",
    "alignment_matrix",
    "pivot_alignment",
    "plot_alignment_matrix",
]

#: What to do when one pair cannot be scored.
ON_ERROR_OPTIONS = ("raise", "skip")

#: The columns the inference adds, in output order (as a checkpoint stores them after the score).
INFERENCE_COLUMNS = tuple(VALUE_COLUMNS[1:])

#: Label of the row that holds a cross-validated pair's mean score and its inference.
MEAN_FOLD = "mean"

#: Parameters of :func:`alignment_matrix`, :func:`pivot_alignment` and
#: :func:`plot_alignment_matrix`. The containers and scorers are checked by hand
#: instead, because their errors say how to call the function right (one pair:
#: ``scorer.fit(X, Y)``; a class: ``pass CKAScorer()``; the scorer interface).
MATRIX_PARAMETER_CONSTRAINTS = {
    "reps_a": "no_validation",
    "reps_b": "no_validation",
    "scorer": "no_validation",
    "cv": ["cv_object"],
    "n_jobs": [Integral, None],
    "verbose": ["verbose"],
    "checkpoint": [str, os.PathLike, None],
    "on_error": [StrOptions(set(ON_ERROR_OPTIONS))],
    "n_permutations": [Interval(Integral, 0, None, closed="left")],
    "n_resamples": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [Interval(Real, 0, 1, closed="neither")],
    "random_state": ["random_state"],
    "df": [pd.DataFrame],
    "values": [StrOptions({"score", *INFERENCE_COLUMNS})],
    "alpha": [Interval(Real, 0, 1, closed="neither"), None],
}


#: Conventional level a permutation p-value should be able to reach.
_LEVEL = 0.05

#: Prepared representations larger than this are sent to workers one pair per
#: task, so that a worker holds at most two of them (see the module docstring).
_BATCH_MAX_BYTES = 2**20

_INTERFACE = (
    "a skalign paired scorer instance, i.e. a subclass of skalign.base.BasePairedScorer "
    "implementing prepare(X, name) -> prepared and combine(PX, PY) -> float, together "
    "with fit(X, Y) / score(X, Y) (e.g. skalign.CKAScorer())"
)


# -- public API ----------------------------------------------------------------
@validate_params(MATRIX_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def alignment_matrix(
    reps_a,
    reps_b=None,
    scorer=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    checkpoint=None,
    on_error="raise",
    n_permutations=0,
    n_resamples=0,
    confidence_level=0.95,
    random_state=None,
):
    """Score every layer of ``reps_a`` against every layer of ``reps_b``.

    Each representation is prepared once per scorer (and fold) with
    ``scorer.prepare(X)``; each pair is then scored with
    ``scorer.combine(PA, PB)``, which equals ``scorer.fit(A, B).score(A, B)``.

    Parameters
    ----------
    reps_a : mapping of name -> array-like of shape (n_samples, n_features), or list
        The layers (models, checkpoints, seeds...) to compare. A list is named by
        position (0, 1, ...). All layers of ``reps_a`` and ``reps_b`` must hold the
        same ``n_samples`` stimuli in the same row order; widths may differ.
    reps_b : mapping or list, default=None
        The second set of layers. ``None`` compares ``reps_a`` with itself and, for
        a symmetric scorer, computes only the upper triangle, diagonal included
        (:func:`pivot_alignment` mirrors it); an asymmetric scorer (``symmetric =
        False``) gets every ordered pair.
    scorer : BasePairedScorer, list or mapping of name -> BasePairedScorer, default=None
        The measure(s). ``None`` means linear CKA, ``skalign.CKAScorer()``. A
        mapping names the scorers in the output; otherwise they are named by class
        (by their parameters when two share a class).
    cv : int, cross-validation splitter or iterable of (train, test), default=None
        ``None`` scores all rows in-sample. Otherwise, for each fold, a stateless
        scorer scores the test rows, and a fitted scorer (``stateless = False``) is
        cloned, fitted on the training rows and scored on the test rows; an int k
        means ``KFold(k)``. Splits are drawn once and shared by every pair.
    n_jobs : int, default=None
        Number of parallel jobs (joblib). ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context; -1 means all processors. Under
        ``joblib.parallel_backend('dask')`` with a ``dask.distributed.Client`` the
        run goes to the cluster unchanged.
    verbose : int, default=0
        If positive, show a progress bar over pairs (tqdm when installed, printed
        lines otherwise).
    checkpoint : str or path-like, default=None
        File (``.parquet`` or ``.csv``) that collects finished pairs while the run
        goes on. If it exists, the pairs it holds are not recomputed, so a run that
        was interrupted, even killed, resumes where it stopped. Rows are keyed by
        (a, b, scorer name, scorer parameters, fold), so a scorer with other
        parameters computes its own rows; delete the file after changing the data.
        Several runs may share one file: writes are serialised by a lock on the
        sidecar file ``<checkpoint>.lock``. A CSV row cut off by a killed run is
        dropped with a warning and recomputed. Failed pairs are not stored and are
        tried again on resume.
    on_error : {'raise', 'skip'}, default='raise'
        What to do when a layer cannot be prepared or a pair cannot be scored.
        ``'raise'`` stops the run (pairs already finished stay in the checkpoint)
        with the scorer's exception, its message prefixed by the pair, scorer and
        fold. ``'skip'`` scores every other pair: failed rows get a NaN ``score``
        and the reason in an ``error`` column (``None`` for the others). A pair
        whose score was computed but whose inference failed keeps its score, with
        NaN inference columns and the reason in ``error``.
    n_permutations : int, default=0
        B > 0 adds the columns ``pvalue`` and ``pvalue_se``: the permutation
        p-value of each pair's score, alternative 'greater' (see Notes). 0: none.
    n_resamples : int, default=0
        R > 0 adds the columns ``ci_low`` and ``ci_high``: a percentile bootstrap
        interval of each pair's score from R resamples of the stimuli (see Notes).
        0: none.
    confidence_level : float in (0, 1), default=0.95
        Coverage of the bootstrap interval.
    random_state : int, RandomState or None, default=None
        Seeds the permutations and resamples. With an int the results are
        reproducible, equal for any ``n_jobs`` and pair order, and a resumed
        checkpoint run equals an uninterrupted one.

    Returns
    -------
    scores : pandas.DataFrame
        One row per (pair, scorer[, fold]) with columns ``a``, ``b``, ``scorer``,
        ``score``, then ``fold`` when ``cv`` is given, ``pvalue`` and
        ``pvalue_se`` when ``n_permutations > 0``, ``ci_low`` and ``ci_high`` when
        ``n_resamples > 0``, and ``error`` when ``on_error='skip'``. Higher = more
        aligned, in each scorer's ``score_range``. With ``cv`` and inference, each
        (pair, scorer) has its fold rows (``fold`` 0, 1, ..., inference columns
        NaN) followed, after all fold rows of that scorer, by one row with
        ``fold='mean'`` whose ``score`` is the cross-validated score (the mean over
        the folds) and which carries the p-value and the interval of that score;
        the ``fold`` column then holds objects (ints and ``'mean'``).

    Raises
    ------
    TypeError
        A scorer that is not a skalign paired scorer, or ``reps_a`` / ``reps_b``
        that is not a mapping or list.
    ValueError
        An empty mapping, a layer that is not a valid representation, layers with
        different numbers of samples (the error names the layer), or a
        ``checkpoint`` file that is not a checkpoint of this version.

    See Also
    --------
    pivot_alignment : the square matrix of one scorer.
    plot_alignment_matrix : its heatmap.

    Notes
    -----
    See the module docstring for how the work is split between the caller and the
    workers and what each holds in memory, and :mod:`skalign._checkpoint` for how
    a checkpoint survives kills and concurrent runs.

    Inference. The B permutations are drawn once
    (:func:`skalign.inference.draw_permutations`) and applied to every pair: the
    null value of pair (a, b) under permutation :math:`\\pi_b` is its score with
    the rows of b reordered, ``b[perm]``, and

    .. math::

        p = \\frac{1 + \\#\\{b : s_b \\ge s\\}}{1 + B},
        \\qquad \\operatorname{se}(p) = \\sqrt{p (1 - p) / B},

    which is what :func:`skalign.inference.permutation_test` gives for that pair
    with the same int ``random_state`` (and with the same ``cv``). The R
    resamples are drawn once too: rows drawn with replacement, except for
    scorers whose metadata declares
    ``distinct_rows=True``: neighbourhood measures, RSA, the U-statistics), where a
    duplicated row would bias the score: those get half-samples without
    replacement whose values are recentred on the full-sample score. The
    interval is clipped to the scorer's ``score_range``. All of this is as in
    :func:`skalign.inference.bootstrap`, whose interval a cell's equals for the
    same int ``random_state``.

    Reuse. Without ``cv``, the layers prepared for the scores are reused: per
    permutation, each column layer b is reordered once with
    ``scorer.permute_prepared`` (or prepared anew on its permuted rows when that
    returns None) and combined with every row layer it is paired with; per
    resample, each layer is prepared once on the resampled rows. With ``cv`` every
    null value is the mean held-out score over the same folds: a stateless scorer
    prepares the permuted test rows of each column layer once per fold and reuses
    the prepared test rows of the row layers, and a fitted scorer is refitted per
    permutation, fold and pair, which is slow (B x folds x pairs fits) but is what
    a cross-validated null needs. Resamples with ``cv`` split the distinct stimuli
    of the resample, so copies of one stimulus stay on one side of a split.

    Memory and work of the inference: per scorer, the draws are split in chunks
    (one without ``n_jobs``, 4 per worker otherwise); a chunk task holds every
    layer of the run and every prepared layer of its scorer (memory-mapped by
    joblib's default backend), plus, at any moment, one draw's prepared layers.
    A pair's row goes to the checkpoint when its inference is done, i.e. when all
    chunks of its scorer have finished; the row key then holds the inference
    settings, so a run with other settings recomputes it.

    References
    ----------
    Kornblith et al. (2019), ICML (layer x layer CKA matrices); Williams et al.
    (2021), NeurIPS (per-representation preprocessing reused across pairs);
    Phipson & Smyth (2010) (permutation p-values); McCarthy (1969) (half-samples).
    """
    scorer_names, scorers = _as_scorers(scorer)
    # token or feature-map tensors are left to scorers that reduce them (Paired with a
    # skalign.preprocessing reducer), which validate them; every other scorer gets 2-D layers
    tensors = all(getattr(s, "_accepts_tensors", False) for s in scorers)
    names_a, arrays_a = _as_layers(reps_a, "reps_a", tensors)
    self_compare = reps_b is None
    if self_compare:
        names_b, arrays_b = names_a, arrays_a
    else:
        names_b, arrays_b = _as_layers(reps_b, "reps_b", tensors)
    n_samples = _check_same_samples(names_a, arrays_a, names_b, arrays_b, self_compare)

    folds = splitter = None
    if cv is not None:
        splitter = check_cv(cv)
        folds = [
            (np.asarray(train), np.asarray(test))
            for train, test in splitter.split(np.zeros((n_samples, 1)))
        ]
        if not folds:
            raise ValueError(f"cv={cv!r} produced no train/test split.")

    plan = _Plan(
        scorers=scorers,
        scorer_names=scorer_names,
        scorer_keys=[scorer_params_key(est) for est in scorers],
        names_a=names_a,
        arrays_a=arrays_a,
        names_b=names_b,
        arrays_b=arrays_b,
        self_compare=self_compare,
        folds=folds,
        n_jobs=n_jobs,
        splitter=splitter,
        n_permutations=n_permutations,
        n_resamples=n_resamples,
        confidence_level=float(confidence_level),
        random_state=random_state,
    )
    _warn_few_draws(n_permutations, n_resamples, confidence_level)

    store, done = None, {}
    if checkpoint is not None:
        store = Checkpoint(checkpoint, names_a, names_b, scorer_names)
        done = store.load()
    # (score, pvalue, pvalue_se, ci_low, ci_high), and the reason something is
    # missing (None when nothing is), per cell
    results = {}
    for k in range(len(plan.cells)):
        key = plan.key(k)
        if key in done:
            results[k] = (done[key], None)
    todo = [k for k in range(len(plan.cells)) if k not in results]

    if todo:
        try:
            prepared, failed = _run(plan, todo, results, store, on_error, verbose)
            if plan.inference:
                _run_inference(plan, todo, results, store, on_error, verbose, prepared, failed)
            del prepared
        finally:
            if store is not None:
                store.flush()

    cells = plan.cells
    values = np.array([results[k][0] for k in range(len(cells))], dtype=np.float64)
    rows = {
        "a": [names_a[i] for _, i, _, _ in cells],
        "b": [names_b[j] for _, _, j, _ in cells],
        "scorer": [scorer_names[s] for s, _, _, _ in cells],
        "score": values[:, 0],
    }
    if folds is not None:
        if plan.inference:
            rows["fold"] = pd.Series(
                [MEAN_FOLD if f == _MEAN else int(f) for _, _, _, f in cells], dtype=object
            )
        else:
            rows["fold"] = np.array([f for _, _, _, f in cells], dtype=np.int64)
    if n_permutations:
        rows["pvalue"], rows["pvalue_se"] = values[:, 1], values[:, 2]
    if n_resamples:
        rows["ci_low"], rows["ci_high"] = values[:, 3], values[:, 4]
    if on_error == "skip":
        rows["error"] = pd.Series([results[k][1] for k in range(len(cells))], dtype=object)
    return pd.DataFrame(rows)


@validate_params(MATRIX_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def pivot_alignment(df, scorer=None, values="score"):
    """The square (layers x layers) matrix of one scorer from :func:`alignment_matrix`.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`alignment_matrix` (columns ``a``, ``b``, ``score`` and
        optionally ``scorer`` and ``fold``).
    scorer : str or BasePairedScorer, default=None
        Which scorer's scores to pivot (its name in the ``scorer`` column, or an
        instance, matched by class name). May be omitted when ``df`` holds one.
    values : {'score', 'pvalue', 'pvalue_se', 'ci_low', 'ci_high'}, default='score'
        The column to pivot. The inference columns of a cross-validated table are
        read from its ``fold='mean'`` rows; its scores from the fold rows.

    Returns
    -------
    matrix : pandas.DataFrame
        Rows are the ``a`` layers and columns the ``b`` layers, in the order they
        first appear in ``df``. Scores of several folds are averaged; a cell with a
        failed fold (NaN score, ``on_error='skip'``) is NaN. When the rows and
        columns are the same layers (``reps_b=None``), a cell that has no row in
        ``df`` is filled from its transpose, so the upper triangle of a symmetric
        scorer becomes the full symmetric matrix.
    """
    missing = [c for c in ("a", "b", "score") if c not in df.columns]
    if missing:
        raise ValueError(
            f"df lacks the column(s) {missing}; pass the DataFrame returned by alignment_matrix "
            f"(columns a, b, scorer, score[, fold]). Got columns {list(df.columns)}."
        )
    if values not in df.columns:
        hint = "n_permutations" if values.startswith("pvalue") else "n_resamples"
        raise ValueError(
            f"values={values!r}: df has no {values!r} column; alignment_matrix adds it when "
            f"{hint} > 0. Got columns {list(df.columns)}."
        )
    if "fold" in df.columns:
        means = (df["fold"] == MEAN_FOLD).to_numpy()
        if means.any():
            # the mean rows repeat the fold rows' information as one cross-validated
            # score; averaging them in with the folds would count it twice
            df = df[~means] if values == "score" else df[means]
    if "scorer" in df.columns:
        present = list(pd.unique(df["scorer"]))
        if scorer is None:
            if len(present) > 1:
                raise ValueError(
                    f"df holds the scores of {len(present)} scorers {present}; "
                    "choose one with scorer=."
                )
        else:
            label = type(scorer).__name__ if isinstance(scorer, BasePairedScorer) else scorer
            if not isinstance(label, str) or label not in present:
                raise ValueError(f"scorer={label!r} is not in df; it holds {present}.")
            df = df[df["scorer"] == label]
    if df.empty:
        raise ValueError("df has no rows to pivot.")

    groups = df.groupby(["a", "b"], sort=False)[values]
    means = groups.mean()
    # a failed fold must not be averaged away into a number over the other folds
    means[df[values].isna().groupby([df["a"], df["b"]], sort=False).any()] = np.nan
    rows = list(pd.unique(df["a"]))
    cols = list(pd.unique(df["b"]))
    square = set(rows) == set(cols)
    if square:
        cols = rows
    values = np.full((len(rows), len(cols)), np.nan)
    computed = np.zeros(values.shape, dtype=bool)
    pos_r = {name: r for r, name in enumerate(rows)}
    pos_c = {name: c for c, name in enumerate(cols)}
    for (a, b), v in means.items():
        values[pos_r[a], pos_c[b]] = v
        computed[pos_r[a], pos_c[b]] = True
    if square:
        # only cells never computed (the lower triangle of a symmetric run) take
        # the mirror value; computed cells, e.g. of an asymmetric scorer, stay
        gaps = ~computed
        values[gaps] = values.T[gaps]
    matrix = pd.DataFrame(values, index=pd.Index(rows, name="a"), columns=pd.Index(cols, name="b"))
    return matrix


@validate_params(MATRIX_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def plot_alignment_matrix(
    data,
    scorer=None,
    *,
    ax=None,
    cmap="viridis",
    vmin=None,
    vmax=None,
    annot=None,
    fmt=".2f",
    colorbar=True,
    alpha=None,
):
    """Heatmap of a layer x layer alignment matrix.

    Parameters
    ----------
    data : pandas.DataFrame
        The tidy output of :func:`alignment_matrix` (pivoted here with
        :func:`pivot_alignment`) or an already square matrix.
    scorer : str or BasePairedScorer, default=None
        Passed to :func:`pivot_alignment` for a tidy table with several scorers.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    cmap : str or Colormap, default="viridis"
    vmin, vmax : float, default=None
        Colour limits; the data's range when None.
    annot : bool, default=None
        Write each score in its cell; by default only when the matrix has at most
        15 x 15 cells.
    fmt : str, default=".2f"
        Format of the annotations.
    colorbar : bool, default=True
    alpha : float in (0, 1), default=None
        Significance level. When given, ``data`` must be a tidy table with a
        ``pvalue`` column (``alignment_matrix(..., n_permutations=B)``), and every
        cell with ``p >= alpha`` (not significant at that level) is hatched; the
        title says what the hatching means. Cells without a p-value are not
        hatched. The hatch patches carry the gid ``'not significant'``.

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install 'skalign[plot]'``).
    ValueError
        When ``alpha`` is not in (0, 1), or is given for data without p-values.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plot_alignment_matrix needs matplotlib, which is not installed. Install the "
            "plotting extra with `pip install 'skalign[plot]'` (or `pip install matplotlib`)."
        ) from exc

    if isinstance(data, pd.DataFrame) and "score" in data.columns and "a" in data.columns:
        label = (
            scorer
            if scorer is not None
            else (data["scorer"].iloc[0] if "scorer" in data.columns and len(data) else "score")
        )
        if isinstance(label, BasePairedScorer):
            label = type(label).__name__
        matrix = pivot_alignment(data, scorer=scorer)
    elif isinstance(data, pd.DataFrame):
        matrix, label = data, "score"
    else:
        raise TypeError(
            "data must be the DataFrame returned by alignment_matrix or by pivot_alignment; "
            f"got {type(data).__name__}."
        )
    not_significant = None
    if alpha is not None:
        if "a" not in data.columns or "pvalue" not in data.columns:
            raise ValueError(
                "alpha= marks cells by their p-value, so data must be the tidy table of "
                "alignment_matrix(..., n_permutations=B) with its 'pvalue' column; got columns "
                f"{list(data.columns)}."
            )
        pvalues = pivot_alignment(data, scorer=scorer, values="pvalue")
        pvalues = pvalues.reindex(index=matrix.index, columns=matrix.columns)
        with np.errstate(invalid="ignore"):
            not_significant = pvalues.to_numpy(dtype=np.float64) >= alpha

    values = matrix.to_numpy(dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.45 * values.shape[1], 0.8 + 0.45 * values.shape[0]))
    image = ax.imshow(
        values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest"
    )
    ax.set_xticks(range(values.shape[1]), [str(c) for c in matrix.columns], rotation=90)
    ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix.index])
    ax.set_xlabel(str(matrix.columns.name or "b"))
    ax.set_ylabel(str(matrix.index.name or "a"))
    if annot is None:
        annot = values.size <= 15 * 15
    if annot:
        lo, hi = image.get_clim()
        mid = (lo + hi) / 2
        for r in range(values.shape[0]):
            for c in range(values.shape[1]):
                v = values[r, c]
                if np.isfinite(v):
                    ax.text(
                        c,
                        r,
                        format(v, fmt),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="black" if v > mid else "white",
                    )
    if not_significant is not None:
        from matplotlib.patches import Rectangle

        for r, c in zip(*np.nonzero(not_significant)):
            ax.add_patch(
                Rectangle(
                    (c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.6",
                    linewidth=0, gid="not significant",
                )
            )
        note = f"hatched: p \u2265 {alpha:g} (not significant)"
        ax.set_title(f"{ax.get_title()}\n{note}" if ax.get_title() else note, fontsize=9)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=str(label))
    return ax


# -- input checks --------------------------------------------------------------
def _as_layers(reps, arg, tensors=False):
    if isinstance(reps, Mapping):
        items = list(reps.items())
    elif isinstance(reps, (list, tuple)):
        items = list(enumerate(reps))
    else:
        hint = ""
        if hasattr(reps, "shape"):
            hint = (
                f" For one pair of representations call scorer.fit(X, Y).score(X, Y); for "
                f"layers stacked in one array pass list({arg})."
            )
        raise TypeError(
            f"{arg} must be a mapping of name -> (n_samples, n_features) array, or a list of "
            f"such arrays; got {type(reps).__name__}.{hint}"
        )
    if not items:
        raise ValueError(
            f"{arg} is empty; pass at least one name -> (n_samples, n_features) representation."
        )
    names = [name for name, _ in items]
    if tensors:
        arrays = [check_representation(X, name=f"{arg}[{name!r}]", ndim=(2, 3, 4, 5), allow_nan=True)
                  for name, X in items]
    else:
        arrays = [check_representation(X, name=f"{arg}[{name!r}]") for name, X in items]
    return names, arrays


def _check_same_samples(names_a, arrays_a, names_b, arrays_b, self_compare):
    """The common number of samples, every layer checked against the first of ``reps_a``."""
    ref_name, n = f"reps_a[{names_a[0]!r}]", arrays_a[0].shape[0]
    groups = [("reps_a", names_a, arrays_a)]
    if not self_compare:
        groups.append(("reps_b", names_b, arrays_b))
    for arg, names, arrays in groups:
        for name, X in zip(names, arrays):
            check_same_samples(X.shape[0], n, names=(f"{arg}[{name!r}]", ref_name))
    return n


def _as_scorers(scorer):
    if scorer is None:
        from .estimators import CKAScorer

        scorer = CKAScorer()
    if isinstance(scorer, Mapping):
        items = [(str(k), v) for k, v in scorer.items()]
    elif isinstance(scorer, (list, tuple)):
        items = [(None, v) for v in scorer]
    else:
        items = [(None, scorer)]
    if not items:
        raise ValueError("scorer is an empty list; pass at least one skalign paired scorer.")
    for _, est in items:
        if isinstance(est, type) and issubclass(est, BasePairedScorer):
            raise TypeError(
                f"scorer must be an instance, not the class {est.__name__}; pass {est.__name__}()."
            )
        if not isinstance(est, BasePairedScorer):
            raise TypeError(f"scorer must be {_INTERFACE}; got {type(est).__name__}: {est!r:.80}.")
    scorers = [est for _, est in items]
    for est in scorers:
        # once, before any work: a bad hyper-parameter is the caller's mistake, not a
        # failed pair that on_error='skip' should record and pass over
        est._validate_params()
    names = [given if given is not None else type(est).__name__ for given, est in items]
    if len(set(names)) < len(names):
        # same class twice: tell them apart by their parameters, then by position
        names = [
            given if given is not None else " ".join(repr(est).split()) for given, est in items
        ]
    if len(set(names)) < len(names):
        names = [f"{name}#{k}" for k, name in enumerate(names)]
    return names, scorers


# -- the plan --------------------------------------------------------------------
@dataclasses.dataclass
class _Plan:
    """Everything one run schedules: the validated layers, scorers, folds and cells.

    ``cells`` lists every cell of the result in output order as
    ``(scorer index, row layer, column layer, fold)``, fold -1 without ``cv``;
    with ``cv`` and inference, each scorer's fold cells are followed by its mean
    cells (fold ``_MEAN``), which carry the cross-validated score and its
    inference. ``scorer_keys`` holds the parameter digests of the scorers, which
    key the rows of a checkpoint (with the inference settings for the cells that
    carry inference).
    """

    scorers: list
    scorer_names: list
    scorer_keys: list
    names_a: list
    arrays_a: list
    names_b: list
    arrays_b: list
    self_compare: bool
    folds: list | None
    n_jobs: int | None
    splitter: object = None
    n_permutations: int = 0
    n_resamples: int = 0
    confidence_level: float = 0.95
    random_state: object = None
    cells: list = dataclasses.field(init=False)
    index: dict = dataclasses.field(init=False)

    def __post_init__(self):
        fold_ids = [-1] if self.folds is None else list(range(len(self.folds)))
        if self.folds is not None and self.inference:
            fold_ids.append(_MEAN)
        self.cells = []
        for s, est in enumerate(self.scorers):
            for f in fold_ids:
                for i in range(len(self.names_a)):
                    if self.self_compare and est.symmetric:
                        js = range(i, len(self.names_b))
                    else:
                        js = range(len(self.names_b))
                    self.cells.extend((s, i, j, f) for j in js)
        self.index = {cell: k for k, cell in enumerate(self.cells)}

    @property
    def inference(self):
        return bool(self.n_permutations or self.n_resamples)

    def carries_inference(self, k):
        """Whether cell ``k`` gets p-values and intervals (stored once they are done)."""
        return self.inference and self.cells[k][3] in (-1, _MEAN)

    def key(self, k):
        """The checkpoint key of cell ``k``: every part as text, the fold as int."""
        s, i, j, f = self.cells[k]
        params = self.scorer_keys[s]
        if self.carries_inference(k):
            params = f"{params} n_permutations={self.n_permutations} n_resamples={self.n_resamples}"
            if self.n_resamples:  # the level changes nothing else
                params = f"{params} confidence_level={self.confidence_level!r}"
            params = f"{params} random_state={_seed_text(self.random_state)}"
        return (
            str(self.names_a[i]),
            str(self.names_b[j]),
            self.scorer_names[s],
            params,
            int(f),
        )

    def fitted_with_cv(self, s):
        """Whether scorer ``s`` learns on training rows, so nothing is prepared for it."""
        return self.folds is not None and not self.scorers[s].stateless

    def side(self, side):
        """Arrays, names and argument name of one side ('a' or 'b') of the run."""
        if side == "a":
            return self.arrays_a, self.names_a, "reps_a"
        return self.arrays_b, self.names_b, "reps_b"

    def describe_cell(self, k, what="failed on"):
        s, i, j, f = self.cells[k]
        text = (
            f"alignment_matrix {what} a={self.names_a[i]!r}, b={self.names_b[j]!r} with "
            f"scorer {self.scorer_names[s]!r}"
        )
        if f == _MEAN:
            return f"{text}, cross-validated mean"
        return text if f < 0 else f"{text}, fold {f}"

    def describe_preparation(self, s, side, idx, f):
        _, names, arg = self.side(side)
        text = (
            f"alignment_matrix failed to prepare {arg}[{names[idx]!r}] for scorer "
            f"{self.scorer_names[s]!r}"
        )
        return text if f < 0 else f"{text}, fold {f}"


#: Fold code of the cells that hold a cross-validated mean (``fold='mean'`` rows).
_MEAN = -2


def _seed_text(random_state):
    """``random_state`` as checkpoint-key text (a RandomState has no stable text)."""
    if random_state is None or isinstance(random_state, Integral):
        return repr(None if random_state is None else int(random_state))
    return type(random_state).__name__


def _nan_values(score=np.nan):
    """The values of a cell without inference: its score, then NaN p-value and interval."""
    return (float(score),) + (np.nan,) * len(INFERENCE_COLUMNS)


def _warn_few_draws(n_permutations, n_resamples, confidence_level):
    if n_permutations and 1.0 / (n_permutations + 1) > _LEVEL:
        warnings.warn(
            f"n_permutations={n_permutations}: the smallest p-value it can give is "
            f"{1.0 / (n_permutations + 1):.3g}, above {_LEVEL}; use at least "
            f"{round(1 / _LEVEL) - 1} to reach p = {_LEVEL}.",
            UserWarning,
            stacklevel=4,
        )
    if n_resamples and (1.0 - confidence_level) / 2.0 * (n_resamples + 1) < 1.0:
        warnings.warn(
            f"n_resamples={n_resamples} is too few for a {confidence_level:g} interval: its tails "
            "hold less than one resample each; the interval is then the range of the resamples.",
            UserWarning,
            stacklevel=4,
        )


# -- tasks ---------------------------------------------------------------------------
def _prepare_task(scorer, X, rows, label):
    X = _aligned(X)
    if rows is not None:
        X = X[rows]
    return scorer.prepare(X, name=label)


def _combine_task(k, scorer, PA, PB):
    # a diagonal cell keeps PA is PB, which scorers may use as a shortcut
    PA, PB = (_aligned(PA),) * 2 if PA is PB else (_aligned(PA), _aligned(PB))
    return k, float(scorer.combine(PA, PB))


def _fit_score_task(k, scorer, A, B, train, test):
    A, B = (_aligned(A),) * 2 if A is B else (_aligned(A), _aligned(B))
    est = clone(scorer).fit(A[train], B[train])
    return k, float(est.score(A[test], B[test]))


def _guarded(key, task, *args):
    """``(key, result, None)``, or ``(key, None, exception)`` when ``task`` raises.

    Raised in a worker, the exception would reach the caller without saying which
    task failed (results arrive unordered); returned, the caller names the pair.
    """
    try:
        return key, task(*args), None
    except Exception as exc:
        # the traceback does not travel back from a worker process; its text does
        exc.add_note("".join(traceback.format_exception(exc)).rstrip())
        return key, None, exc


def _with_context(exc, context):
    """``exc``'s type with ``context`` before its message, chained to ``exc``.

    ``exc`` carries the task's traceback as a note (see :func:`_guarded`), needed
    only when it was lost on the way back from a worker process.
    """
    if exc.__traceback__ is not None and getattr(exc, "__notes__", None):
        exc.__notes__.pop()
    try:
        new = type(exc)(f"{context}: {exc}")
    except Exception:  # a constructor that wants more than a message
        exc.add_note(context)
        return exc
    new.__cause__ = exc
    return new


def _reason(exc):
    return f"{type(exc).__name__}: {exc}"


# -- realignment of what workers receive -------------------------------------------
def _aligned(obj, depth=0):
    """``obj`` with any misaligned array replaced by an aligned copy.

    Dask may hand a task arrays that live at arbitrary byte offsets of a received
    frame. numpy computes products of misaligned arrays without BLAS, in another
    summation order, so a cluster run would differ from a local one in the last
    bits; copying those arrays keeps the two runs identical. Prepared
    representations are arrays, dataclasses of arrays, or tuples and lists of them.
    """
    if isinstance(obj, np.ndarray):
        return obj if obj.flags.aligned else np.array(obj, copy=True)
    if depth > 3 or not _has_misaligned(obj, depth):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [_aligned(v, depth + 1) for v in obj]
        if isinstance(obj, list):
            return items
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)  # namedtuple
    new = copy.copy(obj)  # a dataclass: _has_misaligned walks nothing else
    for field in dataclasses.fields(obj):
        # object.__setattr__: frozen dataclasses too
        object.__setattr__(new, field.name, _aligned(getattr(obj, field.name), depth + 1))
    return new


def _parts(obj):
    """The values a prepared object is made of: dataclass fields, tuple or list items."""
    if isinstance(obj, (tuple, list)):
        return list(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [getattr(obj, field.name) for field in dataclasses.fields(obj)]
    return []


def _has_misaligned(obj, depth=0):
    if isinstance(obj, np.ndarray):
        return not obj.flags.aligned
    return depth <= 3 and any(_has_misaligned(v, depth + 1) for v in _parts(obj))


def _approx_nbytes(obj, depth=0):
    """Bytes of the arrays a prepared object holds (a few levels deep)."""
    if isinstance(obj, np.ndarray) or hasattr(obj, "__array_namespace__"):
        # Array API arrays (torch, CuPy) have nbytes too; a few may lack it
        return int(getattr(obj, "nbytes", 0))
    if depth > 3:
        return 0
    return sum(_approx_nbytes(v, depth + 1) for v in _parts(obj))


# -- the two passes --------------------------------------------------------------
def _parallel(n_jobs, batch_size="auto"):
    try:
        return Parallel(n_jobs=n_jobs, batch_size=batch_size, return_as="generator_unordered")
    except ValueError:  # backends without generator support (multiprocessing)
        return Parallel(n_jobs=n_jobs, batch_size=batch_size)


def _run(plan, todo, results, store, on_error, verbose):
    """Prepare what the pending cells need, then score them as they finish.

    Fills ``results`` with ``k -> (values, None)`` or, when ``on_error='skip'``,
    ``k -> (NaN values, reason)`` (values: score, then NaN inference columns);
    finished scores of cells without inference also go to ``store``. Returns
    the prepared representations and the reasons of failed preparations, both
    keyed by (scorer, side, layer, fold), for the inference pass.
    """
    # Preparations keyed by (scorer, side, layer, fold); a self comparison has one side.
    needed = {}
    for k in todo:
        s, i, j, f = plan.cells[k]
        if plan.fitted_with_cv(s):
            continue
        if f == _MEAN:
            # the cross-validated null reuses the prepared test rows of the row layers
            if plan.n_permutations:
                for fold in range(len(plan.folds)):
                    needed.setdefault((s, "a", i, fold), None)
            continue
        needed.setdefault((s, "a", i, f), None)
        needed.setdefault((s, "a" if plan.self_compare else "b", j, f), None)

    def prep_call(key):
        s, side, idx, f = key
        arrays, names, arg = plan.side(side)
        rows = None if f < 0 else plan.folds[f][1]
        label = f"{arg}[{names[idx]!r}]"
        return delayed(_guarded)(key, _prepare_task, plan.scorers[s], arrays[idx], rows, label)

    prepared, failed = {}, {}
    if needed:
        finished = _parallel(plan.n_jobs)(prep_call(key) for key in needed)
        with _closing(finished):
            for key, value, exc in finished:
                if exc is None:
                    prepared[key] = value
                elif on_error == "raise":
                    raise _with_context(exc, plan.describe_preparation(*key))
                else:
                    failed[key] = f"{plan.describe_preparation(*key)}: {_reason(exc)}"
    largest = max((_approx_nbytes(p) for p in prepared.values()), default=0)

    calls = []
    for k in todo:
        s, i, j, f = plan.cells[k]
        if f == _MEAN:
            continue  # from its fold cells, in the inference pass
        if plan.fitted_with_cv(s):
            train, test = plan.folds[f]
            A, B = plan.arrays_a[i], plan.arrays_b[j]
            largest = max(largest, A.nbytes, B.nbytes)
            task = delayed(_guarded)(k, _fit_score_task, k, plan.scorers[s], A, B, train, test)
            calls.append(task)
            continue
        ka, kb = (s, "a", i, f), (s, "a" if plan.self_compare else "b", j, f)
        reason = failed.get(ka) or failed.get(kb)
        if reason is not None:
            results[k] = (_nan_values(), reason)
            continue
        calls.append(
            delayed(_guarded)(k, _combine_task, k, plan.scorers[s], prepared[ka], prepared[kb])
        )

    batch_size = 1 if largest > _BATCH_MAX_BYTES else "auto"
    finished = _parallel(plan.n_jobs, batch_size)(calls) if calls else []
    n_scored = sum(1 for cell in plan.cells if cell[3] != _MEAN)
    reported = progress(
        finished,
        total=n_scored,
        verbose=verbose,
        desc="alignment_matrix",
        initial=n_scored - len(calls),
        unit="pair",
    )
    with _closing(reported, finished):
        for k, value, exc in reported:
            if exc is not None:
                if on_error == "raise":
                    raise _with_context(exc, plan.describe_cell(k))
                results[k] = (_nan_values(), f"{plan.describe_cell(k)}: {_reason(exc)}")
                continue
            value = value[1]
            results[k] = (_nan_values(value), None)
            if store is not None and not plan.carries_inference(k):
                store.add(plan.key(k), value)
    return prepared, failed


@contextlib.contextmanager
def _closing(*iterators):
    """Close joblib's result generators on the way out, also after an error.

    Stopping early is what ``on_error='raise'`` asks for, so joblib's warning that
    finished results went unused would only be noise; closing here, not whenever
    the generator is collected, keeps it from reaching the user.
    """
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*(successfully executed|been cancelled)")
            for it in iterators:
                close = getattr(it, "close", None)
                if close is not None:
                    close()


# -- the inference pass --------------------------------------------------------------
@dataclasses.dataclass
class _InferenceJob:
    """What a chunk task of one scorer needs: its cells, layers and prepared layers.

    Layers are named by ids, ``('a', i)`` and ``('b', j)`` (``('a', j)`` in a self
    comparison, so that a layer on both sides is prepared once per draw).
    ``pairs`` lists ``(a id, b id)`` per inferred cell, in the scorer's order;
    ``prepared`` maps an id to its prepared layer (no ``cv``), ``fold_prepared`` an
    (id, fold) to its prepared test rows (stateless scorers with ``cv``).
    """

    scorer: object
    pairs: list
    arrays: dict
    labels: dict
    prepared: dict
    fold_prepared: dict
    folds: list | None
    splitter: object
    fitted: bool

    def values(self, kind, draw, errors):
        """The statistic of every cell on one draw (a permutation or resampled rows)."""
        out = np.full(len(self.pairs), np.nan)
        if self.folds is None:
            if kind == "perm":
                self._permuted(draw, out, errors)
            else:
                self._on_rows(draw, out, errors)
            return out
        if kind == "perm":
            splits = [(draw[train], draw[test], train, test) for train, test in self.folds]
        else:
            # split the distinct stimuli, so that copies of one stay on one side
            stimuli, where = np.unique(draw, return_inverse=True)
            splits = []
            for train, test in self.splitter.split(np.empty((stimuli.size, 1))):
                tr = draw[np.flatnonzero(np.isin(where, train))]
                te = draw[np.flatnonzero(np.isin(where, test))]
                splits.append((tr, te, tr, te))
        per_fold = [[] for _ in self.pairs]
        for f, (b_train, b_test, a_train, a_test) in enumerate(splits):
            self._fold(kind, f, b_train, b_test, a_train, a_test, per_fold, errors)
        for c, scores in enumerate(per_fold):
            if c not in errors:
                out[c] = float(np.mean(scores))
        return out

    def _live(self, members, errors):
        return [(c, ia) for c, ia in members if c not in errors]

    def _columns(self):
        columns = {}
        for c, (ia, ib) in enumerate(self.pairs):
            columns.setdefault(ib, []).append((c, ia))
        return columns

    def _score_columns(self, prepare_column, prepared_row, errors, emit):
        """Each column layer prepared once by ``prepare_column(ib)``, then combined
        with ``prepared_row(ia)`` of its live pairs; ``emit(c, score)``."""
        for ib, members in self._columns().items():
            live = self._live(members, errors)
            if not live:
                continue
            try:
                P = prepare_column(ib)
            except Exception as exc:
                _note_traceback(exc)
                errors.update(dict.fromkeys((c for c, _ in live), exc))
                continue
            for c, ia in live:
                try:
                    emit(c, float(self.scorer.combine(prepared_row(ia), P)))
                except Exception as exc:
                    errors[c] = _note_traceback(exc)

    def _permuted(self, perm, out, errors):
        scorer = self.scorer

        def prepare_column(ib):
            P = scorer.permute_prepared(self.prepared[ib], perm)
            return scorer.prepare(self.arrays[ib][perm], name=self.labels[ib]) if P is None else P

        self._score_columns(prepare_column, self.prepared.__getitem__, errors, out.__setitem__)

    def _on_rows(self, rows, out, errors):
        self._combine_rows(rows, errors, out.__setitem__)

    def _combine_rows(self, rows, errors, emit):
        """Every live pair scored on ``rows``, each layer prepared once on them; ``emit(c, score)``."""
        cache = {}
        for c, (ia, ib) in enumerate(self.pairs):
            if c in errors:
                continue
            try:
                PA, PB = (self._prepared_rows(cache, ident, rows) for ident in (ia, ib))
                emit(c, float(self.scorer.combine(PA, PB)))
            except Exception as exc:
                errors[c] = _note_traceback(exc)

    def _prepared_rows(self, cache, ident, rows):
        if ident not in cache:
            cache[ident] = self.scorer.prepare(self.arrays[ident][rows], name=self.labels[ident])
        return cache[ident]

    def _fold(self, kind, f, b_train, b_test, a_train, a_test, per_fold, errors):
        scorer = self.scorer
        if self.fitted:
            for c, (ia, ib) in enumerate(self.pairs):
                if c in errors:
                    continue
                A, B = self.arrays[ia], self.arrays[ib]
                try:
                    est = clone(scorer).fit(A[a_train], B[b_train])
                    per_fold[c].append(float(est.score(A[a_test], B[b_test])))
                except Exception as exc:
                    errors[c] = _note_traceback(exc)
            return
        if kind == "boot":
            self._combine_rows(a_test, errors, lambda c, value: per_fold[c].append(value))
            return
        # a permutation: the row layers' test rows are as prepared for the scores
        self._score_columns(
            lambda ib: scorer.prepare(self.arrays[ib][b_test], name=self.labels[ib]),
            lambda ia: self.fold_prepared[(ia, f)],
            errors,
            lambda c, value: per_fold[c].append(value),
        )


def _note_traceback(exc):
    # the traceback does not travel back from a worker process; its text does
    exc.add_note("".join(traceback.format_exception(exc)).rstrip())
    return exc


def _inference_task(job, kind, draws):
    """The statistic of every cell of ``job`` on each draw, and the cells that failed."""
    errors = {}
    with pair_warnings_off():
        values = np.stack([job.values(kind, draw, errors) for draw in draws])
    return values, errors


def _draws(plan, n):
    """The permutations and both kinds of resamples the run needs, drawn once.

    With an int (or None) ``random_state`` each kind is drawn from a fresh
    generator seeded with it, so that they are the draws of
    :func:`skalign.inference.permutation_test` and :func:`skalign.inference.bootstrap`
    for that seed; a RandomState instance is drawn from in turn.
    """
    seed = plan.random_state

    def generator():
        return seed if isinstance(seed, np.random.RandomState) else check_random_state(seed)

    draws = {}
    if plan.n_permutations:
        draws["perm"] = draw_permutations(n, plan.n_permutations, random_state=generator())
    kinds = {_is_neighbourhood(est) for est in plan.scorers} if plan.n_resamples else set()
    if False in kinds:
        rs = generator()
        draws["replace"] = np.stack(
            [rs.randint(0, n, n).astype(np.intp) for _ in range(plan.n_resamples)]
        )
    if True in kinds:
        rs = generator()
        draws["half"] = np.stack(
            [np.sort(rs.permutation(n)[: n // 2]).astype(np.intp) for _ in range(plan.n_resamples)]
        )
    return draws


def _is_neighbourhood(scorer):
    # as skalign.inference.bootstrap decides
    return scorer.metadata()["distinct_rows"]


def _run_inference(plan, todo, results, store, on_error, verbose, prepared, failed):
    """P-values and intervals of the pending cells that carry inference.

    Each scorer's draws go to chunk tasks; once every chunk of a scorer is back,
    its cells are finished (``results`` updated, rows stored).
    """
    n = plan.arrays_a[0].shape[0]
    jobs, cells_of = {}, {}
    for s, est in enumerate(plan.scorers):
        ks = []
        for k in todo:
            cell = plan.cells[k]
            if cell[0] != s or not plan.carries_inference(k):
                continue
            if cell[3] == _MEAN and not _mean_of_folds(plan, k, results):
                continue
            if results[k][1] is None and np.isfinite(results[k][0][0]):
                ks.append(k)
        if ks:
            cells_of[s] = ks
            jobs[s] = _inference_job(plan, s, ks, prepared)
    if not jobs:
        return
    draws = _draws(plan, n)
    n_chunks = 1 if effective_n_jobs(plan.n_jobs) == 1 else 4 * effective_n_jobs(plan.n_jobs)

    calls, pending = [], {}
    for s, job in jobs.items():
        kinds = []
        if plan.n_permutations:
            kinds.append(("perm", draws["perm"]))
        if plan.n_resamples:
            kinds.append(("boot", draws["half" if _is_neighbourhood(plan.scorers[s]) else "replace"]))
        for kind, arr in kinds:
            bounds = np.linspace(0, len(arr), min(n_chunks, len(arr)) + 1).astype(int)
            for c, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
                key = (s, kind, c)
                pending.setdefault(s, set()).add(key)
                calls.append(delayed(_guarded)(key, _inference_task, job, kind, arr[lo:hi]))
    parts = {s: {} for s in jobs}
    finished = _parallel(plan.n_jobs, batch_size=1)(calls)
    reported = progress(
        finished, total=len(calls), verbose=verbose, desc="alignment_matrix inference", unit="chunk"
    )
    with _closing(reported, finished):
        for key, value, exc in reported:
            s = key[0]
            if exc is not None:
                # outside the per-cell guards: every cell of the scorer is affected
                value = (None, dict.fromkeys(range(len(cells_of[s])), exc))
            parts[s][key] = value
            pending[s].discard(key)
            if not pending[s]:
                _finish_scorer(plan, s, cells_of[s], parts.pop(s), results, store, on_error)


def _mean_of_folds(plan, k, results):
    """Fill the score of mean cell ``k`` from its folds; False when a fold failed."""
    s, i, j, _ = plan.cells[k]
    fold_ks = [plan.index[(s, i, j, f)] for f in range(len(plan.folds))]
    bad = [f for f, fk in enumerate(fold_ks) if results[fk][1] is not None]
    if bad:
        results[k] = (_nan_values(), f"{plan.describe_cell(k)}: fold(s) {bad} failed")
        return False
    results[k] = (_nan_values(np.mean([results[fk][0][0] for fk in fold_ks])), None)
    return True


def _inference_job(plan, s, ks, prepared):
    est = plan.scorers[s]
    side_b = "a" if plan.self_compare else "b"
    pairs, arrays, labels = [], {}, {}
    for k in ks:
        _, i, j, _ = plan.cells[k]
        ia, ib = ("a", i), (side_b, j)
        pairs.append((ia, ib))
        for ident in (ia, ib):
            side_arrays, names, arg = plan.side(ident[0])
            arrays[ident] = side_arrays[ident[1]]
            labels[ident] = f"{arg}[{names[ident[1]]!r}]"
    fitted = plan.fitted_with_cv(s)
    own, fold_own = {}, {}
    if plan.folds is None:
        own = {ident: prepared[(s, *ident, -1)] for pair in pairs for ident in pair}
    elif not fitted and plan.n_permutations:
        fold_own = {
            (ia, f): prepared[(s, *ia, f)] for ia, _ in pairs for f in range(len(plan.folds))
        }
    return _InferenceJob(
        scorer=est,
        pairs=pairs,
        arrays=arrays,
        labels=labels,
        prepared=own,
        fold_prepared=fold_own,
        folds=plan.folds,
        splitter=plan.splitter,
        fitted=fitted,
    )


def _finish_scorer(plan, s, ks, parts, results, store, on_error):
    """P-values and intervals of scorer ``s``'s cells from its chunks, in draw order."""
    errors, by_kind = {}, {}
    for (_, kind, c), (values, errs) in sorted(parts.items(), key=lambda item: item[0][1:]):
        errors.update({cell: exc for cell, exc in errs.items() if cell not in errors})
        if values is not None:
            by_kind.setdefault(kind, []).append(values)
    stacked = {kind: np.concatenate(v) for kind, v in by_kind.items()}
    neighbourhood = _is_neighbourhood(plan.scorers[s])
    score_range = plan.scorers[s].metadata()["score_range"]
    for c, k in enumerate(ks):
        score = results[k][0][0]
        exc = errors.get(c)
        p = se = lo = hi = np.nan
        if exc is None and "perm" in stacked:
            p, se = permutation_pvalue(score, stacked["perm"][:, c], "greater")
        if exc is None and "boot" in stacked:
            dist = stacked["boot"][:, c]
            if not np.isfinite(dist).all():
                exc = ValueError(
                    f"{int(np.sum(~np.isfinite(dist)))} bootstrap resamples gave a non-finite "
                    "score; the scorer is undefined on some resamples (too few distinct rows?)."
                )
            else:
                if neighbourhood:
                    # a half-sample's level differs from the full sample's; its spread does not
                    dist = dist - dist.mean() + score
                lo, hi = resampled_interval(
                    score, dist, plan.confidence_level, "percentile", score_range=score_range
                )
        if exc is not None:
            context = plan.describe_cell(k, "could not test")
            if on_error == "raise":
                raise _with_context(exc, context)
            results[k] = (_nan_values(score), f"{context}: {_reason(exc)}")
            continue
        values = (score, p, se, lo, hi)
        results[k] = (values, None)
        if store is not None:
            store.add(plan.key(k), values)
