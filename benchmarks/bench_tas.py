"""Benchmark of the Topological Alignment Spectrum.

Three parts, each runnable alone (``--part``), figures printed as measured in one run:

``exact-small``
    n=2,000, d=64, every k: the one-pass spectrum against recomputing the
    neighbours for every k (timed on a subset of k and projected to all n-2).
``exact-large``
    n=20,000, every k, streamed: wall time and peak memory (resident set and the
    numpy allocations traced by tracemalloc).
``approx``
    n=200,000 clustered points, d=64, k_max=100 with pynndescent, timed after the
    numba warm-up; accuracy against the exact spectrum (k <= 100) at n=50,000.

Usage::

    python benchmarks/bench_tas.py --part exact-small
    python benchmarks/bench_tas.py --part exact-large
    python benchmarks/bench_tas.py --part approx [--n-approx 200000 --n-check 50000]

Run each part in its own process so that the resident-set peak belongs to it.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from _harness import Timer, load, machine_report, peak_rss_mib

from skalign.datasets import make_alignment_pair
from skalign.neighbors import kneighbors
from skalign.metrics import (
    combine_neighborhoods,
    prepare_neighborhoods,
    tas_chance,
    tas_from_jaccard,
    tas_spectrum,
)


def _pair(n, d, seed, n_clusters=4):
    X, Y, _ = make_alignment_pair(
        "jitter", n_samples=n, n_clusters=n_clusters, n_features=d, random_state=seed
    )
    return X.astype(np.float64), Y.astype(np.float64)


def _per_k_baseline(X, Y, k):
    """What the one pass replaces: fresh k-neighbour search in X and Y, then the overlap."""
    IX = kneighbors(X, k, algorithm="brute", return_distance=False)
    IY = kneighbors(Y, k, algorithm="brute", return_distance=False)
    n = X.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    common = np.intersect1d(rows * n + IX.ravel(), rows * n + IY.ravel(), assume_unique=True)
    o = np.bincount(common // n, minlength=n).astype(np.float64)
    J = (o / (2.0 * k - o)).mean()
    E = tas_chance([k], n)[0]
    return (J - E) / (1 - E)


def part_exact_small(args):
    n, d = args.n_small, 64
    X, Y = _pair(n, d, 0)
    tas_spectrum(X[:200], Y[:200])  # warm caches and imports
    runs = []
    for _ in range(args.repeats):
        with Timer() as t:
            res = tas_spectrum(X, Y)
        runs.append(t)
    w_one = min(r.wall for r in runs)
    c_one = min(r.cpu for r in runs)
    ks = np.unique(np.linspace(1, n - 2, args.baseline_ks).round().astype(int))
    with Timer() as tb:
        base = [_per_k_baseline(X, Y, int(k)) for k in ks]
    # the baseline and the one pass compute the same numbers
    gap = float(np.abs(np.asarray(base) - res.tas[ks - 1]).max())
    w_proj = tb.wall / ks.size * (n - 2)
    c_proj = tb.cpu / ks.size * (n - 2)
    print(f"[exact-small] n={n} d={d} all k=1..{n - 2}")
    print(
        f"  one pass, best of {args.repeats}:  wall {w_one:7.3f} s  cpu {c_one:7.3f} s"
        f"   (wall runs: {', '.join(f'{r.wall:.3f}' for r in runs)})"
    )
    print(
        f"  per-k recomputation, {ks.size} k timed: wall {tb.wall:7.2f} s  cpu {tb.cpu:7.2f} s"
        f"  -> per k: wall {tb.wall / ks.size:.4f} s, cpu {tb.cpu / ks.size:.4f} s"
    )
    print(f"  projected to all {n - 2} k:        wall {w_proj:7.1f} s  cpu {c_proj:7.1f} s")
    print(
        f"  speed-up (projected / one pass):   wall {w_proj / w_one:7.0f} x  "
        f"cpu {c_proj / c_one:7.0f} x"
    )
    print(f"  max |TAS one pass - TAS per k| on the timed k: {gap:.2e}")


def part_exact_large(args):
    n, d = args.n_large, 64
    X, Y = _pair(n, d, 1)
    rss0 = peak_rss_mib()
    tracemalloc.start()
    with Timer() as t:
        res = tas_spectrum(X, Y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"[exact-large] n={n} d={d} all k=1..{n - 2}, mode={res.mode}")
    print(f"  time:                            wall {t.wall:8.1f} s  cpu {t.cpu:8.1f} s")
    print(f"  peak traced numpy/python memory: {peak / 2**20:8.0f} MiB")
    print(
        f"  peak resident set (whole process, incl. inputs {2 * X.nbytes / 2**20:.0f} MiB): "
        f"{peak_rss_mib():8.0f} MiB (before: {rss0:.0f} MiB)"
    )
    print(
        f"  TAS at k=10, n/8, n/2: {res.tas[9]:.3f} {res.tas[n // 8 - 1]:.3f} "
        f"{res.tas[n // 2 - 1]:.3f}"
    )


def part_approx(args):
    d, k_max = 64, 100
    t0 = time.perf_counter()
    Xw, Yw = _pair(2000, d, 9)
    tas_spectrum(Xw, Yw, algorithm="pynndescent", random_state=0, n_jobs=args.n_jobs)
    print(f"[approx] numba warm-up (n=2,000): {time.perf_counter() - t0:.1f} s")

    n = args.n_approx
    if n:
        X, Y = _pair(n, d, 2, n_clusters=args.n_clusters)
        with Timer() as t:
            res = tas_spectrum(X, Y, algorithm="pynndescent", random_state=0, n_jobs=args.n_jobs)
        print(
            f"[approx] n={n} d={d} {args.n_clusters} clusters, k grid of {res.k.size} sizes up to "
            f"{res.k[-1]}, n_jobs={args.n_jobs}"
        )
        print(
            f"  both searches + spectrum: wall {t.wall:8.1f} s  cpu {t.cpu:8.1f} s   "
            f"peak RSS {peak_rss_mib():.0f} MiB"
        )

    n = args.n_check
    if not n:
        return
    X, Y = _pair(n, d, 3, n_clusters=args.n_clusters)
    t0 = time.perf_counter()
    kw = dict(algorithm="pynndescent", random_state=0, n_jobs=args.n_jobs)
    PX, PY = prepare_neighborhoods(X, **kw), prepare_neighborhoods(Y, **kw)
    a = combine_neighborhoods(PX, PY)
    t_a = time.perf_counter() - t0
    t0 = time.perf_counter()
    # exact k_max lists by brute force give the exact spectrum for k <= k_max
    EX = prepare_neighborhoods(X, a.k, algorithm="brute")
    EY = prepare_neighborhoods(Y, a.k, algorithm="brute")
    e = combine_neighborhoods(EX, EY)
    t_e = time.perf_counter() - t0
    E = tas_chance(a.k, n)
    ta, te = tas_from_jaccard(a.jaccard, E), tas_from_jaccard(e.jaccard, E)
    gap = np.abs(ta - te)
    recall = np.mean(
        [
            np.intersect1d(PX.data[i], EX.data[i, :k_max]).size / k_max
            for i in range(0, n, max(1, n // 2000))
        ]
    )
    print(
        f"[approx check] n={n}: approximate {t_a:.1f} s, exact (brute lists) {t_e:.1f} s, "
        f"neighbour recall at k={k_max}: {recall:.3f}"
    )
    print(
        f"  max |TAS approx - TAS exact| over k <= {k_max}: {gap.max():.4f} "
        f"(at k={a.k[gap.argmax()]})"
    )
    for k in (1, 10, 30, 100):
        i = np.searchsorted(a.k, k)
        if i < a.k.size and a.k[i] == k:
            print(f"    k={k:4d}: exact {te[i]:.4f}  approx {ta[i]:.4f}")


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--part", choices=["exact-small", "exact-large", "approx", "all"], default="exact-small"
    )
    p.add_argument("--n-small", type=int, default=2000)
    p.add_argument("--n-large", type=int, default=20000)
    p.add_argument("--n-approx", type=int, default=200000)
    p.add_argument("--n-check", type=int, default=50000)
    p.add_argument(
        "--n-clusters", type=int, default=50, help="clusters of the approximate-path data"
    )
    p.add_argument("--n-jobs", type=int, default=2, help="pynndescent threads")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--baseline-ks", type=int, default=20, help="k values timed for the per-k baseline"
    )
    args = p.parse_args()
    machine_report("pynndescent")
    parts = ["exact-small", "exact-large", "approx"] if args.part == "all" else [args.part]
    for part in parts:
        {"exact-small": part_exact_small, "exact-large": part_exact_large, "approx": part_approx}[
            part
        ](args)
    print(load())


if __name__ == "__main__":
    main()
