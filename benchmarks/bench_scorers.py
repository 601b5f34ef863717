"""Benchmarks for the global scorers: linear/RBF CKA and ridge predictivity.

Every figure is a ratio measured in the same run, so it is read against the
machine it ran on (the machine report and load average are printed first). Run with

    python benchmarks/bench_scorers.py            # the sizes of the issue
    python benchmarks/bench_scorers.py --quick    # small sizes, a smoke test

Sections
--------
1. Linear CKA, n=100,000, d=512: time against the three BLAS products XᵀX,
   YᵀY, XᵀY on the same arrays (target: within 2x), and the tracemalloc peak
   of the CKA call against the size of one n x n float64 matrix (it must never
   allocate one).
2. Linear CKA against a naive n x n Gram implementation (centred Gram
   matrices, Frobenius inner products) at n=20,000, d=128 (target: >= 100x).
   The naive one is timed on row subsets and projected with its measured
   scaling exponent (it needs O(n²) memory: 3.2 GB per Gram matrix at 20,000, several
   times that in temporaries).
3. prepare/combine: cost of one ``combine`` against one ``score`` at
   n=10,000, d=768 (what a layer x layer matrix saves per pair).
4. RBF CKA (Gram route) and minibatch CKA timings.
5. Ridge: LinearRegressionScorer fit+score and 5-fold cross_val_score.

(Procrustes and soft matching are in ``bench_shape.py``.)
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from _harness import best_of, load, machine_report

def bench_linear_vs_blas(n, d, repeat, rng):
    from skalign.metrics import linear_cka

    X = rng.normal(size=(n, d))
    Y = X[:, : d // 2] @ rng.normal(size=(d // 2, d)) + rng.normal(size=(n, d))

    def blas():
        return X.T @ X, Y.T @ Y, X.T @ Y

    # interleaved, so that a change in machine load hits both sides alike
    t_blas = t_cka = np.inf
    for _ in range(repeat):
        t_blas = min(t_blas, best_of(blas, 1)[0])
        t, value = best_of(lambda: linear_cka(X, Y), 1)
        t_cka = min(t_cka, t)

    tracemalloc.start()
    linear_cka(X, Y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nn_bytes = 8 * n * n
    print(f"[1] linear CKA n={n:,} d={d}: CKA={value:.6f}")
    print(f"    three BLAS products (XtX, YtY, XtY): {t_blas:.3f} s (best of {repeat})")
    print(f"    linear_cka (validation + centring + products): {t_cka:.3f} s (best of {repeat})")
    print(f"    ratio CKA / BLAS = {t_cka / t_blas:.2f}  (target <= 2)")
    print(
        f"    tracemalloc peak during linear_cka: {peak / 2**20:.0f} MiB = {peak / (8 * n * d):.2f} x one n x d "
        f"float64 array; one n x n float64 would be {nn_bytes / 2**30:.1f} GiB (peak / n² = {peak / nn_bytes:.4f})"
    )
    return t_cka / t_blas


def _naive_cka(X, Y):
    # the textbook route: two n x n Gram matrices, double-centred, Frobenius products
    def centred_gram(A):
        K = A @ A.T
        r = K.mean(axis=0)
        return K - r[:, None] - r[None, :] + r.mean()

    K, L = centred_gram(X), centred_gram(Y)
    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))


def bench_linear_vs_naive(n, d, subsets, repeat, rng):
    from skalign.metrics import linear_cka

    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, d)) + rng.normal(size=(n, d))
    t_fast, v = best_of(lambda: linear_cka(X, Y), repeat)
    times = []
    for m in subsets:
        t, v_naive = best_of(lambda: _naive_cka(X[:m], Y[:m]), repeat)
        v_check = linear_cka(X[:m], Y[:m], method="feature")
        assert abs(v_naive - v_check) < 1e-9, (v_naive, v_check)
        times.append(t)
        diff = abs(v_naive - v_check)
        print(f"[2] naive n x n CKA on n={m:,} rows: {t:.3f} s (agrees with linear_cka to {diff:.1e})")
    if len(subsets) > 1:
        slope = np.polyfit(np.log(subsets), np.log(times), 1)[0]
    else:
        slope = 2.0
    # project with the measured exponent, and conservatively with the n² the algorithm must do
    projected = times[-1] * (n / subsets[-1]) ** max(slope, 2.0)
    projected_n2 = times[-1] * (n / subsets[-1]) ** 2
    print(f"    measured scaling exponent of the naive route: {slope:.2f}")
    print(f"    projected naive time at n={n:,}: {projected:.1f} s (measured exponent), {projected_n2:.1f} s (n²)")
    print(f"    linear_cka at n={n:,}, d={d}: {t_fast:.4f} s (CKA={v:.6f})")
    print(
        f"    speed-up = {projected / t_fast:.0f}x (measured exponent), {projected_n2 / t_fast:.0f}x (n² projection)"
        "  (target >= 100x)"
    )
    return projected / t_fast


def bench_prepare_combine(n, d, repeat, rng):
    from skalign import CKAScorer

    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, d)) + rng.normal(size=(n, d))
    est = CKAScorer().fit(X[:10], Y[:10])
    t_score, s = best_of(lambda: est.score(X, Y), repeat)
    t_prep, PX = best_of(lambda: est.prepare(X), repeat)
    PY = est.prepare(Y)
    t_comb, c = best_of(lambda: est.combine(PX, PY), repeat)
    assert abs(s - c) < 1e-12
    print(f"[3] prepare/combine, n={n:,} d={d}: score {t_score:.3f} s, prepare {t_prep:.3f} s, combine {t_comb:.3f} s")
    print(f"    score / combine = {t_score / t_comb:.2f}x per pair once layers are prepared")
    L = 12
    pairs = L * (L - 1) // 2
    print(
        f"    {L}x{L} layers, projected: pair-by-pair score on all {L * L} pairs {L * L * t_score:.1f} s; "
        f"prepare {L} + combine {pairs} off-diagonal pairs (symmetric, diagonal = 1) "
        f"{L * t_prep + pairs * t_comb:.1f} s -> {L * L * t_score / (L * t_prep + pairs * t_comb):.1f}x"
    )


def bench_rbf(n_rbf, n_mb, d, repeat, rng):
    from skalign.metrics import minibatch_cka, rbf_cka

    X = rng.normal(size=(n_rbf, d))
    Y = np.tanh(X @ rng.normal(size=(d, d))) + 0.3 * rng.normal(size=(n_rbf, d))
    t, v = best_of(lambda: rbf_cka(X, Y), repeat)
    print(f"[4] RBF CKA (Gram route, sigma='median'), n={n_rbf:,} d={d}: {t:.2f} s (CKA={v:.4f})")
    Xb = rng.normal(size=(n_mb, d))
    Yb = np.tanh(Xb @ rng.normal(size=(d, d))) + 0.3 * rng.normal(size=(n_mb, d))
    t, v = best_of(lambda: minibatch_cka(Xb, Yb, kernel="rbf", batch_size=512, random_state=0), 1)
    print(f"    minibatch RBF CKA (debiased, batch 512), n={n_mb:,} d={d}: {t:.2f} s (CKA={v:.4f})")
    t, v = best_of(lambda: minibatch_cka(Xb, Yb, kernel="linear", batch_size=512, random_state=0), 1)
    print(f"    minibatch linear CKA (debiased, batch 512), n={n_mb:,} d={d}: {t:.2f} s (CKA={v:.4f})")


def bench_ridge(n, d, repeat, rng):
    from sklearn.model_selection import KFold, cross_val_score

    from skalign import LinearRegressionScorer

    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, d)) / np.sqrt(d) + rng.normal(size=(n, d))
    t_blas, _ = best_of(lambda: (X.T @ X, X.T @ Y), repeat)
    t_fit, est = best_of(lambda: LinearRegressionScorer().fit(X, Y), repeat)
    t_score, s = best_of(lambda: est.score(X, Y), repeat)
    t0 = time.perf_counter()
    cv = cross_val_score(LinearRegressionScorer(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    t_cv = time.perf_counter() - t0
    print(f"[5] ridge X->Y (10 relative alphas, efficient LOO), n={n:,} d_x=d_y={d}")
    print(f"    fit {t_fit:.2f} s ({t_fit / t_blas:.1f}x the products XtX, XtY: {t_blas:.2f} s), score {t_score:.2f} s")
    print(f"    in-sample mean R2 {s:.4f}; 5-fold held-out {cv.mean():.4f} +- {cv.std():.4f} in {t_cv:.1f} s")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", type=int, nargs="*", help="run only these sections (1-5)")
    p.add_argument(
        "--threads", type=int, default=1,
        help="BLAS threads (default 1: on a shared, oversubscribed machine multi-threaded OpenBLAS "
        "spends most of its time synchronising; 0 = library default)",
    )
    args = p.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    sections = set(args.only or [1, 2, 3, 4, 5])
    machine_report()
    print(f"(BLAS threads requested: {args.threads or 'library default'})")
    if args.quick:
        sizes = dict(
            big=(5_000, 64), naive=(2_000, 32, [500, 1000]), pc=(2_000, 96), rbf=(500, 5_000, 16), ridge=(2_000, 32),
        )
    else:
        sizes = dict(
            big=(100_000, 512), naive=(20_000, 128, [5_000, 10_000]), pc=(10_000, 768),
            rbf=(5_000, 100_000, 64), ridge=(20_000, 256),
        )
    if 1 in sections:
        bench_linear_vs_blas(*sizes["big"], args.repeat, rng)
    if 2 in sections:
        bench_linear_vs_naive(*sizes["naive"], args.repeat, rng)
    if 3 in sections:
        bench_prepare_combine(*sizes["pc"], args.repeat, rng)
    if 4 in sections:
        bench_rbf(*sizes["rbf"], 1, rng)
    if 5 in sections:
        bench_ridge(*sizes["ridge"], 1, rng)
    print(f"machine at the end: {load()}")


if __name__ == "__main__":
    main()
