"""Plots of skalign results; matplotlib is imported only when a plot is drawn."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_spectrum"]

_X_AXES = ("k", "fraction")


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib, which skalign installs with the 'plot' extra: "
            "pip install 'skalign[plot]' (or pip install matplotlib)."
        ) from exc
    return plt


def _spectrum_columns(spectrum, n_samples):
    """(k, tas, chance-free p-values, n) from a fitted estimator, a DataFrame or a Bunch."""
    if hasattr(spectrum, "spectrum_"):  # fitted TopologicalAlignmentSpectrum
        k, tas = spectrum.ks_, spectrum.spectrum_
        pv = getattr(spectrum, "pvalues_", None)
        n = spectrum.n_samples_fit_ if n_samples is None else n_samples
        return np.asarray(k), np.asarray(tas), pv, n
    if hasattr(spectrum, "columns"):  # DataFrame from .spectrum()
        k, tas = spectrum["k"].to_numpy(), spectrum["tas"].to_numpy()
        pv = spectrum["p_value"].to_numpy() if "p_value" in spectrum.columns else None
        if pv is not None and np.isnan(pv).all():
            pv = None
        return k, tas, pv, n_samples
    try:  # Bunch from skalign.spectrum.tas_spectrum, or a mapping
        k, tas = spectrum["k"], spectrum["tas"]
    except (TypeError, KeyError):
        raise TypeError(
            "spectrum must be a fitted TopologicalAlignmentSpectrum, the DataFrame of its "
            "spectrum() "
            f"method, or the result of skalign.metrics.tas_spectrum; got {type(spectrum).__name__}."
        ) from None
    pv = spectrum.get("p_value") if hasattr(spectrum, "get") else None
    n = (
        spectrum.get("n_samples", n_samples)
        if n_samples is None and hasattr(spectrum, "get")
        else n_samples
    )
    return np.asarray(k), np.asarray(tas), pv, n


def plot_spectrum(
    spectrum, *, x="k", n_samples=None, ax=None, alpha=0.05, label=None, logx=None, **line_kw
):
    """Draw a Topological Alignment Spectrum: TAS against k or k/n.

    Parameters
    ----------
    spectrum : fitted TopologicalAlignmentSpectrum, DataFrame or Bunch
        A fitted estimator, the table of its ``spectrum`` method, or the result of
        :func:`skalign.metrics.tas_spectrum`.
    x : {'k', 'fraction'}, default='k'
        Horizontal axis: the neighbourhood size, or ``k / n``, which puts spectra of
        different sample sizes on one scale.
    n_samples : int or None
        n for ``x='fraction'`` when ``spectrum`` does not carry it (a DataFrame).
    ax : matplotlib Axes or None
        Axes to draw on; None uses the current ones.
    alpha : float, default=0.05
        Sizes with a permutation p-value at most ``alpha`` are marked (when p-values
        are present).
    label : str or None
        Legend label of the curve.
    logx : bool or None
        Logarithmic k axis; None chooses it when k spans more than two decades.
    **line_kw
        Passed to ``ax.plot``.

    Returns
    -------
    ax : matplotlib Axes
    """
    if x not in _X_AXES:
        raise ValueError(f"x must be one of {_X_AXES}; got {x!r}.")
    plt = _import_pyplot()
    k, tas, pv, n = _spectrum_columns(spectrum, n_samples)
    if x == "fraction":
        if n is None:
            raise ValueError("x='fraction' needs n_samples when spectrum is a DataFrame.")
        xs, xlabel = k / float(n), "k / n"
    else:
        xs, xlabel = k, "neighbourhood size k"
    if ax is None:
        ax = plt.gca()
    (line,) = ax.plot(xs, tas, label=label, **line_kw)
    if pv is not None:
        sig = np.asarray(pv) <= alpha
        if sig.any():
            ax.plot(
                xs[sig],
                tas[sig],
                "o",
                ms=3,
                color=line.get_color(),
                label=f"p <= {alpha:g}" if label is None else f"{label}, p <= {alpha:g}",
            )
    ax.axhline(0.0, color="0.6", lw=0.8, ls="--")
    if logx is None:
        logx = k.size > 1 and k.max() / max(k.min(), 1) > 100
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("TAS(k)")
    ax.set_ylim(min(-0.1, float(np.min(tas)) - 0.05), 1.05)
    if label is not None or pv is not None:
        ax.legend(loc="best")
    return ax
