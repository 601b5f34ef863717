"""Exact TAS against the hardware limit, thread scaling, and the approximate path at scale.

Parts, each runnable alone (``--part``); every figure is printed with the load:

``limit``
    n=4,000, d=64, every k, one thread: ``tas_score`` against its irreducible work,
    two Gram blocks (``Z Z^T`` of both representations) and two row argsorts of the
    distances with numpy's default sort. Interleaved best-of, one run: the ratio.
``jobs``
    The same fit with ``n_jobs=1`` and ``n_jobs=2`` (BLAS at one thread inside each
    worker): the speed-up.
``large``
    n=20,000, every k, streamed: wall time and peak resident set, with the
    ``working_memory`` that bounds the blocks.
``approx``
    Approximate TAS (pynndescent, k <= 100) at ``--n-approx`` rows, d=64: time, peak
    resident set, and recall of the neighbour lists against the exact ones on a
    ``--n-check`` row subsample.

Usage::

    python benchmarks/bench_tas_limit.py --part limit
    python benchmarks/bench_tas_limit.py --part jobs
    python benchmarks/bench_tas_limit.py --part large
    python benchmarks/bench_tas_limit.py --part approx --n-approx 100000
    python benchmarks/bench_tas_limit.py --part limit --quick   # smoke run, seconds

Run each part in its own process so that the resident-set peak belongs to it.
"""

from __future__ import annotations

import argparse

import numpy as np
from _harness import Timer, interleaved_best_of, load, machine_report, peak_rss_mib
from threadpoolctl import threadpool_limits

from skalign.datasets import make_alignment_pair
from skalign.metrics import tas_score


def _pair(n, d, seed=0):
    X, Y, _ = make_alignment_pair("jitter", n_samples=n, n_clusters=4, n_features=d, random_state=seed)
    return X.astype(np.float64), Y.astype(np.float64)


def _sq_dist(Z):
    """Squared Euclidean distances by the Gram formula: one product and two broadcasts."""
    s = np.einsum("ij,ij->i", Z, Z)
    D = Z @ Z.T
    D *= -2.0
    D += s[:, None]
    D += s[None, :]
    return D


def _limit(X, Y):
    for Z in (X, Y):
        np.argsort(_sq_dist(Z), axis=1)


def _interleaved_wall_cpu(cases, repeat):
    """Best wall and best CPU seconds of each case, the cases run in turn.

    On one thread the CPU time is the work itself, steadier than the wall time
    when other processes share the cores; both ratios are printed.
    """
    wall = dict.fromkeys(cases, float("inf"))
    cpu = dict.fromkeys(cases, float("inf"))
    for _ in range(max(1, repeat)):
        for label, fn in cases.items():
            with Timer() as t:
                fn()
            wall[label] = min(wall[label], t.wall)
            cpu[label] = min(cpu[label], t.cpu)
    return wall, cpu


def part_limit(n, d, repeat):
    X, Y = _pair(n, d)
    before = load()
    with threadpool_limits(1):
        wall, cpu = _interleaved_wall_cpu(
            {"limit": lambda: _limit(X, Y), "tas": lambda: tas_score(X, Y, algorithm="brute")},
            repeat=repeat,
        )
    print(f"n={n}, d={d}, every k, one thread ({before} -> {load()})")
    print(f"  irreducible (2 Gram + 2 argsort): {wall['limit']:.3f} s wall, {cpu['limit']:.3f} s CPU")
    print(f"  tas_score:                        {wall['tas']:.3f} s wall, {cpu['tas']:.3f} s CPU")
    print(f"  ratio: {wall['tas'] / wall['limit']:.2f}x (wall), {cpu['tas'] / cpu['limit']:.2f}x (CPU)")


def part_jobs(n, d, repeat):
    X, Y = _pair(n, d)
    best, res = interleaved_best_of(
        {
            "1": lambda: tas_score(X, Y, algorithm="brute", n_jobs=1),
            "2": lambda: tas_score(X, Y, algorithm="brute", n_jobs=2),
        },
        repeat=repeat,
    )
    same = res["1"] == res["2"]
    print(f"n={n}, d={d}, every k ({load()})")
    print(f"  n_jobs=1: {best['1']:.3f} s   n_jobs=2: {best['2']:.3f} s   speed-up {best['1'] / best['2']:.2f}x"
          f"   (identical: {same})")


def part_large(n, d, working_memory, n_jobs):
    X, Y = _pair(n, d)
    before = load()
    with Timer() as t:
        s = tas_score(X, Y, algorithm="brute", working_memory=working_memory, n_jobs=n_jobs)
    print(f"n={n}, d={d}, every k, working_memory={working_memory} MiB, n_jobs={n_jobs}: "
          f"{t.wall:.1f} s wall, {t.cpu:.1f} s CPU, peak RSS {peak_rss_mib():.0f} MiB, TAS {s:.6f}"
          f"   ({before} -> {load()})")


