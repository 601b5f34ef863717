"""Before/after check: every public function and estimator gives the same numbers.

Runs every callable of ``skalign.metrics.__all__`` and every estimator of
``skalign.utils.all_estimators()`` on fixed seeded float64 data, once with the
code of a baseline git revision and once with the working tree, and compares the
results to ``--rtol`` (relative, default 1e-12) with an absolute floor ``--atol``
(default 1e-12) for values near zero.

How: a temporary ``git worktree`` of ``--baseline`` is created; this same script
then runs twice in a subprocess (``--worker``), with ``PYTHONPATH`` at that
worktree and at the working tree, each writing a pickle of plain results (numbers,
arrays, dicts) keyed by name; the parent diffs them, prints a table (name,
baseline, now, abs diff) and exits 1 on any mismatch. Each worker checks that the
``skalign`` it imported comes from the tree it was given.

Names that exist only in the working tree are listed as new (not a failure); a
name of the baseline that is gone is a failure (the public API must stay). A name
without a case in ``FUNCTION_CASES`` is a failure too, so that a new public
function cannot go unchecked: add a case, or add it to ``NOT_NUMERIC`` with the
reason. Known, intended number changes are listed in ``EXPECTED_CHANGES`` with
their reason; they are reported but do not fail the check.

Approximate search (pynndescent), cuML and Dask paths are not run: they are
randomised or need hardware, and their numbers are not part of this contract.

    python benchmarks/check_refactor.py                    # baseline 89c9324
    python benchmarks/check_refactor.py --baseline HEAD~3 --only cka,CKAScorer
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "89c9324"

#: name -> why its numbers may differ from the baseline (reported, not a failure)
EXPECTED_CHANGES = {
    # debiased RBF CKA now uses the direct unbiased HSIC estimator (zeroed diagonal of
    # the uncentred kernel); the old route lost O(n) terms to cancellation
    "cka[rbf,debiased]": "debiased RBF CKA: direct unbiased HSIC estimator",
    "rbf_cka[debiased]": "debiased RBF CKA: direct unbiased HSIC estimator",
    "hsic[rbf,debiased]": "debiased RBF HSIC: direct unbiased estimator",
    "prepare_cka[rbf,debiased]": "debiased RBF CKA: direct unbiased HSIC estimator",
    "combine_cka[rbf,debiased]": "debiased RBF CKA: direct unbiased HSIC estimator",
    "minibatch_cka[rbf]": "debiased RBF CKA (minibatch_cka is debiased by default): direct estimator",
    "MinibatchCKAAccumulator[rbf]": "debiased RBF CKA: direct unbiased HSIC estimator",
    "CKAScorer(kernel='rbf', debiased=True)": "debiased RBF CKA: direct unbiased HSIC estimator",
    # linear predictivity now averages R² over Y's columns weighted by their variance
    # (scikit-learn's multioutput='variance_weighted'); the baseline's uniform mean is
    # still available as multioutput='uniform_average'
    **{label: "ridge R²: variance-weighted average over columns by default" for label in (
        "LinearRegressionScorer()", "LinearRegressionScorer(alpha_per_target=True)",
        "LinearRegressionScorer(cv=3)", "LinearRegressionScorer(symmetric=True)", "ridge_r2",
        "ridge_regression_score[held out]", "ridge_regression_score[in sample]",
        "ridge_regression_score[symmetric]")},
}

#: public callables of skalign.metrics that return no number to compare
NOT_NUMERIC = {
    "PreparedKernel": "a dataclass; checked through prepare_cka/combine_cka",
    "PreparedShape": "a dataclass; checked through prepare_shape/combine_shape",
    "PreparedNeighborhoods": "a container; checked through prepare/combine_neighborhoods",
    "ShapeTransform": "a dataclass; checked through fit_shape_transform",
    "ShapeAlignment": "a dataclass; checked through combine_shape",
    "ComplexityDecay": "a named tuple; checked through complexity_decay",
}


# ----------------------------------------------------------------- the data
def make_data():
    """Fixed, seeded float64 data (small, so that the whole check takes seconds)."""
    rng = np.random.default_rng(20260101)
    n, n_train = 90, 60
    Z = rng.normal(size=(n, 3))
    X = np.tanh(Z @ rng.normal(size=(3, 8))) + 0.1 * rng.normal(size=(n, 8))
    Y = Z @ rng.normal(size=(3, 6)) + 0.3 * rng.normal(size=(n, 6))
    # units (columns) of W are a noisy permutation of X's: a matching has something to find
    W = X[:, rng.permutation(8)] + 0.2 * rng.normal(size=(n, 8))
    # images: blurred random fields on a 10 x 10 grid
    from scipy import ndimage

    images = np.stack([ndimage.gaussian_filter(rng.normal(size=(10, 10)), 1.2) for _ in range(16)])
    # point clouds: noisy circles in R^3 of random radius
    clouds = []
    for _ in range(6):
        t = rng.uniform(0, 2 * np.pi, 40)
        r = rng.uniform(0.5, 2.0)
        clouds.append(np.c_[r * np.cos(t), r * np.sin(t), np.zeros(40)] + 0.1 * rng.normal(size=(40, 3)))
    # a small network's conv layers: (n, C, H, W), shrinking with depth
    layers = {f"conv{i}": np.abs(rng.normal(size=(8, 2, 8 - 2 * i, 8 - 2 * i))).cumsum(axis=-1)
              for i in range(3)}
    return {"X": X, "Y": Y, "W": W, "train": slice(0, n_train), "test": slice(n_train, n),
            "images": images, "clouds": clouds, "layers": layers}


# ----------------------------------------------------------------- cases
def _function_cases():
    """name -> (metrics function name, callable(m, D)); m is skalign.metrics."""
    C = {}

    def case(label, name=None):
        def register(fn):
            C[label] = (name or label.split("[")[0], fn)
            return fn
        return register

    # spectrum
    for k in (None, 10, [3, 10, 40]):
        for chance in ("paper", "exact"):
            tag = f"[k={k},{chance}]"
            C["tas_spectrum" + tag] = ("tas_spectrum", lambda m, D, k=k, c=chance: m.tas_spectrum(
                D["X"], D["Y"], k, chance=c))
            C["tas_score" + tag] = ("tas_score", lambda m, D, k=k, c=chance: m.tas_score(
                D["X"], D["Y"], k, chance=c))
    C["tas_score[max,cosine]"] = ("tas_score", lambda m, D: m.tas_score(D["X"], D["Y"], summary="max",
                                                                         metric="cosine"))
    C["tas_spectrum[permutations]"] = ("tas_spectrum", lambda m, D: m.tas_spectrum(
        D["X"], D["Y"], [5, 20], n_permutations=19, random_state=0))
    for k in (1, 5, 20):
        C[f"knn_jaccard[k={k}]"] = ("knn_jaccard", lambda m, D, k=k: m.knn_jaccard(D["X"], D["Y"], k))
        C[f"mutual_knn_alignment[k={k}]"] = ("mutual_knn_alignment",
                                             lambda m, D, k=k: m.mutual_knn_alignment(D["X"], D["Y"], k))
    for k in (None, 10, [2, 7, 30]):
        C[f"prepare_neighborhoods[k={k}]"] = ("prepare_neighborhoods", lambda m, D, k=k: m.combine_neighborhoods(
            m.prepare_neighborhoods(D["X"], k), m.prepare_neighborhoods(D["Y"], k, name="Y")))
    C["combine_neighborhoods[k=0.25]"] = ("combine_neighborhoods", lambda m, D: m.combine_neighborhoods(
        m.prepare_neighborhoods(D["X"], 0.25), m.prepare_neighborhoods(D["Y"], 0.25, name="Y")))

    @case("permutation_pvalues")
    def _(m, D):
        PX = m.prepare_neighborhoods(D["X"], [4, 16])
        PY = m.prepare_neighborhoods(D["Y"], [4, 16], name="Y")
        J = m.combine_neighborhoods(PX, PY)["jaccard"]
        return m.permutation_pvalues(PX, PY, J, 19, random_state=0)

    for arg in (None, 10, 0.2, [1, 5, 50]):
        C[f"resolve_n_neighbors[{arg}]"] = ("resolve_n_neighbors",
                                            lambda m, D, a=arg: m.resolve_n_neighbors(a, 90))
    C["summarize_spectrum"] = ("summarize_spectrum", lambda m, D: [
        m.summarize_spectrum(np.linspace(-0.2, 0.9, 13), s) for s in ("mean", "max", "min")])
    C["tas_chance[paper]"] = ("tas_chance", lambda m, D: m.tas_chance(np.arange(1, 89), 90))
    C["tas_chance[exact]"] = ("tas_chance", lambda m, D: m.tas_chance(np.arange(1, 89), 90, kind="exact"))
    C["tas_from_jaccard"] = ("tas_from_jaccard", lambda m, D: m.tas_from_jaccard(
        np.linspace(0.05, 0.9, 10), m.tas_chance(np.arange(1, 11), 90)))

    # kernels
    variants = {"linear": {}, "linear,debiased": {"debiased": True}, "rbf": {"kernel": "rbf"},
                "rbf,debiased": {"kernel": "rbf", "debiased": True},
                "rbf,sigma=0.5": {"kernel": "rbf", "sigma_fraction": 0.5},
                "rbf,sigma=2.0": {"kernel": "rbf", "sigma": 2.0}}
    for tag, kw in variants.items():
        C[f"cka[{tag}]"] = ("cka", lambda m, D, kw=kw: m.cka(D["X"], D["Y"], **kw))
        C[f"hsic[{tag}]"] = ("hsic", lambda m, D, kw=kw: m.hsic(D["X"], D["Y"], **kw))
        deb = kw.get("debiased", False)
        C[f"prepare_cka[{tag}]"] = ("prepare_cka", lambda m, D, kw=kw, deb=deb: m.combine_cka(
            m.prepare_cka(D["X"], **kw), m.prepare_cka(D["Y"], name="Y", **kw), debiased=deb))
    C["combine_cka[rbf,debiased]"] = ("combine_cka", lambda m, D: m.combine_cka(
        m.prepare_cka(D["W"], kernel="rbf", debiased=True),
        m.prepare_cka(D["Y"], kernel="rbf", debiased=True, name="Y"), debiased=True))
    C["combine_cka[linear]"] = ("combine_cka", lambda m, D: m.combine_cka(m.prepare_cka(D["W"]),
                                                                         m.prepare_cka(D["Y"], name="Y")))
    for method in ("auto", "feature", "gram"):
        for deb in (False, True):
            C[f"linear_cka[{method},debiased={deb}]"] = ("linear_cka", lambda m, D, me=method, deb=deb:
                                                          m.linear_cka(D["X"], D["Y"], debiased=deb, method=me))
    C["rbf_cka"] = ("rbf_cka", lambda m, D: m.rbf_cka(D["X"], D["Y"]))
    C["rbf_cka[debiased]"] = ("rbf_cka", lambda m, D: m.rbf_cka(D["X"], D["Y"], debiased=True))
    C["rbf_cka[sigma_fraction=0.3]"] = ("rbf_cka", lambda m, D: m.rbf_cka(D["X"], D["Y"], sigma_fraction=0.3))
    C["minibatch_cka[linear]"] = ("minibatch_cka", lambda m, D: m.minibatch_cka(
        D["X"], D["Y"], batch_size=16, random_state=0))
    C["minibatch_cka[rbf]"] = ("minibatch_cka", lambda m, D: m.minibatch_cka(
        D["X"], D["Y"], kernel="rbf", batch_size=16, random_state=0))
    C["minibatch_cka[linear,biased,no shuffle]"] = ("minibatch_cka", lambda m, D: m.minibatch_cka(
        D["X"], D["Y"], debiased=False, batch_size=20, shuffle=False))

    def accumulate(acc, D, batch):
        for start in range(0, 90, batch):
            acc.update(D["X"][start:start + batch], D["Y"][start:start + batch])
        return acc

    def acc_result(acc):
        return acc.value() if callable(acc.value) else acc.value

    def streamed(cls, kw, batch):
        def run(m, D):
            acc = getattr(m, cls)(**kw)
            return acc_result(accumulate(acc, D, batch))
        return run

    C["LinearCKAAccumulator"] = ("LinearCKAAccumulator", streamed("LinearCKAAccumulator", {}, 25))
    C["LinearCKAAccumulator[debiased]"] = ("LinearCKAAccumulator",
                                           streamed("LinearCKAAccumulator", {"debiased": True}, 25))
    C["MinibatchCKAAccumulator[linear]"] = ("MinibatchCKAAccumulator",
                                            streamed("MinibatchCKAAccumulator", {}, 15))
    C["MinibatchCKAAccumulator[rbf]"] = ("MinibatchCKAAccumulator",
                                         streamed("MinibatchCKAAccumulator", {"kernel": "rbf"}, 15))

    # shape
    for alpha in (1.0, 0.5, 0.0):
        for extra_tag, extra in {"": {}, ",euclidean": {"score_method": "euclidean"},
                                 ",pca": {"width": "pca"}, ",no centre/scale": {"center": False, "scale": False}
                                 }.items():
            tag = f"[alpha={alpha}{extra_tag}]"
            C["procrustes_score" + tag] = ("procrustes_score", lambda m, D, a=alpha, e=extra: m.procrustes_score(
                D["X"], D["Y"], alpha=a, **e))
            C["shape_distance" + tag] = ("shape_distance", lambda m, D, a=alpha, e=extra: m.shape_distance(
                D["X"], D["Y"], alpha=a, **e))
        C[f"prepare_shape[alpha={alpha}]"] = ("prepare_shape", lambda m, D, a=alpha: m.combine_shape(
            m.prepare_shape(D["X"], alpha=a), m.prepare_shape(D["Y"], alpha=a, name="Y")))
        C[f"fit_shape_transform[alpha={alpha}]"] = ("fit_shape_transform", lambda m, D, a=alpha: m.fit_shape_transform(
            D["X"][D["train"]], alpha=a))
    C["fit_shape_transform[n_components=4]"] = ("fit_shape_transform", lambda m, D: m.fit_shape_transform(
        D["X"], alpha=0.5, n_components=4))
    C["combine_shape[width=pca]"] = ("combine_shape", lambda m, D: m.combine_shape(
        m.prepare_shape(D["W"], width="pca"), m.prepare_shape(D["Y"], width="pca", name="Y")))

    @case("optimal_rotation")
    def _(m, D):
        Zx, Zy = D["X"] - D["X"].mean(0), D["Y"] - D["Y"].mean(0)
        return [m.optimal_rotation(Zx, Zy), m.optimal_rotation(Zx, Zx[:, :5]), m.optimal_rotation(Zx[:, :5], Zx)]

    # regression
    C["fit_ridge"] = ("fit_ridge", lambda m, D: _ridge_state(m.fit_ridge(D["X"][D["train"]], D["Y"][D["train"]])))
    C["fit_ridge[per target, cv=3]"] = ("fit_ridge", lambda m, D: _ridge_state(m.fit_ridge(
        D["X"][D["train"]], D["Y"][D["train"]], alpha_per_target=True)) | _ridge_state(m.fit_ridge(
            D["X"], D["Y"], cv=3), "cv3_"))
    C["ridge_r2"] = ("ridge_r2", lambda m, D: m.ridge_r2(m.fit_ridge(D["X"][D["train"]], D["Y"][D["train"]]),
                                                          D["X"][D["test"]], D["Y"][D["test"]]))
    C["ridge_regression_score[in sample]"] = ("ridge_regression_score", lambda m, D: m.ridge_regression_score(
        D["X"], D["Y"]))
    C["ridge_regression_score[held out]"] = ("ridge_regression_score", lambda m, D: m.ridge_regression_score(
        D["X"][D["train"]], D["Y"][D["train"]], D["X"][D["test"]], D["Y"][D["test"]]))
    C["ridge_regression_score[symmetric]"] = ("ridge_regression_score", lambda m, D: m.ridge_regression_score(
        D["X"][D["train"]], D["Y"][D["train"]], D["X"][D["test"]], D["Y"][D["test"]], symmetric=True))

    # matching
    for corr in ("pearson", "spearman"):
        tag = f"[{corr}]"
        C["normalize_tuning_curves" + tag] = ("normalize_tuning_curves", lambda m, D, c=corr:
                                              m.normalize_tuning_curves(D["X"], correlation=c))
        C["unit_correlations" + tag] = ("unit_correlations", lambda m, D, c=corr:
                                        m.unit_correlations(D["X"], D["W"], correlation=c))
        for fn in ("permutation_score", "permutation_distance", "soft_matching_score", "soft_matching_distance"):
            C[fn + tag] = (fn, lambda m, D, c=corr, fn=fn: getattr(m, fn)(D["X"], D["W"], correlation=c))
            C[fn + "[unequal]" + tag] = (fn, lambda m, D, c=corr, fn=fn: getattr(m, fn)(D["X"], D["Y"],
                                                                                      correlation=c))
    C["match_units"] = ("match_units", lambda m, D: m.match_units(m.unit_correlations(D["X"], D["W"])))
    C["match_units[unequal]"] = ("match_units", lambda m, D: m.match_units(m.unit_correlations(D["X"], D["Y"])))
    C["soft_matching_plan"] = ("soft_matching_plan", lambda m, D: m.soft_matching_plan(
        m.unit_correlations(D["X"], D["Y"])))

    @case("matched_correlations")
    def _(m, D):
        Xh, Wh = m.normalize_tuning_curves(D["X"]), m.normalize_tuning_curves(D["W"])
        rows, cols = m.match_units(m.unit_correlations(D["X"], D["W"]))
        return [m.matched_correlations(Xh, Wh, rows, cols), m.matched_correlations(Xh, Wh, rows, cols, chunk=3)]

    # topology: cubical
    C["as_grids"] = ("as_grids", lambda m, D: [m.as_grids(D["images"]),
                                               m.as_grids(D["images"].reshape(16, -1), grid_shape=(10, 10))])
    for cons in ("T", "V"):
        C[f"cubical_diagrams[{cons}]"] = ("cubical_diagrams", lambda m, D, c=cons: m.cubical_diagrams(
            D["images"], construction=c))
        C[f"betti_curves[{cons}]"] = ("betti_curves", lambda m, D, c=cons: m.betti_curves(
            D["images"], m.quantile_thresholds(D["images"], 12), construction=c))
    C["quantile_thresholds"] = ("quantile_thresholds", lambda m, D: m.quantile_thresholds(D["images"], 9))
    C["minmax_per_sample"] = ("minmax_per_sample", lambda m, D: m.minmax_per_sample(D["images"]))
    for summary in ("area", "threshold"):
        for per_channel in (True, False):
            C[f"topological_complexity[{summary},per_channel={per_channel}]"] = (
                "topological_complexity", lambda m, D, s=summary, p=per_channel: m.topological_complexity(
                    D["layers"], summary=s, per_channel=p, relative=True, n_thresholds=8))

    @case("complexity_decay")
    def _(m, D):
        prof = m.topological_complexity(D["layers"], n_thresholds=8)
        return [m.complexity_decay(prof), m.complexity_decay(prof, log=True),
                m.complexity_decay([3.0, 2.5, 1.0, 0.7], depth=[0, 1, 3, 4])]

    # topology: point clouds
    C["as_point_clouds"] = ("as_point_clouds", lambda m, D: m.as_point_clouds(D["clouds"]))
    for scale in ("none", "max_h0_death", "diameter"):
        C[f"rips_diagrams[{scale}]"] = ("rips_diagrams", lambda m, D, s=scale: m.rips_diagrams(
            D["clouds"], homology_dimensions=(0, 1), scale=s))
        C[f"persistence_summary[{scale}]"] = ("persistence_summary", lambda m, D, s=scale: m.persistence_summary(
            D["clouds"], homology_dimensions=(0, 1), scale=s))
    C["rips_diagrams[landmarks]"] = ("rips_diagrams", lambda m, D: m.rips_diagrams(
        D["clouds"], max_points=20, random_state=0))
    C["persistence_summary[precomputed]"] = ("persistence_summary", lambda m, D: m.persistence_summary(
        [np.sqrt(((c[:, None] - c[None]) ** 2).sum(-1)) for c in D["clouds"]], metric="precomputed"))

    @case("diagram_features")
    def _(m, D):
        bars = np.array([[0.0, 1.0], [0.2, 0.5], [0.1, 0.15], [0.3, 1.3]])
        return [m.diagram_features(bars), m.diagram_features(bars, p=2.0, persistence_threshold=0.3),
                m.diagram_features(np.zeros((0, 2)))]

    # geometry
    for metric in ("euclidean", "cosine"):
        C[f"twonn_ratios[{metric}]"] = ("twonn_ratios", lambda m, D, me=metric: m.twonn_ratios(D["X"], metric=me))
        for method in ("linear", "mle"):
            C[f"twonn_dimension[{method},{metric}]"] = ("twonn_dimension", lambda m, D, me=metric, mt=method:
                                                        m.twonn_dimension(D["X"], method=mt, metric=me))
    C["twonn_from_ratios"] = ("twonn_from_ratios", lambda m, D: [
        m.twonn_from_ratios(m.twonn_ratios(D["X"]), method=mt, discard_fraction=f)
        for mt in ("linear", "mle") for f in (0.0, 0.1, 0.3)])
    for est in ("twonn", "mle"):
        for mode in ("exact", "fast"):
            C[f"local_intrinsic_dimension[{est},{mode}]"] = (
                "local_intrinsic_dimension", lambda m, D, e=est, mo=mode: m.local_intrinsic_dimension(
                    D["X"], 20, estimator=e, mode=mo))
    C["multiscale_intrinsic_dimension"] = ("multiscale_intrinsic_dimension", lambda m, D:
                                           m.multiscale_intrinsic_dimension(D["X"], max_neighbors=16))
    for k in (1, 4):
        C[f"information_imbalance[k={k}]"] = ("information_imbalance", lambda m, D, k=k: [
            m.information_imbalance(D["X"], D["Y"], n_neighbors=k),
            m.information_imbalance(D["Y"], D["X"], n_neighbors=k)])
        C[f"prepare_information_imbalance[k={k}]"] = (
            "prepare_information_imbalance", lambda m, D, k=k: m.information_imbalance_prepared(
                m.prepare_information_imbalance(D["X"], k), m.prepare_information_imbalance(D["Y"], k, name="Y")))
    C["information_imbalance_prepared[cosine]"] = (
        "information_imbalance_prepared", lambda m, D: m.information_imbalance_prepared(
            m.prepare_information_imbalance(D["W"], 2, metric="cosine"),
            m.prepare_information_imbalance(D["X"], 2, metric="cosine")))
    return C


def _ridge_state(model, prefix=""):
    return {prefix + a: getattr(model, a) for a in ("alpha_", "relative_alpha_", "coef_", "intercept_")
            if hasattr(model, a)}


#: estimator name -> parameter sets (besides the defaults)
ESTIMATOR_VARIANTS = {
    "CKAScorer": [{"debiased": True}, {"kernel": "rbf"}, {"kernel": "rbf", "debiased": True},
                  {"kernel": "rbf", "sigma_fraction": 0.5}],
    "ProcrustesScorer": [{"alpha": 0.0}, {"alpha": 0.5}, {"score_method": "euclidean"}, {"width": "pca"},
                         {"center": False, "scale": False}],
    "LinearRegressionScorer": [{"symmetric": True}, {"alpha_per_target": True}, {"cv": 3}],
    "PermutationScorer": [{"correlation": "spearman"}],
    "SoftMatchingScorer": [{"correlation": "spearman"}],
    "TopologicalAlignmentSpectrum": [{"n_neighbors": 10}, {"n_neighbors": [2, 8, 25]}, {"n_neighbors": 0.2},
                                     {"summary": "max", "chance": "exact"}, {"metric": "cosine"},
                                     {"n_neighbors": [5, 15], "n_permutations": 19, "random_state": 0}],
    "InformationImbalance": [{"n_neighbors": 3}, {"direction": "x_to_y"}, {"direction": "y_to_x"},
                             {"metric": "cosine"}],
    "TwoNN": [{"method": "mle"}, {"metric": "cosine"}, {"discard_fraction": 0.0}],
    "LocalIntrinsicDimension": [{"n_neighbors": 20}, {"n_neighbors": 20, "mode": "fast"},
                                {"n_neighbors": 20, "estimator": "mle"}],
    "CubicalBettiProfile": [{"construction": "V", "thresholds": 8}, {"normalize": True},
                            {"homology_dimensions": (0,), "thresholds": [0.0, 0.1, 0.3]}],
    "PersistenceSummary": [{"homology_dimensions": (1,)}, {"scale": "diameter"}, {"max_points": 20,
                                                                                  "random_state": 0}],
}


#: estimators whose default parameters do not suit the small data (e.g. 128 neighbours of 90 rows)
DEFAULTS_DO_NOT_FIT = {"LocalIntrinsicDimension"}


def _estimator_results(cls, params, D):
    """fit/score (in-sample and held out), prepare/combine, transform output, public fitted attributes."""
    from skalign.base import BasePairedScorer

    est = cls(**params)
    tr, te = D["train"], D["test"]
    out = {}
    if isinstance(est, BasePairedScorer):
        X, Y = D["X"], D["Y"]
        est.fit(X[tr], Y[tr])
        out["score(train)"] = est.score(X[tr], Y[tr])
        out["score(test)"] = est.score(X[te], Y[te])
        if hasattr(est, "spectrum"):
            out["spectrum(test)"] = est.spectrum(X[te], Y[te])
        full = cls(**params)
        out["combine(prepare)"] = full.combine(full.prepare(X), full.prepare(Y, "Y"))
        out["score(all)"] = cls(**params).fit(X, Y).score(X, Y)
    else:
        data = {"CubicalBettiProfile": D["images"], "PersistenceSummary": D["clouds"]}.get(cls.__name__, D["X"])
        est.fit(data)
        if hasattr(est, "transform"):
            out["transform"] = est.transform(data)
            if cls.__name__ != "LocalIntrinsicDimension":  # it needs the fitted rows' neighbours
                out["transform(part)"] = est.transform(data[:5])
    for attr in sorted(vars(est)):
        if attr.endswith("_") and not attr.startswith("_"):
            value = getattr(est, attr)
            if isinstance(value, (int, float, np.ndarray, np.number)) and not isinstance(value, bool):
                out[attr] = value
    return out


def _estimator_cases():
    from skalign.utils import all_estimators

    C = {}
    for name, cls in all_estimators():
        defaults = [] if name in DEFAULTS_DO_NOT_FIT else [{}]
        for params in defaults + ESTIMATOR_VARIANTS.get(name, []):
            label = f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})"
            C[label] = (name, lambda m, D, cls=cls, params=params: _estimator_results(cls, params, D))
    return C


# ----------------------------------------------------------------- plain results
def plain(value, depth=0):
    """Numbers, arrays, strings, lists and dicts only, so that results unpickle without skalign."""
    import pandas as pd

    if depth > 6:
        return repr(type(value).__name__)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, complex, np.number, np.bool_)):
        return value.item() if isinstance(value, (np.number, np.bool_)) else value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [plain(v, depth + 1) for v in value.ravel()]
        return value.copy()
    if isinstance(value, pd.DataFrame):
        return {"__frame__": [str(c) for c in value.columns], "index": plain(np.asarray(value.index)),
                **{str(c): plain(value[c].to_numpy()) for c in value.columns}}
    if isinstance(value, pd.Series):
        return {"__series__": str(value.name), "index": plain(np.asarray(value.index)),
                "values": plain(value.to_numpy())}
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if hasattr(value, "_asdict"):
        return {k: plain(v, depth + 1) for k, v in value._asdict().items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if hasattr(value, "__dict__"):
        return {k: plain(v, depth + 1) for k, v in vars(value).items() if not k.startswith("_")}
    return repr(value)


def run_worker(out_path, tree, only):
    import skalign

    where = Path(skalign.__file__).resolve()
    if Path(tree).resolve() not in where.parents:
        sys.exit(f"check_refactor worker: imported skalign from {where}, not from {tree}")
    import skalign.metrics as m

    D = make_data()
    cases = {**_function_cases(), **_estimator_cases()}
    names = [n for n in m.__all__ if callable(getattr(m, n))]
    from skalign.utils import all_estimators

    names += [n for n, _ in all_estimators()]
    results = {}
    for label, (name, fn) in cases.items():
        if only and not any(o in label for o in only):
            continue
        if not hasattr(m, name) and name not in dict(all_estimators()):
            results[label] = {"__missing__": name}
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[label] = plain(fn(m, D))
        except Exception as exc:  # recorded and compared, so a new error shows up
            results[label] = {"__error__": type(exc).__name__, "message": str(exc).splitlines()[0][:200]}
    covered = {name for name, _ in cases.values()}
    meta = {"names": names, "uncovered": sorted(set(names) - covered - set(NOT_NUMERIC)),
            "case_names": {label: name for label, (name, _) in cases.items()},
            "skalign": str(where.parent)}
    with open(out_path, "wb") as fh:
        pickle.dump({"meta": meta, "results": results}, fh)


# ----------------------------------------------------------------- comparison
def compare(a, b, rtol, atol, path="", added=None):
    """``(largest absolute difference, within tolerance)``, or a string saying how a and b differ in kind.

    Keys of a dict result (fields of a dataclass) that only the working tree has are
    an addition, not a change: they are recorded in ``added`` and the shared keys
    compared. A key that is gone is a difference.
    """
    added = [] if added is None else added
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) - set(b):
            return f"{path}: keys {sorted(set(a) - set(b))} are gone"
        added.extend(f"{path}.{k}" for k in sorted(set(b) - set(a)))
        pairs = [(a[k], b[k], f"{path}.{k}") for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        pairs = [(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))]
    else:
        return _compare_leaf(a, b, rtol, atol, path)
    worst, ok = 0.0, True
    for x, y, where in pairs:
        d = compare(x, y, rtol, atol, where, added)
        if isinstance(d, str):
            return d
        worst, ok = max(worst, d[0]), ok and d[1]
    return worst, ok


def _compare_leaf(a, b, rtol, atol, path):
    num = (int, float, np.ndarray)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        A, B = np.asarray(a), np.asarray(b)
        if A.shape != B.shape:
            return f"{path}: shape {A.shape} vs {B.shape}"
        if A.dtype.kind not in "biufc" or B.dtype.kind not in "biufc":
            return (0.0, True) if np.array_equal(A, B) else f"{path}: {A!r} vs {B!r}"
        if A.size == 0:
            return 0.0, True
        kind = np.complex128 if "c" in (A.dtype.kind, B.dtype.kind) else np.float64
        A, B = A.astype(kind), B.astype(kind)
        same_special = (np.isnan(A) & np.isnan(B)) | (np.isinf(A) & (A == B))
        if np.any((~np.isfinite(A) | ~np.isfinite(B)) & ~same_special):
            return f"{path}: non-finite values differ"
        fin = np.isfinite(A) & np.isfinite(B)
        diff = np.abs(A[fin] - B[fin])
        tol = np.maximum(rtol * np.maximum(np.abs(A[fin]), np.abs(B[fin])), atol)
        return (float(diff.max()) if diff.size else 0.0), bool(np.all(diff <= tol))
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    return (0.0, True) if a == b else f"{path}: {a!r} vs {b!r}"


def _headline(value):
    """One number (or a word) to show for a result in the table."""
    if isinstance(value, dict):
        if "__error__" in value:
            return f"{value['__error__']}"
        if "__missing__" in value:
            return "missing"
        for key in ("score(test)", "transform", "dimension_"):
            if key in value:
                return _headline(value[key])
        return _headline(next(iter(value.values()))) if value else "{}"
    if isinstance(value, list):
        return _headline(value[0]) if value else "[]"
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf" and value.size:
            return f"{float(np.ravel(value)[0]):.12g}" + ("" if value.size == 1 else f" (+{value.size - 1})")
        return f"array{value.shape}"
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)[:24]


def _worktree(rev, tmp):
    path = Path(tmp) / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), rev], check=True)
    return path


def _run_side(tree, out, only, env_extra):
    env = {**os.environ, "PYTHONPATH": str(tree), **env_extra}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(out), "--tree", str(tree)]
    if only:
        cmd += ["--only", ",".join(only)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        sys.exit(f"worker for {tree} failed:\n{proc.stdout}\n{proc.stderr}")
    with open(out, "rb") as fh:
        return pickle.load(fh)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare against "
                   "(default: %(default)s, the state before the refactor)")
    p.add_argument("--rtol", type=float, default=1e-12)
    p.add_argument("--atol", type=float, default=1e-12, help="absolute floor for values near zero")
    p.add_argument("--only", default="", help="comma-separated substrings of case labels to run")
    p.add_argument("--all-rows", action="store_true", help="print every case, not only the differing ones")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--tree", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    only = [o for o in args.only.split(",") if o]
    if args.worker:
        run_worker(args.worker, args.tree, only)
        return 0

    # one BLAS thread: the same summation order on both sides, and no contention
    env_extra = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env_extra.update({f"POT_BACKEND_DISABLE_{b}": "1" for b in ("PYTORCH", "JAX", "TENSORFLOW", "CUPY")})
    with tempfile.TemporaryDirectory(prefix="skalign_check_") as tmp:
        base_tree = _worktree(args.baseline, tmp)
        try:
            base = _run_side(base_tree, Path(tmp) / "baseline.pkl", only, env_extra)
            now = _run_side(ROOT, Path(tmp) / "now.pkl", only, env_extra)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)], check=False)
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline], capture_output=True,
                         text=True).stdout.strip()
    return report(base, now, args.rtol, args.atol, rev, args.all_rows)


def report(base, now, rtol, atol, rev, all_rows=False):
    failures, expected, rows = [], [], []
    gone = sorted(set(base["meta"]["names"]) - set(now["meta"]["names"]))
    new = sorted(set(now["meta"]["names"]) - set(base["meta"]["names"]))
    for label in sorted(set(base["results"]) | set(now["results"])):
        a, b = base["results"].get(label), now["results"].get(label)
        name = now["meta"]["case_names"].get(label, label)
        if (a is None or (isinstance(a, dict) and "__missing__" in a)) and name in new:
            verdict, diff = "new (not in the baseline)", ""
        elif a is None or b is None:
            verdict, diff = "case on one side only", ""
        elif isinstance(a, dict) and "__error__" in a and isinstance(b, dict) and "__error__" in b:
            verdict, diff = "raises on both sides", ""
        elif isinstance(b, dict) and "__error__" in b:
            verdict, diff = f"DIFFERS: now raises {b['__error__']}: {b['message'][:70]}", ""
        else:
            added = []
            d = compare(a, b, rtol, atol, added=added)
            if isinstance(d, str):
                verdict, diff = "DIFFERS: " + d[:80], ""
            else:
                verdict, diff = ("same" if d[1] else "DIFFERS"), f"{d[0]:.3g}"
                if added and d[1]:
                    verdict = f"same, with new fields {', '.join(added)[:60]}"
        ok = verdict.startswith(("same", "raises on both sides", "new (not in the baseline)"))
        if not ok and label in EXPECTED_CHANGES:
            expected.append(label)
            verdict = "expected change: " + EXPECTED_CHANGES[label]
        elif not ok:
            failures.append(label)
        if all_rows or verdict not in ("same", "raises on both sides", "new (not in the baseline)"):
            rows.append((label, _headline(a), _headline(b), diff, verdict))
    w = max([len(r[0]) for r in rows] + [20])
    print(f"baseline {rev} ({base['meta']['skalign']}) vs working tree ({now['meta']['skalign']}); "
          f"rtol {rtol:g}, atol {atol:g}")
    print(f"{'case':<{w}}  {'baseline':>22}  {'now':>22}  {'abs diff':>9}  verdict")
    for label, x, y, d, v in rows:
        print(f"{label:<{w}}  {x:>22}  {y:>22}  {d:>9}  {v}")
    n = len(set(base["results"]) | set(now["results"]))
    print(f"\n{n} cases: {n - len(failures) - len(expected)} equal, {len(expected)} expected changes, "
          f"{len(failures)} differ")
    if new:
        print(f"new public names (not in the baseline): {', '.join(new)}")
    if gone:
        print(f"FAIL: public names of the baseline that are gone: {', '.join(gone)}")
    # a name new today has nothing to be compared with; one of the baseline must be checked
    uncovered = [n for n in now["meta"]["uncovered"] if n not in new]
    if uncovered:
        print(f"FAIL: public names without a case (add one to FUNCTION_CASES, or to NOT_NUMERIC with the "
              f"reason): {', '.join(uncovered)}")
    if set(now["meta"]["uncovered"]) - set(uncovered):
        print(f"(new names without a case: {', '.join(sorted(set(now['meta']['uncovered']) - set(uncovered)))})")
    unused = sorted(set(EXPECTED_CHANGES) - set(expected))
    if unused:
        print(f"(listed as expected changes but equal or not run: {', '.join(unused)})")
    return 1 if failures or gone or uncovered else 0


if __name__ == "__main__":
    sys.exit(main())
