"""The ``skalign`` command line: ``skalign demo`` and ``skalign compare A B``."""

from __future__ import annotations

import argparse
import csv
import os
import sys
import warnings

import numpy as np
import pandas as pd

__all__ = ["main", "load_representation", "COMPARE_METRICS"]


class CLIError(Exception):
    """An error reported to the user as one line, without a traceback."""


# name -> (estimator class name in skalign, constructor kwargs, one-line reading guide)
COMPARE_METRICS = {
    "tas": ("TopologicalAlignmentSpectrum", {}, "mean TAS over all k: 1 = same neighbourhoods, 0 = chance, < 0 anti-aligned"),
    # kwargs filled in per comparison: the peak's k as a fraction of n - 1, so the folds use the same scale
    "tas_peak": ("TopologicalAlignmentSpectrum", {}, "TAS at its peak k below n/2 (column k), the dominant scale; "
                 "folds use the same fraction of n"),
    "tas10": ("TopologicalAlignmentSpectrum", {"n_neighbors": 10}, "TAS at k=10: agreement of the most local neighbourhoods"),
    "cka": ("CKAScorer", {}, "linear CKA in [0, 1]: global similarity up to rotation and isotropic scale"),
    "procrustes": ("ProcrustesScorer", {}, "cos of the angular Procrustes distance: 1 = equal up to rotation (in [0, 1] on fitted rows)"),
    "cca": ("ProcrustesScorer", {"alpha": 0.0}, "cos of the CCA shape distance (whitened): invariant to invertible linear maps"),
    "ridge": ("LinearRegressionScorer", {}, "held-out R^2 of predicting Y from X by ridge regression, variance-weighted "
              "over units (higher = more linearly predictable)"),
    "soft_matching": ("SoftMatchingScorer", {}, "mean correlation of units under the optimal soft matching"),
    "information_imbalance": ("InformationImbalance", {}, "1 - mean information imbalance: 1 = neighbourhoods predict each other"),
    "rsa": ("RSAScorer", {}, "Spearman correlation of the correlation-distance RDMs: 1 = same dissimilarity order"),
    "cknna": ("CKNNAScorer", {}, "CKA on mutual 10-NN pairs (Huh et al.): local kernel agreement, 1 = identical"),
    "mutual_knn": ("MutualKNNScorer", {}, "mean fraction of the 10 nearest neighbours shared: 1 = same neighbourhoods"),
    "knn_jaccard": ("KNNJaccardScorer", {}, "mean Jaccard index of the 10-NN sets: 1 = same neighbourhoods"),
    "cca_mean": ("CCAScorer", {"kind": "mean"}, "mean canonical correlation (fitted directions): invariant to invertible linear maps"),
    "svcca": ("CCAScorer", {"kind": "svcca"}, "SVCCA: CCA on the top singular directions (99% of variance) of each side"),
    "pwcca": ("CCAScorer", {"kind": "pwcca"}, "PWCCA: canonical correlations weighted by how much of X each direction holds"),
    "bures": ("BuresScorer", {}, "normalized Bures similarity in [0, 1]: cos of the Riemannian shape distance"),
    "gulp": ("GULPScorer", {}, "GULP similarity in [0, 1]: how alike the ridge predictors from X and from Y are"),
    "dcor": ("DistanceCorrelationScorer", {}, "distance correlation in [0, 1]: any dependence between the distance matrices"),
}
DEFAULT_METRICS = ("tas", "tas_peak", "cka", "procrustes")

#: Coverage of the --bootstrap interval.
_CONFIDENCE = 0.95
#: Level a --permutations p-value should be able to reach.
_LEVEL = 0.05

# name -> (transformer class in skalign.preprocessing, kwargs): how --reduce turns token
# (n, t, d) or feature-map (n, c, h, w) arrays into 2-D; stateless, so applying it to all
# rows before the folds leaks nothing
REDUCTIONS = {
    "none": None,
    "tokens-mean": ("PoolTokens", {"how": "mean"}),
    "tokens-last": ("PoolTokens", {"how": "last"}),
    "tokens-first": ("PoolTokens", {"how": "first"}),
    "tokens-max": ("PoolTokens", {"how": "max"}),
    "spatial-mean": ("PoolSpatial", {"how": "mean"}),
    "spatial-max": ("PoolSpatial", {"how": "max"}),
    "spatial-mean-channels-last": ("PoolSpatial", {"how": "mean", "channels_last": True}),
    "flatten": ("Flatten", {}),
}


