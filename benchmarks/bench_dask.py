"""Benchmark of Dask input for Procrustes and ridge: chunked sums against in-memory and the products.

Measures, in one run on one machine, for two representations X (n x d) and
Y (n x d) held as Dask arrays with row chunks of ``--chunk`` rows:

1. ``procrustes_score`` (alpha=1 and alpha=0.5) on the Dask arrays, on the
   in-memory arrays, and the products XᵀX, YᵀY, XᵀY of the in-memory arrays (the
   irreducible work of one pass), with the ratios;
2. ``ridge_regression_score`` (held out: the first 3/4 of the rows train, the rest
   test) on the Dask and the in-memory arrays, and the ratio;
3. the largest difference of the two routes' scores (they should agree to 1e-10).

The Dask computations run on the scheduler named by ``--scheduler``: 'threads'
(Dask's default), or 'cluster' (a ``LocalCluster`` of ``--workers`` processes,
one thread each, started before the timings).

Usage::

    python benchmarks/bench_dask.py --quick          # a smoke run of a few seconds
    python benchmarks/bench_dask.py                  # n=1,000,000, d=256
    python benchmarks/bench_dask.py --scheduler cluster --workers 2

The machine load is printed with every timing.
"""

import argparse
import contextlib

import numpy as np
from _harness import best_of, load, machine_report


def make_pair(n, d, chunk, seed=0):
    import dask.array as da

    rs = da.random.RandomState(seed)
    X = rs.normal(size=(n, d), chunks=(chunk, d)) + 5.0
    W = np.random.default_rng(seed).normal(size=(d, d)) / np.sqrt(d)
    Y = da.tanh(X @ W) + 0.3 * rs.normal(size=(n, d), chunks=(chunk, d))
    # persisted, so the timings read chunks rather than regenerate them
    return X.persist(), Y.persist()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scheduler", choices=("threads", "cluster"), default="threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="n=20,000, d=32, chunks of 3,000, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.d, args.chunk, args.repeat = 20_000, 32, 3_000, 1

    import dask
    from skalign.metrics import procrustes_score, ridge_regression_score

    machine_report("dask", "distributed")
    with contextlib.ExitStack() as stack:
        if args.scheduler == "cluster":
            from dask.distributed import Client, LocalCluster

            cluster = stack.enter_context(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                                       dashboard_address=":0"))
            stack.enter_context(Client(cluster))
        else:
            stack.enter_context(dask.config.set(scheduler="threads"))
        print(f"n={args.n:,}, d={args.d}, chunks of {args.chunk:,} rows, scheduler={args.scheduler}")
        Xd, Yd = make_pair(args.n, args.d, args.chunk)
        X, Y = dask.compute(Xd, Yd)
        t_prod, _ = best_of(lambda: (X.T @ X, Y.T @ Y, X.T @ Y), args.repeat)
        print(f"{'products XᵀX, YᵀY, XᵀY (in memory)':<44s} {t_prod:8.2f} s   ({load()})")
        diffs = []
        for alpha in (1.0, 0.5):
            t_mem, s_mem = best_of(lambda: procrustes_score(X, Y, alpha=alpha), args.repeat)
            t_dask, s_dask = best_of(lambda: procrustes_score(Xd, Yd, alpha=alpha), args.repeat)
            diffs.append(abs(s_mem - s_dask))
            print(f"{f'procrustes_score alpha={alpha} in memory':<44s} {t_mem:8.2f} s   ({load()})")
            print(f"{f'procrustes_score alpha={alpha} Dask':<44s} {t_dask:8.2f} s   ({load()})"
                  f"   Dask/in-memory {t_dask / t_mem:5.2f}   Dask/products {t_dask / t_prod:5.2f}")
        cut = 3 * args.n // 4
        t_mem, s_mem = best_of(lambda: ridge_regression_score(X[:cut], Y[:cut], X[cut:], Y[cut:]), args.repeat)
        t_dask, s_dask = best_of(lambda: ridge_regression_score(Xd[:cut], Yd[:cut], Xd[cut:], Yd[cut:]),
                                 args.repeat)
        diffs.append(abs(s_mem - s_dask))
        print(f"{'ridge_regression_score held out, in memory':<44s} {t_mem:8.2f} s   ({load()})")
        print(f"{'ridge_regression_score held out, Dask':<44s} {t_dask:8.2f} s   ({load()})"
              f"   Dask/in-memory {t_dask / t_mem:5.2f}")
        print(f"largest |Dask - in-memory| of the scores: {max(diffs):.1e}")


if __name__ == "__main__":
    main()
