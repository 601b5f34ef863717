"""Cost of the inference layer against the bare work it cannot avoid.

1. Linear CKA, n x d = 10,000 x 256, B permutations: ``permutation_test`` against
   B bare cross products ``Xc.T @ Yc[perm]`` of centred data (target <= 1.5x).
2. TAS at every k, n = 2,000, B permutations: ``permutation_test`` against B x the
   time of one ``combine`` of the held ranks (target <= 1.5x).
3. Bootstrap of Procrustes with 5-fold CV, n = 2,000: time per resample relative
   to one ``cross_val_score``.
4. Per-k TAS p-values of ``TopologicalAlignmentSpectrum(n_permutations=B).fit``,
   n = 2,000 (now computed by ``permutation_test(statistic='spectrum')``), against
   the spectrum module's own loop ``tas_spectrum(n_permutations=B)``; the
   estimator prepares each side once more than that loop does.

Run ``python benchmarks/bench_inference.py [--quick | --small | --fewer]``. The
default is the full run (999 permutations of n x d = 10,000 x 256 for CKA, 199
for TAS at n = 2,000, 99 Procrustes resamples). ``--quick`` is a smoke run of a
few seconds (tiny sizes: the ratios mean little); ``--small`` shrinks every case
(n / 4, B / 10) for a check on a busy machine; ``--fewer`` keeps the sizes and
divides the CKA and Procrustes B by 10 (the ratios are per permutation, so B
only sets how long the run takes). Each line prints the load average, since the
machine may be shared.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _harness import interleaved_best_of, load, machine_report
from sklearn.model_selection import KFold, cross_val_score

from skalign import CKAScorer, ProcrustesScorer, TopologicalAlignmentSpectrum
from skalign.inference import bootstrap, permutation_test
from skalign.spectrum import tas_spectrum


def cka_case(n, d, B):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, d)) / np.sqrt(d) + rng.normal(size=(n, d))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    rs = np.random.RandomState(0)

    def bare():
        for _ in range(B):
            perm = rs.permutation(n)
            M = Xc.T @ Yc[perm]
            float(np.einsum("ij,ij->", M, M))

    def ours():
        return permutation_test(CKAScorer(), X, Y, n_permutations=B, random_state=0)

    best, _ = interleaved_best_of({"bare": bare, "inference": ours}, repeat=1)
    print(
        f"linear CKA n={n} d={d} B={B}: bare {best['bare']:.2f} s, permutation_test {best['inference']:.2f} s, "
        f"ratio {best['inference'] / best['bare']:.2f} (target <= 1.5)   [{load()}]",
        flush=True,
    )


def tas_case(n, B):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 10))
    Y = X + rng.normal(size=(n, 10))
    sc = TopologicalAlignmentSpectrum()
    PX, PY = sc.prepare(X), sc.prepare(Y, "Y")
    assert PX.mode == "ranks", PX.mode

    def one_combine():
        return sc.combine(PX, PY)

    # a random pairing is slower to combine than the aligned one (the histogram of
    # max(rank_X, rank_Y) scatters more widely): the null's own unit of work
    PYp = sc.permute_prepared(PY, np.random.RandomState(1).permutation(n))

    def one_null_combine():
        return sc.combine(PX, PYp)

    def ours():
        return permutation_test(sc, X, Y, n_permutations=B, random_state=0)

    t_prep0 = time.perf_counter()
    sc.prepare(X)
    t_prep = time.perf_counter() - t_prep0
    best, _ = interleaved_best_of({"combine": one_combine, "null": one_null_combine}, repeat=5)
    t0 = time.perf_counter()
    ours()
    t_ours = time.perf_counter() - t0
    # the two prepares are part of the test but not of B x combine: report both ways
    print(
        f"TAS every k n={n} B={B}: one combine {best['combine'] * 1e3:.1f} ms, B x combine "
        f"{B * best['combine']:.2f} s, permutation_test {t_ours:.2f} s (of which 2 prepares ~{2 * t_prep:.2f} s), "
        f"ratio {t_ours / (B * best['combine']):.2f}, without the prepares "
        f"{(t_ours - 2 * t_prep) / (B * best['combine']):.2f} (target <= 1.5); one combine of a permuted pair "
        f"{best['null'] * 1e3:.1f} ms, ratio to B x that {t_ours / (B * best['null']):.2f}   [{load()}]",
        flush=True,
    )


def procrustes_case(n, B):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, 20))
    Y = X @ rng.normal(size=(20, 20)) + rng.normal(size=(n, 20))
    cv = KFold(5, shuffle=True, random_state=0)
    best, _ = interleaved_best_of({"cv": lambda: cross_val_score(ProcrustesScorer(), X, Y, cv=cv)}, repeat=3)
    t0 = time.perf_counter()
    res = bootstrap(ProcrustesScorer(), X, Y, n_resamples=B, cv=cv, random_state=0)
    per = (time.perf_counter() - t0) / (B + 1)
    print(
        f"Procrustes 5-fold CV bootstrap n={n} B={B}: one cross_val_score {best['cv']:.3f} s, per resample "
        f"{per:.3f} s, ratio {per / best['cv']:.2f}; interval {tuple(round(v, 4) for v in res.confidence_interval)}"
        f"   [{load()}]",
        flush=True,
    )


def tas_estimator_case(n, B):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 10))
    Y = X + rng.normal(size=(n, 10))
    est = TopologicalAlignmentSpectrum(n_permutations=B, random_state=0)
    timings, _ = interleaved_best_of(
        {
            "estimator": lambda: est.fit(X, Y),
            "loop": lambda: tas_spectrum(X, Y, n_permutations=B, random_state=0),
        },
        repeat=1,
    )
    same = np.array_equal(est.fit(X, Y).pvalues_, tas_spectrum(X, Y, n_permutations=B, random_state=0).p_value)
    print(
        f"TAS estimator per-k p-values n={n} B={B}: fit {timings['estimator']:.2f} s, tas_spectrum loop "
        f"{timings['loop']:.2f} s, ratio {timings['estimator'] / timings['loop']:.2f}; same p-values: {same}"
        f"   [{load()}]",
        flush=True,
    )


def main(small=False, fewer=False, quick=False):
    machine_report()
    if quick:
        cka_case(1_000, 32, 19)
        tas_case(200, 9)
        procrustes_case(200, 3)
        tas_estimator_case(200, 9)
        print(load())
        return
    s = 4 if small else 1
    b = 10 if small or fewer else 1
    cka_case(10_000 // s, 256, max(9, 999 // b))
    tas_case(2_000 // s, max(9, 199 // (10 if small else 1)))
    procrustes_case(2_000 // s, max(9, 99 // b))
    tas_estimator_case(2_000 // s, max(9, 199 // (10 if small else 1)))
    print(load())


if __name__ == "__main__":
    main(small="--small" in sys.argv, fewer="--fewer" in sys.argv, quick="--quick" in sys.argv)
