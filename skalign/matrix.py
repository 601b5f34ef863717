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
"""

from __future__ import annotations

import copy
import numbers
import os
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import check_cv

from ._validation import check_representation
from .base import BasePairedScorer

__all__ = ["alignment_matrix", "pivot_alignment", "plot_alignment_matrix"]

#: Prepared representations larger than this are sent to workers one pair per
#: task, so that a worker holds at most two of them (see the module docstring).
_BATCH_MAX_BYTES = 2**20

#: The checkpoint is rewritten at most this often (seconds) while a run goes on,
#: and always when it stops, normally or not.
_CHECKPOINT_INTERVAL = 1.0

_INTERFACE = (
    "a skalign paired scorer instance, i.e. a subclass of skalign.base.BasePairedScorer "
    "implementing prepare(X, name) -> prepared and combine(PX, PY) -> float, together "
    "with fit(X, Y) / score(X, Y) (e.g. skalign.CKAScorer())"
)


# -- public API ----------------------------------------------------------------
def alignment_matrix(
    reps_a,
    reps_b=None,
    scorer=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    checkpoint=None,
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
        was interrupted resumes where it stopped. Rows are keyed by (a, b, scorer,
        fold); delete the file after changing data or scorer parameters.

    Returns
    -------
    scores : pandas.DataFrame
        One row per (pair, scorer[, fold]) with columns ``a``, ``b``, ``scorer``,
        ``score`` and, when ``cv`` is given, ``fold``. Higher = more aligned, in
        each scorer's ``score_range``.

    Raises
    ------
    TypeError
        A scorer that is not a skalign paired scorer, or ``reps_a`` / ``reps_b``
        that is not a mapping or list.
    ValueError
        An empty mapping, a layer that is not a valid representation, or layers
        with different numbers of samples (the error names the layer).

    See Also
    --------
    pivot_alignment : the square matrix of one scorer.
    plot_alignment_matrix : its heatmap.

    Notes
    -----
    See the module docstring for how the work is split between the caller and the
    workers and what each holds in memory.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
    representations revisited. ICML (layer x layer CKA matrices).
    Williams, Kunz, Kornblith & Linderman (2021). Generalized shape metrics on
    neural representations. NeurIPS (per-representation preprocessing reused
    across pairs).
    """
    names_a, arrays_a = _as_layers(reps_a, "reps_a")
    self_compare = reps_b is None
    if self_compare:
        names_b, arrays_b = names_a, arrays_a
    else:
        names_b, arrays_b = _as_layers(reps_b, "reps_b")
    n_samples = _check_same_samples(names_a, arrays_a, names_b, arrays_b, self_compare)
    scorer_names, scorers = _as_scorers(scorer)
    verbose = _check_verbose(verbose)

    folds = None
    if cv is not None:
        splitter = check_cv(cv)
        folds = [
            (np.asarray(train), np.asarray(test))
            for train, test in splitter.split(np.zeros((n_samples, 1)))
        ]
        if not folds:
            raise ValueError(f"cv={cv!r} produced no train/test split.")
    fold_ids = [-1] if folds is None else list(range(len(folds)))

    # Every cell of the result, in output order: (scorer index, i, j, fold).
    cells = []
    for s, est in enumerate(scorers):
        for f in fold_ids:
            for i in range(len(names_a)):
                if self_compare and est.symmetric:
                    js = range(i, len(names_b))
                else:
                    js = range(len(names_b))
                cells.extend((s, i, j, f) for j in js)

    store = None
    done = {}
    if checkpoint is not None:
        store = _Checkpoint(checkpoint, names_a, names_b)
        done = store.load()
    keys = [_cell_key(c, scorer_names, names_a, names_b) for c in cells]
    todo = [k for k, key in enumerate(keys) if key not in done]
    results = {k: done[key] for k, key in enumerate(keys) if key in done}

    if todo:
        progress = _progress(verbose, total=len(cells), initial=len(cells) - len(todo))
        try:
            _run(
                todo,
                cells,
                keys,
                scorers,
                arrays_a,
                arrays_b,
                self_compare,
                names_a,
                names_b,
                folds,
                n_jobs,
                results,
                store,
                progress,
            )
        finally:
            if store is not None:
                store.flush()
            if progress is not None:
                progress.close()

    rows = {
        "a": [names_a[i] for _, i, _, _ in cells],
        "b": [names_b[j] for _, _, j, _ in cells],
        "scorer": [scorer_names[s] for s, _, _, _ in cells],
        "score": np.array([results[k] for k in range(len(cells))], dtype=np.float64),
    }
    if folds is not None:
        rows["fold"] = np.array([f for _, _, _, f in cells], dtype=np.int64)
    return pd.DataFrame(rows)