def _estimator(metric, **extra):
    import skalign

    cls_name, kwargs, _ = COMPARE_METRICS[metric]
    return getattr(skalign, cls_name)(**{**kwargs, **extra})


def _one_line(exc):
    """An exception as one line: its message, or its type when the message is empty."""
    text = " ".join(str(exc).split())
    return text if text else type(exc).__name__


def _note(message, stream=None):
    print(f"skalign: {message}", file=stream or sys.stderr)


# ---------------------------------------------------------------- file reading
def load_representation(spec, key=None, *, stream=None):
    """Read a 2-D representation from ``.npy``, ``.npz`` (with ``key``), ``.csv`` or ``.parquet``.

    ``spec`` may carry the npz key after a colon: ``acts.npz:layer3``.

    A CSV file is read as pandas writes one. A leading column without a name
    whose values are 0, 1, ..., n - 1 is the index that ``DataFrame.to_csv``
    writes by default: it is dropped. A first row that parses as numbers is data,
    not a header. Each of these is said on ``stream`` (standard error by default),
    and a column that is not numeric is named in the error.
    """
    path = spec
    if key is None and ":" in spec and not os.path.exists(spec):
        path, key = spec.rsplit(":", 1)
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if key is None:
                    if len(keys) != 1:
                        raise CLIError(f"{path} holds several arrays {keys}; name one as {path}:KEY")
                    key = keys[0]
                if key not in keys:
                    raise CLIError(f"{path} has no array {key!r}; it holds {keys}")
                arr = z[key]
        elif ext == ".csv":
            arr = _read_csv(path, stream)
        elif ext in (".parquet", ".pq"):
            try:
                arr = pd.read_parquet(path)
            except ImportError:
                raise CLIError("reading .parquet needs pyarrow: pip install pyarrow") from None
        else:
            raise CLIError(f"{path}: unreadable format {ext or '(none)'}; use .npy, .npz, .csv or .parquet")
    except CLIError:
        raise
    except Exception as exc:  # corrupt files: one line, not a traceback
        raise CLIError(f"{path}: could not read it ({type(exc).__name__}: {exc})") from None
    return arr


def _is_number(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _read_csv(path, stream):
    name = os.path.basename(path)
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        names = next(csv.reader(fh), [])
    # "0", "1", ... are the column names pandas gives a frame built from an array: a header
    default_names = names == [str(j) for j in range(len(names))]
    if names and not default_names and all(_is_number(c) for c in names):
        # pandas would take the first sample for column names
        frame = pd.read_csv(path, header=None)
        _note(f"{name}: the first row is numbers, read as data (no header row)", stream)
    else:
        frame = pd.read_csv(path)
    if frame.shape[1] > 1:
        first = frame.columns[0]
        # pandas names an empty header cell "Unnamed: 0"; without a header every column is unnamed
        unnamed = not isinstance(first, str) or first.startswith("Unnamed: 0")
        values = pd.to_numeric(frame[first], errors="coerce").to_numpy()
        if unnamed and len(values) and np.array_equal(values, np.arange(len(values))):
            frame = frame.drop(columns=first)
            _note(f"{name}: dropped the first column, an unnamed row index 0..{len(values) - 1} "
                  "(as DataFrame.to_csv writes by default), not a feature", stream)
    for column in frame.columns:
        if not (pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column])):
            bad = frame[column][pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()]
            example = f", e.g. {bad.iloc[0]!r} in data row {bad.index[0] + 1}" if len(bad) else ""
            raise CLIError(f"{path}: column {column!r} is not numeric{example}")
    return frame


