"""Linear CKA against its irreducible work: the three products AᵀA, BᵀB, AᵀB.

Times, interleaved in one run (so a change of load hits every case alike):

* ``products``: ``A.T @ A``, ``B.T @ B``, ``A.T @ B`` (NumPy's matmul, default BLAS threads);
* ``scorer``: ``CKAScorer().fit(A, B).score(A, B)``, the estimator's whole path
  (validation in fit and in score, the zero-variance check, the CKA itself);
* ``cka``: :func:`skalign.metrics.cka` (validation once);
* ``prepare x2 + combine``: the CKA work without validation;
* ``centred (previous route)``: the same with column means of 3 sigma, which take
  the centred route (an n x d copy per representation).

and prints each wall time and CPU time (this process, all threads) as a ratio to
``products``, with the machine load: on a shared machine the CPU time is the
steadier of the two.

Usage::

    python benchmarks/bench_cka_limit.py                  # n=100,000, d=256
    python benchmarks/bench_cka_limit.py --n 20000 --d 128
"""

import argparse
import time

import numpy as np
from _harness import load, machine_report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from skalign.estimators import CKAScorer
    from skalign.kernels import cka, combine_cka, prepare_cka

    machine_report()
    rng = np.random.default_rng(0)
    A = rng.normal(size=(args.n, args.d))
    B = np.tanh(A @ rng.normal(size=(args.d, args.d)) / np.sqrt(args.d)) + rng.normal(size=(args.n, args.d))
    A_off, B_off = A + 3.0, B + 3.0 * B.std()

    cases = {
        "products": lambda: (A.T @ A, B.T @ B, A.T @ B),
        "scorer": lambda: CKAScorer().fit(A, B).score(A, B),
        "cka": lambda: cka(A, B),
        "prepare x2 + combine": lambda: combine_cka(prepare_cka(A, validate=False), prepare_cka(B, validate=False)),
        "centred (previous route)": lambda: combine_cka(
            prepare_cka(A_off, validate=False), prepare_cka(B_off, validate=False)
        ),
    }
    print(f"n={args.n}, d={args.d}, float64; {load()}")
    # CPU time of this process (all its threads) beside wall time: on a machine shared
    # with other work the wall time mostly measures the others, the CPU time far less
    wall = dict.fromkeys(cases, float("inf"))
    cpu = dict.fromkeys(cases, float("inf"))
    for _ in range(args.repeat):
        for label, fn in cases.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[label] = min(wall[label], time.perf_counter() - w0)
            cpu[label] = min(cpu[label], time.process_time() - c0)
    for label in cases:
        print(
            f"{label:28s} wall {wall[label]:8.3f} s {wall[label] / wall['products']:5.2f} x   "
            f"cpu {cpu[label]:8.3f} s {cpu[label] / cpu['products']:5.2f} x products"
        )
    print(load())


if __name__ == "__main__":
    main()
