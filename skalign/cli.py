"""The ``skalign`` command line: ``skalign demo`` and ``skalign compare A B``."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

__all__ = ["main", "load_representation", "COMPARE_METRICS"]


class CLIError(Exception):
    """An error reported to the user as one line, without a traceback."""


# name -> (estimator class name in skalign, constructor kwargs, one-line reading guide)
COMPARE_METRICS = {
    "tas": ("TopologicalAlignmentSpectrum", {}, "mean TAS over all k: 1 = same neighbourhoods, 0 = chance, < 0 anti-aligned"),
    "tas10": ("TopologicalAlignmentSpectrum", {"n_neighbors": 10}, "TAS at k=10: agreement of the most local neighbourhoods"),
    "cka": ("CKAScorer", {}, "linear CKA in [0, 1]: global similarity up to rotation and isotropic scale"),
    "procrustes": ("ProcrustesScorer", {}, "cos of the angular Procrustes distance: 1 = equal up to rotation (in [0, 1] on fitted rows)"),
    "cca": ("ProcrustesScorer", {"alpha": 0.0}, "cos of the CCA shape distance (whitened): invariant to invertible linear maps"),
    "ridge": ("LinearRegressionScorer", {}, "mean held-out R^2 of predicting Y from X (higher = more linearly predictable)"),
    "soft_matching": ("SoftMatchingScorer", {}, "mean correlation of units under the optimal soft matching"),
    "information_imbalance": ("InformationImbalance", {}, "1 - mean information imbalance: 1 = neighbourhoods predict each other"),
}
DEFAULT_METRICS = ("tas", "tas10", "cka", "procrustes")


def _estimator(metric):
    import skalign

    cls_name, kwargs, _ = COMPARE_METRICS[metric]
    return getattr(skalign, cls_name)(**kwargs)


# ---------------------------------------------------------------- file reading
def load_representation(spec, key=None):
    """Read a 2-D representation from ``.npy``, ``.npz`` (with ``key``), ``.csv`` or ``.parquet``.

    ``spec`` may carry the npz key after a colon: ``acts.npz:layer3``.
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
            arr = pd.read_csv(path)
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
def run_compare(a, b, metrics, key_a=None, key_b=None, cv=0, out=None, report="skalign_compare.png",
                random_state=0, stream=None):
    from sklearn.model_selection import KFold, cross_val_score

    from skalign._validation import check_paired

    stream = stream or sys.stdout
    A = load_representation(a, key_a)
    B = load_representation(b, key_b)
    try:
        A, B = check_paired(A, B, min_samples=4, names=(os.path.basename(a), os.path.basename(b)))
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    if metrics == ["all"]:
        metrics = list(COMPARE_METRICS)
    unknown = [m for m in metrics if m not in COMPARE_METRICS]
    if unknown:
        raise CLIError(f"unknown metric(s) {unknown}; choose from {list(COMPARE_METRICS)} or 'all'")
    rows, spectrum = [], None
    for m in metrics:
        est = _estimator(m)
        try:
            row = {"metric": m, "in_sample": est.fit(A, B).score(A, B)}
            if m == "tas":
                spectrum = est  # the full spectrum, reused for the report
            if cv:
                s = cross_val_score(est, A, B, cv=KFold(cv, shuffle=True, random_state=random_state))
                row.update(cv_mean=s.mean(), cv_std=s.std())
        except (ValueError, TypeError, ImportError) as exc:
            raise CLIError(f"{m}: {exc}") from None
        row["range"] = "[{:g}, {:g}]".format(*est.score_range)
        row["how to read"] = COMPARE_METRICS[m][2]
        rows.append(row)
    table = pd.DataFrame(rows).set_index("metric")
    print(f"{a} {A.shape} vs {b} {B.shape}\n", file=stream)
    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        print(table.to_string(float_format=lambda v: f"{v:.4f}"), file=stream)
    out = out or "skalign_compare.csv"
    table.to_csv(out)
    print(f"\nTable written to {os.path.abspath(out)}", file=stream)
    if report:
        path = _write_report(report, table, spectrum, A, B, a, b, cv)
        if path is None:
            print("(install matplotlib, `pip install skalign[plot]`, to also get the PNG report)", file=stream)
        else:
            print(f"Report written to {path}", file=stream)
    return table


def _write_report(path, table, spectrum, A, B, name_a, name_b, cv):
    """One PNG: the TAS spectrum beside the scores (with their CV spread) and how to read them."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    import textwrap

    from skalign import TopologicalAlignmentSpectrum
    from skalign.plotting import plot_spectrum

    if spectrum is None:
        spectrum = TopologicalAlignmentSpectrum().fit(A, B)
    fig = plt.figure(figsize=(11, 4.4 + 0.16 * len(table)))
    grid = fig.add_gridspec(2, 2, height_ratios=[3, 0.14 * len(table) + 0.3])
    ax = fig.add_subplot(grid[0, 0])
    plot_spectrum(spectrum, ax=ax, label="TAS")
    ax.set_title("Topological Alignment Spectrum (1 = same neighbours, 0 = chance)", fontsize=9)
    ax2 = fig.add_subplot(grid[0, 1])
    ypos = np.arange(len(table))[::-1]
    ax2.barh(ypos + 0.18, table["in_sample"], height=0.35, label="all rows", color="0.6")
    if "cv_mean" in table:
        ax2.barh(ypos - 0.18, table["cv_mean"], height=0.35, xerr=table["cv_std"], capsize=3,
                 label=f"held out ({cv}-fold mean ± sd)", color="C0")
    ax2.set_yticks(ypos, table.index)
    ax2.axvline(0, color="0.3", lw=0.8)
    ax2.set_xlabel("score (higher = more aligned)")
    ax2.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    text = fig.add_subplot(grid[1, :])
    text.axis("off")
    lines = [f"{name_a} {A.shape} vs {name_b} {B.shape}"]
    lines += [textwrap.shorten(f"{m} (range {r}): {how}", 150) for m, r, how in
              zip(table.index, table["range"], table["how to read"])]
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
    d.add_argument("--random-state", type=int, default=0)
    c = sub.add_parser("compare", help="compare two representation files",
                       description="Compare two representations of the same samples (row i = stimulus i). "
                       "Files: .npy, .npz (name the array as FILE.npz:KEY or with --key-a/--key-b), .csv "
                       "(numeric columns, header row), .parquet.")
    c.add_argument("a", help="first representation file")
    c.add_argument("b", help="second representation file")
    c.add_argument("--key-a", help="array name inside an .npz for A")
    c.add_argument("--key-b", help="array name inside an .npz for B")
    c.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                   help=f"comma-separated, from {', '.join(COMPARE_METRICS)}, or 'all' (default: %(default)s)")
    c.add_argument("--cv", type=int, default=0, help="also report K-fold held-out scores (mean, std)")
    c.add_argument("--out", help="where to save the table as CSV (default: skalign_compare.csv)")
    c.add_argument("--report", default="skalign_compare.png",
                   help="PNG report: TAS spectrum, scores with their CV spread, how to read each "
                   "(default: %(default)s; needs matplotlib; '' to skip)")
    c.add_argument("--random-state", type=int, default=0)
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(out=args.out, n_samples=args.n_samples, random_state=args.random_state)
        else:
            metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
            run_compare(args.a, args.b, metrics, key_a=args.key_a, key_b=args.key_b, cv=args.cv,
                        out=args.out, report=args.report, random_state=args.random_state)
    except CLIError as exc:
        print(f"skalign: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
