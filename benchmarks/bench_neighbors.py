"""Exact neighbour search at n=50,000, d=128: time, peak memory, agreement, reproducibility.

Peak memory is measured with tracemalloc (numpy reports its buffers to it) and set
beside the n x n float64 matrix a naive search would allocate. The reference is
scikit-learn's brute-force NearestNeighbors, timed in the same run.

    python benchmarks/bench_neighbors.py [--n 50000] [--d 128] [--k 10]
"""

import argparse
import time
import tracemalloc

import numpy as np
from _harness import load, machine_report, peak_rss_mib
from sklearn import config_context
from sklearn.neighbors import NearestNeighbors

from skalign.neighbors import kneighbors


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--working-memory", type=float, default=256.0, help="MiB per block")
    p.add_argument("--approx", action="store_true", help="also time pynndescent (compiles with numba)")
    args = p.parse_args()
    machine_report()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n, args.d)).astype(np.float64)
    nn_bytes = args.n * args.n * 8
    rss0 = peak_rss_mib()

    tracemalloc.start()
    t = time.perf_counter()
    d1, i1 = kneighbors(X, args.k, algorithm="brute", working_memory=args.working_memory)
    t_ours = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = peak_rss_mib()
    # tracemalloc sees numpy's buffers but not scikit-learn's C++ chunk buffers; the
    # process's peak resident set covers both (X itself is in the baseline)
    print(f"peak RSS: {rss0:.0f} MiB before the search (X = {X.nbytes / 2**20:.0f} MiB), "
          f"{rss1:.0f} MiB after: the search added at most {rss1 - rss0:.0f} MiB")
    print(f"skalign exact kneighbors: {t_ours:.1f} s, peak traced memory {peak / 2**20:.0f} MiB "
          f"(working_memory={args.working_memory:.0f} MiB; an n x n float64 matrix would be "
          f"{nn_bytes / 2**30:.1f} GiB, ratio {nn_bytes / peak:.0f}x)")

    _, i2 = kneighbors(X, args.k, algorithm="brute", working_memory=args.working_memory / 4)
    print(f"reproducible across block sizes: {np.array_equal(i1, i2)}")

    with config_context(working_memory=args.working_memory):
        t = time.perf_counter()
        ref = NearestNeighbors(n_neighbors=args.k + 1, algorithm="brute").fit(X)
        dr, ir = ref.kneighbors(X)
        t_ref = time.perf_counter() - t
    ir = ir[:, 1:]
    agree = np.mean(ir == i1)
    print(f"sklearn brute NearestNeighbors: {t_ref:.1f} s; skalign/sklearn time ratio {t_ours / t_ref:.2f}; "
          f"identical neighbour lists: {agree:.4%} of entries; max |dist diff| {np.abs(dr[:, 1:] - d1).max():.2e}")

    if args.approx:
        t = time.perf_counter()
        kneighbors(X[:2000], args.k, algorithm="pynndescent", random_state=0)
        t_warm = time.perf_counter() - t
        t = time.perf_counter()
        _, ia = kneighbors(X, args.k, algorithm="pynndescent", random_state=0)
        t_a = time.perf_counter() - t
        recall = np.mean([len(set(a) & set(b)) / args.k for a, b in zip(ia, i1)])
        print(f"pynndescent: warm-up {t_warm:.1f} s, then {t_a:.1f} s, recall@{args.k} {recall:.3f}")
    print(load())


if __name__ == "__main__":
    main()
