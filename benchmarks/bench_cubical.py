"""Cubical Betti curves against Cubical Ripser (``cripser``) itself.

For each case (2-D images in the T- and V-constructions, 3-D volumes in the
V-construction) times, interleaved in one run:

* ``cripser``: ``cripser.computePH`` / ``computePH_T`` on every sample, nothing else
  (the limit);
* ``gudhi``: :func:`skalign.cubical.betti_curves` with ``backend='gudhi'``;
* ``skalign+cripser``: the same with ``backend='cripser'``,

and prints each wall and CPU time as a ratio to ``cripser``, with the machine load.

Usage::

    python benchmarks/bench_cubical.py
    python benchmarks/bench_cubical.py --n 100
"""

import argparse
import time

import numpy as np
from _harness import load, machine_report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="samples per case")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import cripser

    from skalign.cubical import betti_curves

    machine_report("gudhi", "cripser")
    rng = np.random.default_rng(0)
    cases = [
        ("2-D 28x28, T", (28, 28), "T", (0, 1)),
        ("2-D 28x28, V", (28, 28), "V", (0, 1)),
        ("3-D 8x16x16, V", (8, 16, 16), "V", (0, 1, 2)),
    ]
    for label, shape, construction, dims in cases:
        X = rng.normal(size=(args.n, int(np.prod(shape))))
        eta = np.linspace(-2, 2, 21)
        compute = cripser.computePH_T if construction == "T" else cripser.computePH
        grids = [np.ascontiguousarray(-x.reshape(shape)) for x in X]
        kw = dict(homology_dimensions=dims, construction=construction, grid_shape=shape, n_jobs=1)
        fns = {
            "cripser": lambda: [compute(g, maxdim=max(dims), location="none") for g in grids],
            "gudhi": lambda: betti_curves(X, eta, backend="gudhi", **kw),
            "skalign+cripser": lambda: betti_curves(X, eta, backend="cripser", **kw),
        }
        # CPU time beside wall time: on a shared machine the wall time mostly measures the others
        wall = dict.fromkeys(fns, float("inf"))
        cpu = dict.fromkeys(fns, float("inf"))
        results = {}
        for _ in range(args.repeat):
            for name, fn in fns.items():
                w0, c0 = time.perf_counter(), time.process_time()
                results[name] = fn()
                wall[name] = min(wall[name], time.perf_counter() - w0)
                cpu[name] = min(cpu[name], time.process_time() - c0)
        same = np.array_equal(results["gudhi"], results["skalign+cripser"])
        print(f"{label} (n={args.n}; curves identical: {same}; {load()})")
        for name in fns:
            print(
                f"  {name:16s} wall {wall[name]:7.3f} s {wall[name] / wall['cripser']:5.2f} x   "
                f"cpu {cpu[name]:7.3f} s {cpu[name] / cpu['cripser']:5.2f} x cripser"
            )


if __name__ == "__main__":
    main()
