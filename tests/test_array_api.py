"""Array API path of linear CKA, the shape metrics and ridge (CuPy / PyTorch input stays on its device).

scikit-learn allows ``array_api_dispatch=True`` only when ``SCIPY_ARRAY_API=1`` was
set before scipy was imported, which a normal test session cannot arrange
afterwards. So, without that variable, one test re-runs this file in a subprocess
with it set (CI then really exercises the path); with it, the tests below run
directly. CPU stand-ins for a GPU library: ``array_api_strict`` (the standard's
reference, which refuses anything outside it) and CPU PyTorch.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

IN_ARRAY_API_ENV = os.environ.get("SCIPY_ARRAY_API") == "1"


@pytest.mark.skipif(IN_ARRAY_API_ENV, reason="SCIPY_ARRAY_API=1 is set: the tests run in this process")
def test_array_api_suite_in_subprocess():
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-rs"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


needs_env = pytest.mark.skipif(
    not IN_ARRAY_API_ENV,
    reason="needs SCIPY_ARRAY_API=1 before scipy is imported; run by test_array_api_suite_in_subprocess",
)

if IN_ARRAY_API_ENV:
    import sklearn

    from skalign.estimators.kernels import CKAScorer
    from skalign.estimators.regression import LinearRegressionScorer
    from skalign.estimators.shape import ProcrustesScorer
    from skalign.kernels import cka, hsic, prepare_cka
    from skalign.regression import ridge_regression_score
    from skalign.shape import prepare_shape, procrustes_score

# (library, dtype name, tolerance)
BACKENDS = [
    ("array_api_strict", "float64", 1e-10),
    ("torch", "float64", 1e-10),
    ("torch", "float32", 1e-4),
]


def _lib(name):
    return pytest.importorskip(name, reason=f"{name} is not installed (pip install {name.replace('_', '-')})")


def _to(a, lib, dtype):
    mod = _lib(lib)
    return mod.asarray(np.ascontiguousarray(a), dtype=getattr(mod, dtype))


@pytest.fixture
def dispatch():
    with sklearn.config_context(array_api_dispatch=True):
        yield


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 12)) + 3.0
    Y = X @ rng.normal(size=(12, 7)) + 2.0 * rng.normal(size=(80, 7))
    return X, Y


def _linear_cka_brute(X, Y):
    # written differently from skalign: n x n Gram matrices and the centring matrix H
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))


def _procrustes_brute(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    return np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum() / (np.linalg.norm(Xc) * np.linalg.norm(Yc))


def _is_lib(a, lib):
    return type(a).__module__.split(".")[0] == lib


# --------------------------------------------------------------------------- CKA
@needs_env
@pytest.mark.parametrize("lib,dtype,tol", BACKENDS)
def test_linear_cka_matches_numpy(dispatch, data, lib, dtype, tol):
    X, Y = data
    Xt, Yt = _to(X, lib, dtype), _to(Y, lib, dtype)
    wide = np.random.default_rng(1).normal(size=(20, 30))  # d >= n: the Gram route
    with sklearn.config_context(array_api_dispatch=False):
        ref = {
            "biased": cka(X, Y),
            "debiased": cka(X, Y, debiased=True),
            "gram": cka(X, Y, method="gram"),
            "wide": cka(wide, X[:20]),
            "hsic": hsic(X, Y, debiased=True),
            "scorer": CKAScorer().fit(X, Y).score(X, Y),
            "scorer_deb": CKAScorer(debiased=True).fit(X, Y).score(X, Y),
        }
    got = {
        "biased": cka(Xt, Yt),
        "debiased": cka(Xt, Yt, debiased=True),
        "gram": cka(Xt, Yt, method="gram"),
        "wide": cka(_to(wide, lib, dtype), _to(X[:20], lib, dtype)),
        "hsic": hsic(Xt, Yt, debiased=True),
        "scorer": CKAScorer().fit(Xt, Yt).score(Xt, Yt),
        "scorer_deb": CKAScorer(debiased=True).fit(Xt, Yt).score(Xt, Yt),
    }
    for key in ref:
        assert type(got[key]) is float, key
        assert got[key] == pytest.approx(ref[key], rel=tol, abs=tol), key
    assert got["biased"] == pytest.approx(_linear_cka_brute(X, Y), abs=max(tol, 1e-12))


@needs_env
@pytest.mark.parametrize("lib,dtype,tol", BACKENDS)
def test_cka_prepared_data_stays_in_its_library(dispatch, data, lib, dtype, tol):
    X, _ = data
    P = prepare_cka(_to(X, lib, dtype), debiased=True)
    assert _is_lib(P.features, lib) and _is_lib(P.diag, lib)
    # prepared for biased CKA: no row norms, until a debiased combine asks for them
    Pb = prepare_cka(_to(X, lib, dtype))
    assert Pb.diag is None
    from skalign._hsic import with_unbiased_terms

    assert _is_lib(with_unbiased_terms(Pb).diag, lib)
    assert P.features.dtype == getattr(_lib(lib), dtype)  # products stay in the input precision
    scorer = CKAScorer()
    assert scorer.combine(scorer.prepare(_to(X, lib, dtype)), scorer.prepare(_to(X[:, ::-1], lib, dtype))) \
        == pytest.approx(1.0, abs=tol)


@needs_env
def test_cka_rbf_runs_on_a_host_copy(dispatch, data):
    torch = _lib("torch")
    X, Y = data
    with sklearn.config_context(array_api_dispatch=False):
        ref = cka(X, Y, kernel="rbf")
    assert cka(torch.asarray(X), torch.asarray(Y), kernel="rbf") == pytest.approx(ref, abs=1e-12)


@needs_env
def test_streaming_and_minibatch_accept_torch_input(dispatch, data):
    torch = _lib("torch")
    from skalign.streaming import minibatch_cka

    X, Y = data
    with sklearn.config_context(array_api_dispatch=False):
        ref_stream = CKAScorer(debiased=True).partial_fit(X[:30], Y[:30]).partial_fit(X[30:], Y[30:]).cka_
        ref_mb = minibatch_cka(X, Y, batch_size=20, random_state=0)
    Xt, Yt = torch.asarray(X), torch.asarray(Y)
    est = CKAScorer(debiased=True).partial_fit(Xt[:30], Yt[:30]).partial_fit(Xt[30:], Yt[30:])
    assert est.cka_ == pytest.approx(ref_stream, abs=1e-12)
    assert minibatch_cka(Xt, Yt, batch_size=20, random_state=0) == pytest.approx(ref_mb, abs=1e-12)
    Xt = Xt.clone()
    Xt[0, 0] = float("nan")
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        CKAScorer().partial_fit(Xt, Yt)


@needs_env
@pytest.mark.parametrize("lib,dtype,scales", [
    ("torch", "float64", [1e-150, 1e150]),
    ("array_api_strict", "float64", [1e-150, 1e150]),
    ("torch", "float32", [1e-30, 1e30]),
])
def test_cka_on_the_device_is_free_of_scale(dispatch, data, lib, dtype, scales):
    X, Y = data
    with sklearn.config_context(array_api_dispatch=False):
        ref = {deb: cka(X, Y, debiased=deb) for deb in (False, True)}
        ref_gram = cka(X[:20], Y[:20, :5] @ np.ones((5, 30)) + X[:20, :1], method="gram")
    tol = 1e-10 if dtype == "float64" else 1e-5
    for scale in scales:
        Xt, Yt = _to(scale * X, lib, dtype), _to(Y, lib, dtype)
        for deb in (False, True):
            assert cka(Xt, Yt, debiased=deb) == pytest.approx(ref[deb], abs=tol), (scale, deb)
        wide = _to(scale * (Y[:20, :5] @ np.ones((5, 30)) + X[:20, :1]), lib, dtype)
        assert cka(_to(scale * X[:20], lib, dtype), wide, method="gram") == pytest.approx(ref_gram, abs=tol)


@needs_env
def test_debiased_rbf_on_a_host_copy_matches_numpy(dispatch, data):
    torch = _lib("torch")
    X, Y = data
    with sklearn.config_context(array_api_dispatch=False):
        ref = cka(X, Y, kernel="rbf", sigma_fraction=0.2, debiased=True)
    got = cka(torch.asarray(X), torch.asarray(Y), kernel="rbf", sigma_fraction=0.2, debiased=True)
    assert got == pytest.approx(ref, abs=1e-12)


# --------------------------------------------------------------------------- shape metrics
SHAPE_SETTINGS = [
    {},
    {"alpha": 0.5},
    {"alpha": 0.0},
    {"width": "pca", "alpha": 0.3},
    {"score_method": "euclidean"},
]


@needs_env
@pytest.mark.parametrize("lib,dtype,tol", BACKENDS)
def test_procrustes_matches_numpy(dispatch, data, lib, dtype, tol):
    X, Y = data
    Xt, Yt = _to(X, lib, dtype), _to(Y, lib, dtype)
    train, test = slice(0, 50), slice(50, 80)
    for kw in SHAPE_SETTINGS:
        with sklearn.config_context(array_api_dispatch=False):
            ref_in = procrustes_score(X, Y, **kw)
            ref_out = ProcrustesScorer(**kw).fit(X[train], Y[train]).score(X[test], Y[test])
            ref_dist = ProcrustesScorer(**kw).fit(X[train], Y[train]).distance(X[test], Y[test])
        est = ProcrustesScorer(**kw).fit(Xt[train, :], Yt[train, :])
        got_in = procrustes_score(Xt, Yt, **kw)
        got_out = est.score(Xt[test, :], Yt[test, :])
        got_prep = est.combine(est.prepare(Xt), est.prepare(Yt, "Y"))
        assert type(got_in) is float and type(got_out) is float
        assert got_in == pytest.approx(ref_in, abs=tol), kw
        assert got_prep == pytest.approx(ref_in, abs=tol), kw
        assert got_out == pytest.approx(ref_out, abs=tol), kw
        assert est.distance(Xt[test, :], Yt[test, :]) == pytest.approx(ref_dist, abs=10 * tol), kw
        assert _is_lib(est.rotation_, lib), kw
    assert procrustes_score(Xt, Yt) == pytest.approx(_procrustes_brute(X, Y), abs=max(tol, 1e-12))


@needs_env
@pytest.mark.parametrize("lib,dtype,tol", BACKENDS[:2])
def test_shape_prepared_data_stays_in_its_library(dispatch, data, lib, dtype, tol):
    X, _ = data
    P = prepare_shape(_to(X, lib, dtype), alpha=0.5)
    assert _is_lib(P.Z, lib)
    Pp = prepare_shape(_to(X, lib, dtype), width="pca")
    assert _is_lib(Pp.Z, lib) and _is_lib(Pp.eigvals, lib)


@needs_env
def test_shape_whitening_errors_match_numpy(dispatch):
    torch = _lib("torch")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4))
    X = np.hstack([X, X[:, :1]])  # a collinear column: singular covariance
    Y = rng.normal(size=(30, 5))
    with sklearn.config_context(array_api_dispatch=False):
        with pytest.raises(ValueError) as ref:
            procrustes_score(X, Y, alpha=0.0)
    with pytest.raises(ValueError) as got:
        procrustes_score(torch.asarray(X), torch.asarray(Y), alpha=0.0)
    assert str(got.value) == str(ref.value)
    assert "singular" in str(got.value)


# --------------------------------------------------------------------------- ridge
RIDGE_BACKENDS = [
    ("torch", "float64", 1e-10),
    ("torch", "float32", 1e-4),
    # array_api_strict: scikit-learn's RidgeCV(alpha_per_target=True) uses indexing outside the
    # standard, so only the shared-penalty settings are run there
    ("array_api_strict", "float64", 1e-10),
]


@needs_env
@pytest.mark.parametrize("lib,dtype,tol", RIDGE_BACKENDS)
def test_ridge_matches_numpy(dispatch, data, lib, dtype, tol):
    X, Y = data
    Xt, Yt = _to(X, lib, dtype), _to(Y, lib, dtype)
    train, test = slice(0, 50), slice(50, 80)
    settings = [{}, {"symmetric": True}]
    if lib == "torch":
        settings.append({"alpha_per_target": True})
    for kw in settings:
        with sklearn.config_context(array_api_dispatch=False):
            ref_est = LinearRegressionScorer(**kw).fit(X[train], Y[train])
            ref = ref_est.score(X[test], Y[test])
            ref_fn = ridge_regression_score(X[train], Y[train], X[test], Y[test], **kw)
        est = LinearRegressionScorer(**kw).fit(Xt[train, :], Yt[train, :])
        got = est.score(Xt[test, :], Yt[test, :])
        got_fn = ridge_regression_score(Xt[train, :], Yt[train, :], Xt[test, :], Yt[test, :], **kw)
        assert type(got) is float
        assert got == pytest.approx(ref, abs=tol), kw
        assert got_fn == pytest.approx(ref_fn, abs=tol), kw
        assert _is_lib(est.model_.coef_, lib), kw
        # the chosen relative penalty comes back to the host, as NumPy (PyTorch keeps
        # per-target penalties in float32, hence the tolerance)
        np.testing.assert_allclose(est.alpha_, ref_est.alpha_, rtol=1e-6)


@needs_env
def test_cross_val_score_with_torch_input(dispatch, data):
    torch = _lib("torch")
    from sklearn.model_selection import KFold, cross_val_score

    X, Y = data
    Xt, Yt = torch.asarray(X), torch.asarray(Y)
    cv = KFold(4, shuffle=True, random_state=0)
    scorers = [CKAScorer(), ProcrustesScorer(alpha=0.5), LinearRegressionScorer()]
    for scorer in scorers:
        with sklearn.config_context(array_api_dispatch=False):
            ref = cross_val_score(scorer, X, Y, cv=cv)
        np.testing.assert_allclose(cross_val_score(scorer, Xt, Yt, cv=cv), ref, atol=1e-10)
    # RidgeCV with an explicit splitter: scikit-learn switches Ridge to its 'svd' solver and warns
    with pytest.warns(UserWarning, match="svd"):
        got = LinearRegressionScorer(cv=3).fit(Xt, Yt).score(Xt, Yt)
    with sklearn.config_context(array_api_dispatch=False):
        assert got == pytest.approx(LinearRegressionScorer(cv=3).fit(X, Y).score(X, Y), abs=1e-10)


# --------------------------------------------------------------------------- bad input
def _error(fn, *args):
    with pytest.raises((ValueError, TypeError)) as info:
        fn(*args)
    return info.type, str(info.value)


@needs_env
@pytest.mark.parametrize("lib", ["array_api_strict", "torch"])
def test_dispatched_errors_equal_numpy_errors(dispatch, data, lib):
    X, Y = data
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    cases = {
        "nan": (X_nan, Y),
        "inf": (X_inf, Y),
        "rows": (X, Y[:-1]),
        "one_d": (X[:, 0], Y),
        "one_row": (X[:1], Y[:1]),
        "constant": (np.ones_like(X), Y),
    }
    fns = {
        "cka": cka,
        "cka_scorer": lambda A, B: CKAScorer().fit(A, B),
        "procrustes": procrustes_score,
        "procrustes_scorer": lambda A, B: ProcrustesScorer().fit(A, B),
        "ridge_scorer": lambda A, B: LinearRegressionScorer().fit(A, B),
    }
    for case, (A, B) in cases.items():
        for fname, fn in fns.items():
            with sklearn.config_context(array_api_dispatch=False):
                ref = _error(fn, A, B)
            got = _error(fn, _to(A, lib, "float64"), _to(B, lib, "float64"))
            assert got == ref, (case, fname)
    assert "1 NaN" in _error(cka, _to(X_nan, lib, "float64"), _to(Y, lib, "float64"))[1]
    assert "80 != 79 rows" in _error(cka, _to(X, lib, "float64"), _to(Y[:-1], lib, "float64"))[1]


@needs_env
def test_mixed_libraries_are_refused(dispatch, data):
    torch = _lib("torch")
    X, Y = data
    with pytest.raises(TypeError, match="different array libraries"):
        cka(X, torch.asarray(Y))
    with pytest.raises(TypeError, match="different array libraries"):
        ProcrustesScorer().fit(torch.asarray(X), Y)
    with pytest.raises(TypeError, match="library .and device. used in fit"):
        ProcrustesScorer().fit(torch.asarray(X), torch.asarray(Y)).score(X, Y)
    with pytest.raises(TypeError, match="different libraries"):
        scorer = ProcrustesScorer()
        scorer.combine(scorer.prepare(X), scorer.prepare(torch.asarray(Y)))
    with pytest.raises(TypeError, match="same library"):
        scorer = CKAScorer()
        scorer.combine(scorer.prepare(X), scorer.prepare(torch.asarray(Y)))


@needs_env
def test_integer_input_becomes_float(dispatch):
    torch = _lib("torch")
    rng = np.random.default_rng(3)
    X = rng.integers(0, 10, size=(40, 5))
    Y = X @ rng.integers(-3, 4, size=(5, 4)) + rng.integers(0, 3, size=(40, 4))
    with sklearn.config_context(array_api_dispatch=False):
        ref = cka(X, Y)
    assert cka(torch.asarray(X), torch.asarray(Y)) == pytest.approx(ref, abs=1e-12)


@needs_env
def test_numpy_input_keeps_the_numpy_path(dispatch, data):
    X, Y = data
    P = prepare_cka(X)
    assert isinstance(P.features, np.ndarray)
    assert isinstance(ProcrustesScorer().fit(X, Y).rotation_, np.ndarray)


# --------------------------------------------------------------------------- GPU
def _cuda_available():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@needs_env
@pytest.mark.skipif(not _cuda_available(), reason="no CUDA device (torch.cuda.is_available() is False): "
                    "the on-GPU check runs only on a machine with one")
def test_cuda_tensors_stay_on_the_gpu(dispatch, data):
    import torch

    X, Y = data
    Xg = torch.asarray(X, dtype=torch.float32, device="cuda")
    Yg = torch.asarray(Y, dtype=torch.float32, device="cuda")
    with sklearn.config_context(array_api_dispatch=False):
        ref_cka = cka(X, Y)
        ref_proc = procrustes_score(X, Y, alpha=0.5)
        ref_ridge = LinearRegressionScorer().fit(X, Y).score(X, Y)
    P = prepare_cka(Xg)
    assert P.features.device.type == "cuda"
    assert CKAScorer().fit(Xg, Yg).score(Xg, Yg) == pytest.approx(ref_cka, abs=1e-4)
    est = ProcrustesScorer(alpha=0.5).fit(Xg, Yg)
    assert est.rotation_.device.type == "cuda"
    assert est.transform_x_.matrix.device.type == "cuda"
    assert est.score(Xg, Yg) == pytest.approx(ref_proc, abs=1e-4)
    ridge = LinearRegressionScorer().fit(Xg, Yg)
    assert ridge.model_.coef_.device.type == "cuda"
    assert ridge.score(Xg, Yg) == pytest.approx(ref_ridge, abs=1e-4)
