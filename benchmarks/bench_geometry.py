"""Pointwise local intrinsic dimension: fast mode at scale, exact mode against scikit-dimension.

1. Fast mode, n=100,000, d=768, k=128, approximate neighbours (pynndescent): total
   time, split into the kNN graph and the O(n k) estimate on top of it. The first
   pynndescent call of a process compiles with numba; a small warm-up call is timed
   separately so the figure is the search itself.
2. Exact mode (TwoNN on each neighbourhood's own point set), n=10,000, d=768,
   k=128: time, and the speed ratio against scikit-dimension's
   ``TwoNN().fit_pw(X, n_neighbors=128)``, which does the same computation point by
   point, measured in the same run (``pip install scikit-dimension``; benchmark-only).

Data: a 12-dimensional Gaussian latent pushed through a random tanh layer into
R^768, plus small isotropic noise, in float32, like a layer's activations.

    python benchmarks/bench_geometry.py [--n-fast 100000] [--n-exact 10000] [--d 768] [--k 128]
        [--skip-fast] [--skip-exact] [--skip-skdim]
"""

import argparse
import time

import numpy as np
from _harness import load, machine_report

from skalign import geometry
from skalign.metrics import local_intrinsic_dimension
from skalign.neighbors import kneighbors


def _activations(n, d, latent=12, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, latent)).astype(np.float32)
    W = rng.normal(size=(latent, d)).astype(np.float32) / np.sqrt(latent)
    X = np.tanh(Z @ W)
    X += np.float32(0.01) * rng.normal(size=(n, d)).astype(np.float32)
    return X


def bench_fast(n, d, k):
    X = _activations(n, d)
    t = time.perf_counter()
    kneighbors(X[:2000], 5, algorithm="pynndescent", random_state=0)
    print(f"  pynndescent warm-up (numba compilation, n=2000): {time.perf_counter() - t:.1f} s")
    # time the kNN graph inside the same end-to-end call rather than searching twice
    graph_time = []

    def timed_kneighbors(*a, **kw):
        t0 = time.perf_counter()
        out = kneighbors(*a, **kw)
        graph_time.append(time.perf_counter() - t0)
        return out

    geometry.kneighbors = timed_kneighbors
    try:
        t = time.perf_counter()
        lid = geometry.local_intrinsic_dimension(X, k, mode="fast", algorithm="pynndescent", random_state=0)
        total = time.perf_counter() - t
    finally:
        geometry.kneighbors = kneighbors
    print(f"  fast mode, n={n}, d={d}, k={k}, pynndescent: {total:.1f} s end to end, of which the kNN "
          f"graph {graph_time[0]:.1f} s and the rest (validation, duplicate check, O(n k) estimate) "
          f"{total - graph_time[0]:.1f} s")
    print(f"  mean local ID {lid.mean():.2f} (median {np.median(lid):.2f}); latent dimension 12")


def bench_exact(n, d, k, skip_skdim):
    X = _activations(n, d, seed=1)
    t = time.perf_counter()
    ours = local_intrinsic_dimension(X, k, mode="exact", algorithm="brute")
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    fast = local_intrinsic_dimension(X, k, mode="fast", algorithm="brute")
    t_fast = time.perf_counter() - t
    print(f"  skalign exact mode, n={n}, d={d}, k={k} (exact kNN): {t_ours:.1f} s; mean local ID "
          f"{ours.mean():.2f}")
    print(f"  skalign fast mode on the same data (exact kNN): {t_fast:.1f} s; mean local ID {fast.mean():.2f}; "
          f"exact/fast time ratio {t_ours / t_fast:.2f}")
    if skip_skdim:
        return
    try:
        import skdim
    except ImportError:
        print("  scikit-dimension is not installed: pip install scikit-dimension")
        return
    t = time.perf_counter()
    ref = skdim.id.TwoNN().fit_pw(X, n_neighbors=k).dimension_pw_
    t_ref = time.perf_counter() - t
    # same estimator (F_i = i / N, top 10 % dropped, neighbourhood = k neighbours
    # without the point), so the pointwise values should agree to rounding
    print(f"  scikit-dimension TwoNN().fit_pw(n_neighbors={k}): {t_ref:.1f} s; mean local ID "
          f"{np.mean(ref):.2f}; pointwise correlation with skalign exact {np.corrcoef(ref, ours)[0, 1]:.4f}, "
          f"median |diff| {np.median(np.abs(ref - ours)):.3f}")
    print(f"  speed ratio scikit-dimension / skalign exact: {t_ref / t_ours:.1f}x")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n-fast", type=int, default=100_000)
    p.add_argument("--n-exact", type=int, default=10_000)
    p.add_argument("--d", type=int, default=768)
    p.add_argument("--k", type=int, default=128)
    p.add_argument("--skip-fast", action="store_true")
    p.add_argument("--skip-exact", action="store_true")
    p.add_argument("--skip-skdim", action="store_true")
    args = p.parse_args()
    machine_report("pynndescent")
    if not args.skip_exact:
        print("exact mode:")
        bench_exact(args.n_exact, args.d, args.k, args.skip_skdim)
        print(load())
    if not args.skip_fast:
        print("fast mode:")
        bench_fast(args.n_fast, args.d, args.k)
        print(load())


if __name__ == "__main__":
    main()
