"""Every paired estimator on data as users hold it.

Each draw builds two related representations of n = 2..60 samples and d = 1..80
features, then passes them as one of: float64 scaled by 1e-150..1e150 and shifted
by up to 1e8 x their spread; float32 scaled by 1e-30..1e30 and shifted by up to
1e4 x spread; float16; integers; booleans; nullable ``Float64`` and pyarrow
``double[pyarrow]`` DataFrames. The estimator must then either

* return a finite score inside its declared ``score_range`` that equals the score
  of the *same values* passed as float64 (the number the formula gives for the
  values passed), and, for float64 input, the score of the unscaled, unshifted
  data wherever translation and isotropic scaling are declared invariances; or
* raise a ValueError or TypeError whose message names the argument at fault.

Anything else (another exception, NaN, inf, a value out of range, a broken
invariance, an error that names nothing) is a bad outcome. ``run_draw`` is shared
with ``benchmarks/audit_robustness.py``, which runs many more draws and counts
the outcomes.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from skalign.base import BasePairedScorer
from skalign.utils import all_estimators

PAIRED = {n: c for n, c in all_estimators() if issubclass(c, BasePairedScorer)}

VARIANTS = ("float64", "float32", "float16", "int", "bool", "nullable", "pyarrow")

# tolerance of the float32 score against the float64 score of the same values: the
# input is exact in both, only the arithmetic differs
TOL = {"float64": 1e-9, "float32": 2e-3, "float16": 2e-3}
# tolerance of a declared invariance in float64 (a shift of 1e8 x spread keeps ~27 bits)
TOL_INVARIANCE = 1e-5

_NAMED = re.compile(r"(?<![A-Za-z_])(X|Y|y|PX|PY|Xs|Ys)(?![A-Za-z_])")


def _names_argument(message, est):
    if _NAMED.search(message):
        return True
    return any(p in message for p in est.get_params())


def _related_pair(rng, n, dx, dy):
    rank = int(rng.integers(1, 6))
    Z = rng.normal(size=(n, rank))
    X = Z @ rng.normal(size=(rank, dx)) + 0.3 * rng.normal(size=(n, dx))
    Y = Z @ rng.normal(size=(rank, dy)) + 0.3 * rng.normal(size=(n, dy))
    return X, Y


def _as_variant(A, variant, scale, offset):
    """The values the user passes, and the same values as a float64 array."""
    if variant in ("float64", "float32"):
        dtype = np.float64 if variant == "float64" else np.float32
        spread = A.std() or 1.0
        V = (A * scale + offset * spread * scale).astype(dtype)
        return V, V.astype(np.float64)
    if variant == "float16":
        V = A.astype(np.float16)
        return V, V.astype(np.float64)
    if variant == "int":
        V = np.round(A * 4).astype(np.int64)
        return V, V.astype(np.float64)
    if variant == "bool":
        V = A > np.median(A, axis=0)
        return V, V.astype(np.float64)
    frame = pd.DataFrame(A, columns=[f"u{j}" for j in range(A.shape[1])])
    if variant == "nullable":
        return frame.astype("Float64"), A.copy()
    return frame.astype("double[pyarrow]"), A.copy()


def _score(est, X, Y):
    from sklearn.base import clone

    e = clone(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return e.fit(X, Y).score(X, Y)


def _outcome(est, X, Y):
    """('ok', value) or ('error', exception)."""
    try:
        return "ok", _score(est, X, Y)
    except (ValueError, TypeError) as exc:
        return "error", exc


def run_draw(name, rng):
    """One random draw for estimator ``name``; returns (verdict, detail).

    verdict is 'ok', 'refused' (a clear error) or 'bad'.
    """
    est = PAIRED[name]()
    n = int(rng.integers(2, 61))
    dx, dy = (int(v) for v in rng.integers(1, 81, size=2))
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    if variant == "float64":
        scale = 10.0 ** rng.uniform(-150, 150)
        offset = rng.choice([0.0, 10.0 ** rng.uniform(0, 8)])
    elif variant == "float32":
        scale = 10.0 ** rng.uniform(-30, 30)
        offset = rng.choice([0.0, 10.0 ** rng.uniform(0, 4)])
    else:
        scale, offset = 1.0, 0.0
    X0, Y0 = _related_pair(rng, n, dx, dy)
    Xv, Xf = _as_variant(X0, variant, scale, offset)
    Yv, Yf = _as_variant(Y0, variant, scale, offset)
    where = f"{name} n={n} dx={dx} dy={dy} {variant} scale={scale:.3g} offset={offset:.3g}"
    try:
        kind, got = _outcome(est, Xv, Yv)
    except Exception as exc:  # anything but a clear ValueError/TypeError
        return "bad", f"{where}: {type(exc).__name__}: {exc}"
    if kind == "error":
        if not _names_argument(str(got), est):
            return "bad", f"{where}: error names no argument: {got}"
        # a refusal is right only where the same values as float64 are refused too, and,
        # for a declared scale- and shift-invariant measure, the unscaled data as well
        try:
            ref_kind, ref = _outcome(est, Xf, Yf)
            if ref_kind == "ok" and variant != "float64":
                return "bad", f"{where}: refused ({got}) but the same values in float64 score {ref}"
            invariances = set(est.metadata()["invariances"])
            if variant == "float64" and {"translation", "isotropic_scaling"} <= invariances:
                base_kind, base = _outcome(est, X0, Y0)
                if base_kind == "ok":
                    return "bad", f"{where}: refused ({got}) but unit-scale data score {base}"
        except Exception as exc:
            return "bad", f"{where}: {type(exc).__name__}: {exc}"
        return "refused", f"{where}: {got}"
    lo, hi = est.metadata()["score_range"]
    if not np.isfinite(got) or not (lo - 1e-9 <= got <= hi + 1e-9):
        return "bad", f"{where}: score {got!r} outside {est.metadata()['score_range']}"
    try:
        kind, ref = _outcome(est, Xf, Yf)
    except Exception as exc:
        return "bad", f"{where}: float64 copy raised {type(exc).__name__}: {exc}"
    if kind == "error":
        return "bad", f"{where}: {variant} scored {got} but the same values in float64 raise: {ref}"
    tol = TOL.get(variant, 1e-9)
    if abs(got - ref) > tol:
        return "bad", f"{where}: {got} != {ref} for the same values in float64"
    invariances = set(est.metadata()["invariances"])
    if variant == "float64" and {"translation", "isotropic_scaling"} <= invariances:
        kind, base = _outcome(est, X0, Y0)
        if kind == "ok" and abs(got - base) > TOL_INVARIANCE:
            return "bad", f"{where}: {got} != {base} at unit scale and no offset"
    return "ok", f"{where}: {got}"


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.mark.parametrize("name", sorted(PAIRED))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(seed=st.integers(0, 2**32 - 1))
def test_paired_scorer_never_returns_a_silent_wrong_number(name, seed):
    verdict, detail = run_draw(name, np.random.default_rng(seed))
    assert verdict != "bad", detail


def test_names_argument_recognises_messages():
    from skalign import CKAScorer

    est = CKAScorer()
    assert _names_argument("X has zero variance", est)
    assert _names_argument("kernel must be 'linear'", est)
    assert not _names_argument("division by zero", est)