def pivot_alignment(df, scorer=None):
    """The square (layers x layers) matrix of one scorer from :func:`alignment_matrix`.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`alignment_matrix` (columns ``a``, ``b``, ``score`` and
        optionally ``scorer`` and ``fold``).
    scorer : str or BasePairedScorer, default=None
        Which scorer's scores to pivot (its name in the ``scorer`` column, or an
        instance, matched by class name). May be omitted when ``df`` holds one.

    Returns
    -------
    matrix : pandas.DataFrame
        Rows are the ``a`` layers and columns the ``b`` layers, in the order they
        first appear in ``df``. Scores of several folds are averaged. When the rows
        and columns are the same layers (``reps_b=None``), a cell that was not
        computed is filled from its transpose, so the upper triangle of a
        symmetric scorer becomes the full symmetric matrix.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"df must be the DataFrame returned by alignment_matrix; got {type(df).__name__}."
        )
    missing = [c for c in ("a", "b", "score") if c not in df.columns]
    if missing:
        raise ValueError(
            f"df lacks the column(s) {missing}; pass the DataFrame returned by alignment_matrix "
            f"(columns a, b, scorer, score[, fold]). Got columns {list(df.columns)}."
        )
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
            if label not in present:
                raise ValueError(f"scorer={label!r} is not in df; it holds {present}.")
            df = df[df["scorer"] == label]
    if df.empty:
        raise ValueError("df has no rows to pivot.")

    means = df.groupby(["a", "b"], sort=False)["score"].mean()
    rows = list(pd.unique(df["a"]))
    cols = list(pd.unique(df["b"]))
    square = set(rows) == set(cols)
    if square:
        cols = rows
    values = np.full((len(rows), len(cols)), np.nan)
    pos_r = {name: r for r, name in enumerate(rows)}
    pos_c = {name: c for c, name in enumerate(cols)}
    for (a, b), v in means.items():
        values[pos_r[a], pos_c[b]] = v
    if square:
        # only cells never computed (the lower triangle of a symmetric run) take
        # the mirror value; computed cells, e.g. of an asymmetric scorer, stay
        gaps = np.isnan(values)
        values[gaps] = values.T[gaps]
    matrix = pd.DataFrame(values, index=pd.Index(rows, name="a"), columns=pd.Index(cols, name="b"))
    return matrix


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

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install 'skalign[plot]'``).
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
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=str(label))
    return ax


# -- input checks --------------------------------------------------------------
def _as_layers(reps, arg):
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
    arrays = [check_representation(X, name=f"{arg}[{name!r}]") for name, X in items]
    return names, arrays


def _check_same_samples(names_a, arrays_a, names_b, arrays_b, self_compare):
    ref_name, n = f"reps_a[{names_a[0]!r}]", arrays_a[0].shape[0]
    groups = [("reps_a", names_a, arrays_a)]
    if not self_compare:
        groups.append(("reps_b", names_b, arrays_b))
    for arg, names, arrays in groups:
        for name, X in zip(names, arrays):
            if X.shape[0] != n:
                raise ValueError(
                    f"{arg}[{name!r}] has {X.shape[0]} samples but {ref_name} has {n}: every "
                    "representation must hold the same samples (row i = stimulus i) in the same "
                    "order."
                )
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
    names = [given if given is not None else type(est).__name__ for given, est in items]
    if len(set(names)) < len(names):
        # same class twice: tell them apart by their parameters, then by position
        names = [
            given if given is not None else " ".join(repr(est).split()) for given, est in items
        ]
    if len(set(names)) < len(names):
        names = [f"{name}#{k}" for k, name in enumerate(names)]
    return names, scorers


def _check_verbose(verbose):
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    if not isinstance(verbose, numbers.Integral) or verbose < 0:
        raise ValueError(f"verbose must be a non-negative integer; got {verbose!r}.")
    return int(verbose)


def _cell_key(cell, scorer_names, names_a, names_b):
    s, i, j, f = cell
    return (str(names_a[i]), str(names_b[j]), scorer_names[s], int(f))


# -- the two passes --------------------------------------------------------------
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


def _aligned(obj, depth=0):
    """``obj`` with any misaligned array replaced by an aligned copy.

    Dask may hand a task arrays that live at arbitrary byte offsets of a received
    frame. numpy computes products of misaligned arrays without BLAS, in another
    summation order, so a cluster run would differ from a local one in the last
    bits; copying those arrays keeps the two runs identical.
    """
    if isinstance(obj, np.ndarray):
        return obj if obj.flags.aligned else np.array(obj, copy=True)
    if depth > 3 or not _has_misaligned(obj, depth):
        return obj
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_aligned(v, depth + 1) for v in obj)
    if isinstance(obj, list):
        return [_aligned(v, depth + 1) for v in obj]
    if isinstance(obj, dict):
        return {key: _aligned(v, depth + 1) for key, v in obj.items()}
    if hasattr(obj, "_fields"):  # namedtuple
        return obj._replace(**{f: _aligned(getattr(obj, f), depth + 1) for f in obj._fields})
    new = copy.copy(obj)
    for key, v in _attributes(obj).items():
        object.__setattr__(new, key, _aligned(v, depth + 1))
    return new


def _attributes(obj):
    """Instance attributes of a plain, dataclass or ``__slots__`` object ({} for others)."""
    attrs = dict(getattr(obj, "__dict__", None) or {})
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name != "__dict__" and hasattr(obj, name):
                attrs[name] = getattr(obj, name)
    return attrs


def _has_misaligned(obj, depth=0):
    if isinstance(obj, np.ndarray):
        return not obj.flags.aligned
    if depth > 3:
        return False
    if isinstance(obj, (tuple, list)):
        return any(_has_misaligned(v, depth + 1) for v in obj)
    if isinstance(obj, dict):
        return any(_has_misaligned(v, depth + 1) for v in obj.values())
    return any(_has_misaligned(v, depth + 1) for v in _attributes(obj).values())


def _run(
    todo,
    cells,
    keys,
    scorers,
    arrays_a,
    arrays_b,
    self_compare,
    names_a,
    names_b,
    folds,
    n_jobs,
    results,
    store,
    progress,
):
    """Prepare what the pending cells need, then score them as they finish."""

    def fitted_with_cv(s):
        return folds is not None and not scorers[s].stateless

    # Preparations keyed by (scorer, side, layer, fold); a self comparison has one side.
    needed = {}
    for k in todo:
        s, i, j, f = cells[k]
        if fitted_with_cv(s):
            continue
        needed.setdefault((s, "a", i, f), None)
        needed.setdefault((s, "a" if self_compare else "b", j, f), None)
    order = list(needed)

    def prep_call(s, side, idx, f):
        arrays, names, arg = (
            (arrays_a, names_a, "reps_a") if side == "a" else (arrays_b, names_b, "reps_b")
        )
        rows = None if f < 0 else folds[f][1]
        return delayed(_prepare_task)(scorers[s], arrays[idx], rows, f"{arg}[{names[idx]!r}]")

    prepared = (
        dict(zip(order, Parallel(n_jobs=n_jobs)(prep_call(*key) for key in order))) if order else {}
    )
    largest = max((_approx_nbytes(p) for p in prepared.values()), default=0)

    calls = []
    for k in todo:
        s, i, j, f = cells[k]
        if fitted_with_cv(s):
            train, test = folds[f]
            largest = max(largest, arrays_a[i].nbytes, arrays_b[j].nbytes)
            calls.append(
                delayed(_fit_score_task)(k, scorers[s], arrays_a[i], arrays_b[j], train, test)
            )
        else:
            PA = prepared[(s, "a", i, f)]
            PB = prepared[(s, "a" if self_compare else "b", j, f)]
            calls.append(delayed(_combine_task)(k, scorers[s], PA, PB))

    batch_size = 1 if largest > _BATCH_MAX_BYTES else "auto"
    try:
        parallel = Parallel(n_jobs=n_jobs, batch_size=batch_size, return_as="generator_unordered")
    except ValueError:  # backends without generator support (multiprocessing)
        parallel = Parallel(n_jobs=n_jobs, batch_size=batch_size)
    for k, value in parallel(calls):
        results[k] = value
        if store is not None:
            store.add(keys[k], value)
        if progress is not None:
            progress.update(1)


def _approx_nbytes(obj, depth=0):
    """Bytes of the arrays a prepared object holds (a few levels deep)."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if depth > 3:
        return 0
    if isinstance(obj, Mapping):
        return sum(_approx_nbytes(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_approx_nbytes(v, depth + 1) for v in obj)
    return sum(_approx_nbytes(v, depth + 1) for v in _attributes(obj).values())


# -- progress ------------------------------------------------------------------
class _PrintProgress:
    """Fallback progress report when tqdm is not installed: about ten lines per run."""

    def __init__(self, total, initial):
        self.total, self.n = total, initial
        self.step = max(1, total // 10)
        self.start = time.perf_counter()
        print(f"[alignment_matrix] {self.n}/{self.total} pairs done", flush=True)

    def update(self, n=1):
        before, self.n = self.n, self.n + n
        if self.n // self.step != before // self.step or self.n == self.total:
            elapsed = time.perf_counter() - self.start
            print(
                f"[alignment_matrix] {self.n}/{self.total} pairs done ({elapsed:.1f} s)", flush=True
            )

    def close(self):
        """Nothing to release: only tqdm's bars need closing, plain prints do not."""


def _progress(verbose, total, initial):
    if not verbose:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PrintProgress(total, initial)
    return tqdm(total=total, initial=initial, desc="alignment_matrix", unit="pair")


# -- checkpoint ------------------------------------------------------------------
class _Checkpoint:
    """Finished cells on disk, keyed by (a, b, scorer, fold) with names as strings.

    The file is rewritten whole through a temporary file and an atomic rename, so
    a run killed at any moment leaves either the previous or the new complete file,
    never a truncated one (an appended Parquet file would lose its footer).
    """

    columns = ["a", "b", "scorer", "fold", "score"]

    def __init__(self, path, names_a, names_b):
        self.path = os.fspath(path)
        ext = os.path.splitext(self.path)[1].lower()
        if ext in (".parquet", ".pq"):
            self.format = "parquet"
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise ImportError(
                    f"checkpoint={self.path!r} needs pyarrow to write Parquet; install it "
                    "(`pip install pyarrow`) or use a '.csv' checkpoint."
                ) from exc
        elif ext == ".csv":
            self.format = "csv"
        else:
            raise ValueError(
                f"checkpoint must end in '.parquet' or '.csv' (the format is chosen by "
                f"extension); got {self.path!r}."
            )
        for arg, names in (("reps_a", names_a), ("reps_b", names_b)):
            as_str = [str(n) for n in names]
            if len(set(as_str)) < len(as_str):
                raise ValueError(
                    f"the layer names of {arg} are not distinct as strings ({names}); a "
                    "checkpoint stores names as text, so rename them."
                )
        self.table = pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns})
        self.pending = []
        self.last = time.monotonic()

    def load(self):
        if not os.path.exists(self.path):
            return {}
        try:
            if self.format == "parquet":
                table = pd.read_parquet(self.path)
            else:
                table = pd.read_csv(self.path, dtype={"a": str, "b": str, "scorer": str})
        except Exception as exc:
            raise ValueError(
                f"checkpoint {self.path!r} exists but could not be read: {exc}"
            ) from exc
        if list(table.columns) != self.columns:
            raise ValueError(
                f"checkpoint {self.path!r} is not an alignment_matrix checkpoint: expected columns "
                f"{self.columns}, got {list(table.columns)}."
            )
        table = table.dropna(subset=["score"])
        self.table = table
        return {
            (str(a), str(b), str(s), int(f)): float(v)
            for a, b, s, f, v in table.itertuples(index=False, name=None)
        }

    def add(self, key, value):
        self.pending.append((*key, value))
        if time.monotonic() - self.last >= _CHECKPOINT_INTERVAL:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        new = pd.DataFrame(self.pending, columns=self.columns)
        table = new if self.table.empty else pd.concat([self.table, new], ignore_index=True)
        table = table.astype(
            {"a": str, "b": str, "scorer": str, "fold": np.int64, "score": np.float64}
        )
        tmp = f"{self.path}.tmp-{os.getpid()}"
        if self.format == "parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)
        os.replace(tmp, self.path)
        self.table, self.pending, self.last = table, [], time.monotonic()