def _trace_pynndescent():
    """Have pynndescent print its stages with time stamps (where the time goes)."""
    import pynndescent

    cls = pynndescent.NNDescent
    pynndescent.NNDescent = lambda *args, **kwargs: cls(*args, **{**kwargs, "verbose": True})


def part_approx(n, d, n_check, n_jobs, k_max=100, graph=True, score=True, trace=False):
    from skalign.neighbors import kneighbors

    if trace:
        _trace_pynndescent()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(16, d)) * 4.0
    X = (centres[rng.integers(0, 16, n)] + rng.normal(size=(n, d))).astype(np.float32)
    # numba compiles pynndescent on first use (tens of seconds): timed apart
    with Timer() as t:
        kneighbors(X[:2000], 10, algorithm="pynndescent", random_state=0, n_jobs=n_jobs, return_distance=False)
    print(f"pynndescent first use (numba compilation), 2,000 rows: {t.wall:.1f} s wall   ({load()})")
    if graph:
        _approx_graph(X, n_check, n_jobs, k_max, rng)
    if score:
        # the TAS of a pair, approximate, as a user would call it
        Y = X + np.random.default_rng(1).normal(scale=0.5, size=X.shape).astype(np.float32)
        before = load()
        with Timer() as t:
            s = tas_score(X, Y, algorithm="pynndescent", random_state=0, n_jobs=n_jobs)
        print(f"  approximate tas_score (both graphs): {t.wall:.1f} s wall, {t.cpu:.1f} s CPU, "
              f"peak RSS {peak_rss_mib():.0f} MiB, TAS {s:.4f}   ({before} -> {load()})")


def _approx_graph(X, n_check, n_jobs, k_max, rng):
    from skalign.neighbors import kneighbors
    from skalign.spectrum import _overlap_lists

    n, d = X.shape
    before = load()
    with Timer() as t:
        ind = kneighbors(X, k_max, algorithm="pynndescent", random_state=0, n_jobs=n_jobs,
                         return_distance=False)
    rss = peak_rss_mib()
    print(f"pynndescent kNN graph, n={n}, d={d}, k={k_max}, n_jobs={n_jobs}: {t.wall:.1f} s wall, "
          f"{t.cpu:.1f} s CPU, peak RSS {rss:.0f} MiB   ({before} -> {load()})")
    # recall on a subsample of queries, against the exact neighbours among all n
    q = np.sort(rng.choice(n, size=min(n_check, n), replace=False))
    Xq = X[q].astype(np.float64)
    X64 = X.astype(np.float64)
    sq = np.einsum("ij,ij->i", X64, X64)
    hits = 0
    for lo in range(0, q.size, 256):
        rows = q[lo:lo + 256]
        D = sq[rows][:, None] - 2.0 * (Xq[lo:lo + 256] @ X64.T) + sq[None, :]
        D[np.arange(rows.size), rows] = np.inf
        exact = np.argpartition(D, k_max, axis=1)[:, :k_max]
        hits += sum(np.intersect1d(a, b).size for a, b in zip(exact, ind[rows]))
    print(f"  recall@{k_max} on {q.size} queries: {hits / (q.size * k_max):.4f}   ({load()})")
    # the combination of two graphs, timed alone: this one against itself with every
    # row's list rolled by one place (the same work as two different graphs)
    ks = np.arange(1, k_max + 1)
    with Timer() as t:
        _overlap_lists(ind, np.roll(ind, 1, axis=1), ks)
    print(f"  overlap of two {k_max}-neighbour graphs, every k <= {k_max}: {t.wall:.1f} s wall, "
          f"peak RSS {peak_rss_mib():.0f} MiB   ({load()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["limit", "jobs", "large", "approx"], required=True)
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--working-memory", type=float, default=256.0)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--n-approx", type=int, default=1_000_000)
    ap.add_argument("--n-check", type=int, default=20_000)
    ap.add_argument("--no-score", action="store_true",
                    help="approx: one graph, its recall and the overlap step; skip tas_score (two graphs)")
    ap.add_argument("--no-graph", action="store_true",
                    help="approx: skip the one-graph timing, recall and overlap; time tas_score only")
    ap.add_argument("--trace", action="store_true", help="approx: pynndescent prints its stages")
    ap.add_argument("--quick", action="store_true", help="smoke run: small n, one repeat")
    a = ap.parse_args()
    if a.quick:
        a.n = a.n or {"limit": 800, "jobs": 800, "large": 2000}.get(a.part)
        a.repeat = 1
        a.n_approx, a.n_check = min(a.n_approx, 5000), min(a.n_check, 500)
    machine_report("pynndescent")
    if a.part == "limit":
        part_limit(a.n or 4000, a.d, a.repeat)
    elif a.part == "jobs":
        part_jobs(a.n or 4000, a.d, a.repeat)
    elif a.part == "large":
        part_large(a.n or 20_000, a.d, a.working_memory, a.n_jobs)
    else:
        part_approx(a.n_approx, a.d, a.n_check, a.n_jobs, graph=not a.no_graph,
                    score=not a.no_score, trace=a.trace)


if __name__ == "__main__":
    main()
