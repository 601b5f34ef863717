"""Cubical Betti curves against Cubical Ripser (``cripser``) itself.

For each case (2-D images in the T- and V-constructions, 3-D volumes in the
V-construction) times, interleaved in one run:

* ``cripser``: ``cripser.computePH`` / ``computePH_T`` on every sample, nothing else
  (the limit);
* ``gudhi``: :func:`skalign.cubical.betti_curves` with ``backend='gudhi'``;
* ``skalign+cripser``: the same with ``backend='cripser'``,

and prints each as a ratio to ``cripser``, with the machine load.

Usage::

    python benchmarks/bench_cubical.py
    python benchmarks/bench_cubical.py --n 100
"""

import argparse

import numpy as np
from _harness import interleaved_best_of, load, machine_report


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
        timings, results = interleaved_best_of(
            {
                "cripser": lambda: [compute(g, maxdim=max(dims), location="none") for g in grids],
                "gudhi": lambda: betti_curves(X, eta, backend="gudhi", **kw),
                "skalign+cripser": lambda: betti_curves(X, eta, backend="cripser", **kw),
            },
            repeat=args.repeat,
        )
        same = np.array_equal(results["gudhi"], results["skalign+cripser"])
        base = timings["cripser"]
        print(f"{label} (n={args.n}; curves identical: {same}; {load()})")
        for name, t in timings.items():
            print(f"  {name:16s} {t:8.3f} s  {t / base:5.2f} x cripser")


if __name__ == "__main__":
    main()