# ---------------------------------------------------------------- demo
def _demo_table(n_samples=500, random_state=0):
    """TAS at three scales and its mean, beside global scores, for the paper's three pairs."""
    from skalign import CKAScorer, ProcrustesScorer, TopologicalAlignmentSpectrum
    from skalign.datasets import make_alignment_pair

    kinds = {"jitter": "local jitter", "shuffle_centers": "shuffled centres", "random": "random pair"}
    rows, spectra = [], {}
    for kind, label in kinds.items():
        X, Y, _ = make_alignment_pair(kind, n_samples=n_samples, random_state=random_state)
        tas = TopologicalAlignmentSpectrum().fit(X, Y)
        spec = pd.Series(tas.spectrum_, index=tas.ks_)
        spectra[label] = tas
        row = {"pair": label}
        # the paper's scales at n=500: a local k, the cluster size, half the cloud
        for k in (10, n_samples // 4, n_samples // 2):
            row[f"TAS@{k}"] = spec.loc[k]
        row["TAS mean"] = spec.mean()
        row["CKA"] = CKAScorer().fit(X, Y).score(X, Y)
        row["Procrustes"] = ProcrustesScorer().fit(X, Y).score(X, Y)
        rows.append(row)
    return pd.DataFrame(rows).set_index("pair"), spectra


def run_demo(out="skalign_demo.png", n_samples=500, random_state=0, stream=None):
    stream = stream or sys.stdout
    if out:
        _check_output_path(out, "--out")
    table, spectra = _demo_table(n_samples, random_state)
    print("Topological Alignment Spectrum on the synthetic clouds of Tavares, Ayres & Smaragdis", file=stream)
    print(f"(n={n_samples}, 4 clusters of {n_samples // 4}; TAS: 1 = same neighbourhoods, 0 = chance)\n", file=stream)
    print(table.to_string(float_format=lambda v: f"{v:7.3f}"), file=stream)
    print(
        "\nReading: jitter keeps clusters but scrambles local order (low TAS at small k, ~1 at the cluster\n"
        "size); shuffled centres keep every cluster intact but move them (TAS = 1 below the cluster size,\n"
        "lower beyond). CKA and Procrustes give one number each and cannot tell which scale agrees.",
        file=stream,
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print("\n(install matplotlib, `pip install skalign[plot]`, to also get the figure)", file=stream)
        return table
    from skalign.plotting import plot_spectrum

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for label, fitted in spectra.items():
        plot_spectrum(fitted, ax=ax, label=label)
    ax.axvline(n_samples // 4 - 1, color="0.6", ls=":", lw=1)
    # anti-alignment is part of the story: keep the lowest value in view
    low = min(float(np.min(f.spectrum_)) for f in spectra.values())
    ax.set_ylim(min(-0.1, low - 0.05), 1.05)
    ax.set_title("TAS spectra of the paper's synthetic pairs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"\nFigure written to {os.path.abspath(out)}", file=stream)
    return table


# ---------------------------------------------------------------- compare
def _resolve_metrics(metrics):
    """The metric names asked for, in order and without repeats; 'all' stands for every one."""
    if not metrics:
        raise CLIError(f"--metrics is empty; give a comma-separated list from {', '.join(COMPARE_METRICS)}, "
                       "or 'all'")
    if "all" in metrics:
        return list(COMPARE_METRICS)
    unknown = [m for m in metrics if m not in COMPARE_METRICS]
    if unknown:
        raise CLIError(f"unknown metric(s) {unknown}; choose from {list(COMPARE_METRICS)} or 'all'")
    return list(dict.fromkeys(metrics))


def _check_output_path(path, option):
    """Refuse, before any work, a file that could not be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{option} {path} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise CLIError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise CLIError(f"{option} {path}: the folder {folder} is not writable")


class _WarningLines(warnings.catch_warnings):
    """Collect warnings and print each distinct one as a single line on standard error.

    ``seen`` (a set shared between blocks) keeps a message said once per run, not once
    per metric and fold.
    """

    def __init__(self, prefix="", seen=None):
        super().__init__(record=True)
        self.prefix = prefix
        self.seen = set() if seen is None else seen

    def __enter__(self):
        self.caught = super().__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        super().__exit__(*exc)
        for message in dict.fromkeys(_one_line(w.message) for w in self.caught):
            if message not in self.seen:
                self.seen.add(message)
                _note(f"warning: {self.prefix}{message}")
        return False


def dominant_scale(ks, spectrum, n_samples):
    """The k of the spectrum's peak among k < n/2, and the TAS there.

    Neighbourhoods of half the samples or more overlap by construction, so the
    peak is looked for below n/2 (all k when none is). Ties go to the smallest k.
    """
    ks, spectrum = np.asarray(ks), np.asarray(spectrum, dtype=float)
    below = ks < n_samples / 2
    if not below.any():
        below = np.ones_like(below)
    i = int(np.flatnonzero(below)[np.argmax(spectrum[below])])
    return int(ks[i]), float(spectrum[i])


def _reduce(A, how, name):
    """Apply the --reduce transformer to one loaded array (a clear error if it does not fit)."""
    spec = REDUCTIONS[how]
    if spec is None:
        return A
    from skalign import preprocessing

    cls, kwargs = spec
    try:
        return getattr(preprocessing, cls)(**kwargs).fit_transform(A)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--reduce {how} on {name}: {exc}") from None


def run_compare(a, b, metrics, key_a=None, key_b=None, cv=0, out=None, report="skalign_compare.png",
                random_state=0, stream=None, reduce="none", permutations=0, bootstrap=0):
    """Score two representation files with every metric asked for; print and save the table.

    A metric that fails is kept in the table with its reason (column ``error``);
    the others are still computed. The paths are checked before any work.

    ``permutations`` > 0 adds ``pvalue``, the permutation p-value of each score
    (:func:`skalign.permutation_test`); ``bootstrap`` > 0 adds ``ci_low`` and
    ``ci_high``, its 95% percentile bootstrap interval (:func:`skalign.bootstrap`).
    Both are of the in-sample score, or of the held-out score with ``cv``, and
    are seeded with ``random_state``. A metric whose inference fails keeps its
    score and gets the reason in ``error``.
    """
    from sklearn.model_selection import KFold, cross_val_score

    from skalign import TopologicalAlignmentSpectrum
    from skalign._validation import check_paired
    from skalign.inference import bootstrap as bootstrap_interval
    from skalign.inference import permutation_test

    stream = stream or sys.stdout
    metrics = _resolve_metrics(metrics)
    out = out or "skalign_compare.csv"
    _check_output_path(out, "--out")
    if report:
        _check_output_path(report, "--report")
    if cv < 0 or cv == 1:
        raise CLIError(f"--cv must be 0 (no held-out scores) or a number of folds of at least 2; got {cv}")
    if reduce not in REDUCTIONS:
        raise CLIError(f"--reduce must be one of {', '.join(REDUCTIONS)}; got {reduce!r}")
    for option, value, what in (("--permutations", permutations, "permutations"),
                                ("--bootstrap", bootstrap, "resamples")):
        if value < 0:
            raise CLIError(f"{option} must be 0 (off) or a number of {what}, at least 1; got {value}")
    if permutations and 1.0 / (permutations + 1) > _LEVEL:
        _note(f"warning: --permutations {permutations}: the smallest p-value it can give is "
              f"{1.0 / (permutations + 1):.3g}, above {_LEVEL}; use at least {round(1 / _LEVEL) - 1}")
    if bootstrap and (1.0 - _CONFIDENCE) / 2.0 * (bootstrap + 1) < 1.0:
        _note(f"warning: --bootstrap {bootstrap}: too few resamples for a {_CONFIDENCE:g} interval, which "
              f"is then their range; use at least {round(2 / (1 - _CONFIDENCE)) - 1}")
    A = _reduce(load_representation(a, key_a), reduce, os.path.basename(a))
    B = _reduce(load_representation(b, key_b), reduce, os.path.basename(b))
    seen = set()
    with _WarningLines(seen=seen):
        try:
            A, B = check_paired(A, B, min_samples=4, names=(os.path.basename(a), os.path.basename(b)))
        except (ValueError, TypeError) as exc:
            raise CLIError(str(exc)) from None
    n = A.shape[0]
    if cv > n:
        raise CLIError(f"--cv {cv}: {cv} folds need at least {cv} samples, and the files hold {n}; "
                       f"use --cv {n} or fewer")
    folds = KFold(cv, shuffle=True, random_state=random_state) if cv else None
    rows, spectrum, spectrum_error = [], None, None
    if {"tas", "tas_peak"} & set(metrics) or report:
        with _WarningLines("tas: ", seen):
            try:
                spectrum = TopologicalAlignmentSpectrum().fit(A, B)  # every k, for tas_peak and the report
            except Exception as exc:  # noqa: BLE001 (reported in the table, the other metrics still run)
                spectrum_error = _one_line(exc)
    for m in metrics:
        row = {"metric": m, "in_sample": np.nan, **({"cv_mean": np.nan, "cv_std": np.nan} if folds else {})}
        with _WarningLines(f"{m}: ", seen):
            try:
                if m == "tas_peak":
                    if spectrum is None:
                        raise ValueError(spectrum_error)
                    k, row["in_sample"] = dominant_scale(spectrum.ks_, spectrum.spectrum_, n)
                    row["k"] = k
                    # the same fraction of the rows on every fold: the same scale
                    est = _estimator(m, n_neighbors=k / (n - 1))
                else:
                    est = _estimator(m)
                    row["in_sample"] = est.fit(A, B).score(A, B)
            except Exception as exc:  # noqa: BLE001 (one failing metric must not lose the others)
                row["error"] = _one_line(exc)
                est = None
            if est is not None and folds is not None:
                try:
                    s = cross_val_score(est, A, B, cv=folds, error_score="raise")
                    row.update(cv_mean=s.mean(), cv_std=s.std())
                except Exception as exc:  # noqa: BLE001
                    row["error"] = f"held out ({cv} folds of about {n // cv} rows): {_one_line(exc)}"
            # of the score the inference is about: in-sample, or held out with --cv
            tested = est is not None and (folds is None or np.isfinite(row.get("cv_mean", np.nan)))
            if tested and (permutations or bootstrap):
                # said once above, for all metrics
                warnings.filterwarnings("ignore", message=r"n_permutations=\d+: the smallest")
                warnings.filterwarnings("ignore", message=r"n_resamples=\d+ is too few")
            if tested and permutations:
                row["pvalue"] = np.nan
                try:
                    res = permutation_test(est, A, B, n_permutations=permutations, cv=folds,
                                           random_state=random_state)
                    row["pvalue"] = res.pvalue
                except Exception as exc:  # noqa: BLE001 (the score stays; the reason goes to the table)
                    row["error"] = _joined(row.get("error"), f"permutation test: {_one_line(exc)}")
            if tested and bootstrap:
                row["ci_low"] = row["ci_high"] = np.nan
                try:
                    with warnings.catch_warnings():
                        # about the copies a resample makes, not about the files: one per resample
                        warnings.filterwarnings("ignore", message=r".*duplicated row")
                        res = bootstrap_interval(est, A, B, n_resamples=bootstrap, confidence_level=_CONFIDENCE,
                                                 cv=folds, random_state=random_state)
                    row["ci_low"], row["ci_high"] = res.confidence_interval
                except Exception as exc:  # noqa: BLE001
                    row["error"] = _joined(row.get("error"), f"bootstrap: {_one_line(exc)}")
        lo, hi = (est or _estimator(m if m != "tas_peak" else "tas")).score_range
        row["range"] = f"[{lo:g}, {hi:g}]"
        row["how to read"] = COMPARE_METRICS[m][2]
        rows.append(row)
    table = pd.DataFrame(rows).set_index("metric")
    columns = ("in_sample", "k", "cv_mean", "cv_std", "pvalue", "ci_low", "ci_high", "range", "how to read", "error")
    table = table[[c for c in columns if c in table]]
    if "k" in table:
        table["k"] = table["k"].astype("Int64")
    print(f"{a} {A.shape} vs {b} {B.shape}\n", file=stream)
    print(_display(table).to_string(float_format=lambda v: f"{v:.4f}", na_rep="", max_colwidth=100), file=stream)
    of = f"the held-out score ({cv}-fold mean)" if cv else "the in-sample score"
    if permutations:
        print(f"\npvalue: permutation test of {of}, {permutations} permutations of the rows of B", file=stream)
    if bootstrap:
        print(f"{'' if permutations else chr(10)}ci_low, ci_high: {_CONFIDENCE:g} percentile bootstrap interval "
              f"of {of}, {bootstrap} resamples of the rows", file=stream)
    table.to_csv(out)
    print(f"\nTable written to {os.path.abspath(out)}", file=stream)
    if report:
        path = _write_report(report, table, spectrum, A, B, a, b, cv)
        if path is None:
            print("(install matplotlib, `pip install skalign[plot]`, to also get the PNG report)", file=stream)
        else:
            print(f"Report written to {path}", file=stream)
    return table


def _joined(old, new):
    """Two reasons in one ``error`` cell."""
    return new if not isinstance(old, str) else f"{old}; {new}"


def _display(table):
    """The table as printed: blank k where it does not apply, a failure's reason in place of its reading guide."""
    shown = table.copy()
    if "k" in shown:
        shown["k"] = [("" if pd.isna(k) else str(int(k))) for k in shown["k"]]
    if "error" in shown:
        for m, err in shown["error"].items():
            if isinstance(err, str):
                shown.loc[m, "how to read"] = ("FAILED: " if pd.isna(shown.loc[m, "in_sample"]) else "") + err
        shown = shown.drop(columns="error")
    return shown


def _write_report(path, table, spectrum, A, B, name_a, name_b, cv):
    """One PNG: the TAS spectrum beside the scores (with their CV spread) and how to read them."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    import textwrap

    from skalign.plotting import plot_spectrum

    fig = plt.figure(figsize=(11, 4.4 + 0.16 * len(table)))
    grid = fig.add_gridspec(2, 2, height_ratios=[3, 0.14 * len(table) + 0.3])
    ax = fig.add_subplot(grid[0, 0])
    if spectrum is not None:
        plot_spectrum(spectrum, ax=ax, label="TAS")
        if "k" in table and table["k"].notna().any():
            ax.axvline(int(table["k"].dropna().iloc[0]), color="0.6", ls=":", lw=1, label="dominant scale")
            ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "TAS spectrum not available\n(see the table)", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_title("Topological Alignment Spectrum (1 = same neighbours, 0 = chance)", fontsize=9)
    ax2 = fig.add_subplot(grid[0, 1])
    ypos = np.arange(len(table))[::-1]
    # a failed metric gets no bar, and says so in its label
    ax2.barh(ypos + 0.18, table["in_sample"].fillna(0.0), height=0.35, label="all rows", color="0.6")
    interval = "ci_low" in table
    if "cv_mean" in table:
        # with an interval the bars carry it instead of the spread over folds
        spread = None if interval else table["cv_std"].fillna(0.0)
        ax2.barh(ypos - 0.18, table["cv_mean"].fillna(0.0), height=0.35, xerr=spread, capsize=3,
                 label=f"held out ({cv}-fold mean{'' if interval else ' ± sd'})", color="C0")
    if interval:
        lo, hi = table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        at = (ypos - 0.18) if "cv_mean" in table else (ypos + 0.18)
        ax2.errorbar((lo + hi)[ok] / 2, at[ok], xerr=(hi - lo)[ok] / 2, fmt="none", ecolor="k", capsize=3,
                     lw=1, label=f"{_CONFIDENCE:.0%} bootstrap interval")
    failed = table["in_sample"].isna()
    ax2.set_yticks(ypos, [f"{m} (failed)" if bad else m for m, bad in zip(table.index, failed)])
    ax2.axvline(0, color="0.3", lw=0.8)
    ax2.set_xlabel("score (higher = more aligned)")
    ax2.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    text = fig.add_subplot(grid[1, :])
    text.axis("off")
    lines = [f"{name_a} {A.shape} vs {name_b} {B.shape}"]
    errors = table["error"] if "error" in table else pd.Series(np.nan, index=table.index)
    lines += [textwrap.shorten(f"{m} (range {r}): " + (f"FAILED: {err}" if isinstance(err, str) else how), 150)
              for m, r, how, err in zip(table.index, table["range"], table["how to read"], errors)]
    text.text(0, 1, "\n".join(lines), va="top", fontsize=8, family="monospace")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.path.abspath(path)


# ---------------------------------------------------------------- entry point
def _parser():
    p = argparse.ArgumentParser(
        prog="skalign",
        description="Compare and diagnose neural-network representations across scales.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="TAS, CKA and Procrustes on the paper's synthetic clouds (no arguments needed)",
                       description="Runs the Topological Alignment Spectrum and global scorers on the synthetic "
                       "point-cloud pairs of Tavares et al. and prints a table; with matplotlib installed it "
                       "also writes the spectra as a PNG.")
    d.add_argument("--out", default="skalign_demo.png", help="where to write the figure (default: %(default)s)")
    d.add_argument("--n-samples", type=int, default=500, help="points per cloud (default: %(default)s)")
    d.add_argument("--random-state", type=int, default=0, help="seed of the synthetic clouds (default: %(default)s)")
    c = sub.add_parser("compare", help="compare two representation files",
                       description="Compare two representations of the same samples (row i = stimulus i). "
                       "Files: .npy, .npz (name the array as FILE.npz:KEY or with --key-a/--key-b), .csv "
                       "(numeric columns; pandas' unnamed index column is dropped and a first row of numbers "
                       "is read as data, each said on standard error), .parquet. A metric that fails is "
                       "marked in the table with its reason and the others are still computed; the exit "
                       "status is 1 only when every metric failed.")
    c.add_argument("a", help="first representation file")
    c.add_argument("b", help="second representation file")
    c.add_argument("--key-a", help="array name inside an .npz for A")
    c.add_argument("--key-b", help="array name inside an .npz for B")
    c.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                   help=f"comma-separated, from {', '.join(COMPARE_METRICS)}, or 'all' (default: %(default)s); "
                   "tas_peak is TAS at the dominant scale, the k of the spectrum's peak below n/2")
    c.add_argument("--cv", type=int, default=0,
                   help="also report K-fold held-out scores (mean, std) with this many folds, at least 2 "
                   "and at most the number of samples (default: 0, none)")
    c.add_argument("--out", help="where to save the table as CSV (default: skalign_compare.csv)")
    c.add_argument("--report", default="skalign_compare.png",
                   help="PNG report: TAS spectrum, scores with their CV spread, how to read each "
                   "(default: %(default)s; needs matplotlib; '' to skip)")
    c.add_argument("--random-state", type=int, default=0,
                   help="seed of the shuffle that makes the --cv folds, and of --permutations and "
                   "--bootstrap (default: %(default)s)")
    c.add_argument("--permutations", type=int, default=0, metavar="N",
                   help="add a column pvalue: the permutation p-value of each score (of the held-out "
                   "score with --cv) from N permutations of the rows of B, (1 + #{null >= score}) / (1 + N) "
                   "(default: 0, none)")
    c.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="add columns ci_low, ci_high: the 95%% percentile bootstrap interval of each score "
                   "(of the held-out score with --cv) from N resamples of the rows (default: 0, none)")
    c.add_argument("--reduce", default="none", choices=list(REDUCTIONS),
                   help="reduce token (n, t, d) or feature-map (n, c, h, w) arrays to 2-D first, with the "
                   "transformers of skalign.preprocessing; NaN rows of a token array are padding "
                   "(default: %(default)s)")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(out=args.out, n_samples=args.n_samples, random_state=args.random_state)
        else:
            metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
            table = run_compare(args.a, args.b, metrics, key_a=args.key_a, key_b=args.key_b, cv=args.cv,
                                out=args.out, report=args.report, random_state=args.random_state,
                                reduce=args.reduce, permutations=args.permutations, bootstrap=args.bootstrap)
            if table["in_sample"].isna().all():
                print("skalign: error: no metric could be computed (the reasons are in the table)",
                      file=sys.stderr)
                return 1
    except CLIError as exc:
        print(f"skalign: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
