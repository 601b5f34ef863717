"""Timing of the shape metrics and soft matching against their BLAS/LAPACK floor.

Run:  python benchmarks/bench_shape.py [--n 100000] [--d 512] [--units 512] [--repeat 3]

Prints, measured in one run on the same arrays:

* the reference cost: the three products X^T X, Y^T Y, X^T Y plus one SVD of a d x d
  matrix (what any exact Procrustes / shape metric needs at most);
* ProcrustesScorer fit, fit + score, and the one-call function, for alpha=1 and 0.5,
  and the prepare/combine route used by layer x layer matrices, each as a ratio to the
  reference (the target is <= 3x);
* soft matching of ``units`` x ``units`` units: correlations, the exact transport solve
  (ot.emd) and the held-out score, separately.

Timings are the best of ``--repeat`` runs, so that a busy shared machine inflates them
as little as possible; the 1-, 5- and 15-minute load averages are printed alongside.
"""

from __future__ import annotations

import argparse

import numpy as np
from _harness import best_of, interleaved_best_of, load, machine_report


def bench_procrustes(n, d, repeat, rng):
    from skalign import ProcrustesScorer
    from skalign.metrics import procrustes_score

    Z = rng.normal(size=(n, 64))
    X = Z @ rng.normal(size=(64, d)) + rng.normal(size=(n, d))
    Y = Z @ rng.normal(size=(64, d)) + rng.normal(size=(n, d))

    def reference():
        XtX, YtY, XtY = X.T @ X, Y.T @ Y, X.T @ Y
        np.linalg.svd(XtY)
        return XtX, YtY

    cases = {"reference XtX + YtY + XtY + SVD(d x d)": reference}
    for alpha in (1.0, 0.5):
        est = ProcrustesScorer(alpha=alpha)
        cases[f"ProcrustesScorer(alpha={alpha}).fit"] = lambda est=est: est.fit(X, Y)
        cases[f"ProcrustesScorer(alpha={alpha}).fit + score"] = lambda est=est: est.fit(X, Y).score(X, Y)
        cases[f"procrustes_score(alpha={alpha})"] = lambda a=alpha: procrustes_score(X, Y, alpha=a)
        cases[f"prepare(X) + prepare(Y) + combine, alpha={alpha}"] = (
            lambda est=est: est.combine(est.prepare(X), est.prepare(Y, "Y"))
        )
    # interleaved repeats: every case sees the same mix of load from other work on the machine
    best, results = interleaved_best_of(cases, repeat)
    for alpha in (1.0, 0.5):
        scores = [results[k] for k in results if f"={alpha}" in k and "fit" in k and "score" in k]
        scores += [results[k] for k in results if k.startswith(f"procrustes_score(alpha={alpha})")]
        scores += [results[k] for k in results if k.endswith(f"alpha={alpha}") and "prepare" in k]
        assert max(scores) - min(scores) < 1e-8, scores

    labels = list(cases)
    t_ref = best[labels[0]]
    print(f"\nProcrustes, n={n:,}, d={d}, float64 (best of {repeat} interleaved runs)")
    print(f"  {labels[0]:<48s} {t_ref:8.3f} s")
    for label in labels[1:]:
        print(f"  {label:<48s} {best[label]:8.3f} s   {best[label] / t_ref:5.2f}x reference")
    worst = max(best[k] for k in labels[1:] if "prepare" not in k)
    print(f"  worst fit/score ratio: {worst / t_ref:.2f}x (target <= 3x)")


def bench_soft_matching(n, units, repeat, rng):
    try:
        import ot  # noqa: F401  (imported here so that its import time is not counted below)
    except ImportError:
        print("\nsoft matching: POT is not installed (pip install 'skalign[ot]'); skipped")
        return
    from skalign import PermutationScorer, SoftMatchingScorer
    from skalign.metrics import soft_matching_plan, unit_correlations

    print(f"\nSoft matching, {units} x {units} units, n={n:,} rows, float64")
    cases = {
        "independent noise": (rng.normal(size=(n, units)), rng.normal(size=(n, units))),
    }
    Z = rng.normal(size=(n, 32))
    X = Z @ rng.normal(size=(32, units)) + rng.normal(size=(n, units))
    cases["shared 32-dim latent"] = (X, X[:, rng.permutation(units)] + 0.5 * rng.normal(size=(n, units)))
    half = n // 2
    for name, (X, Y) in cases.items():
        t_r, R = best_of(lambda X=X, Y=Y: unit_correlations(X, Y), repeat)
        t_emd, T = best_of(lambda R=R: soft_matching_plan(R), repeat)
        est = SoftMatchingScorer()
        t_fit, _ = best_of(lambda est=est, X=X, Y=Y: est.fit(X[:half], Y[:half]), repeat)
        t_sc, s = best_of(lambda est=est, X=X, Y=Y: est.score(X[half:], Y[half:]), repeat)
        t_perm, _ = best_of(lambda X=X, Y=Y: PermutationScorer().fit(X[:half], Y[:half]), repeat)
        print(f"  [{name}]  non-zeros in plan: {int((T > 0).sum())}, held-out score {s:.3f}")
        print(f"    correlations on {n:,} rows          {t_r:8.3f} s")
        print(f"    ot.emd on the {units}x{units} cost          {t_emd:8.3f} s")
        print(f"    SoftMatchingScorer.fit ({half:,} rows)  {t_fit:8.3f} s")
        print(f"    SoftMatchingScorer.score ({n - half:,} rows) {t_sc:8.3f} s")
        print(f"    PermutationScorer.fit ({half:,} rows)   {t_perm:8.3f} s")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=512)
    p.add_argument("--units", type=int, default=512)
    p.add_argument("--n-soft", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    machine_report("ot")
    rng = np.random.default_rng(0)
    bench_procrustes(args.n, args.d, args.repeat, rng)
    bench_soft_matching(args.n_soft, args.units, args.repeat, rng)
    print(f"\nat the end: {load()}")


if __name__ == "__main__":
    main()
