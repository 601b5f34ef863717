"""Benchmark of skalign.alignment_matrix: preparation reuse and parallel runs.

Measures, in one run on one machine:

1. a 12 x 12 layer matrix (n=10,000 samples, d=768 features, float64) with linear
   CKA, computed by ``alignment_matrix`` (each layer prepared once, the upper
   triangle combined) against ``CKAScorer().fit(A, B).score(A, B)`` called for all
   144 cells, and the ratio of the two;
2. the same ``alignment_matrix`` call with ``n_jobs=2`` against ``n_jobs=1``;
3. the same matrix for TopologicalAlignmentSpectrum at k=10 and k=100;
4. with ``--gram-limit``: the float32 matrix of linear CKA (biased and debiased)
   against one Gram product of all layers stacked, Z = [L1 ... L12], ZᵀZ, its
   irreducible work, and the ratio of each.
5. with ``--measures``: the same for the other measures whose pairs reduce to d x d
   statistics (normalised Bures similarity, GULP, mean CCA): each is ZᵀZ plus a
   d x d factorisation per layer or pair, so its ratio says what that costs. The
   measures on n x n matrices (RSA, distance correlation, CKNNA) have no such
   limit and are not in it.

Usage::

    python benchmarks/bench_matrix.py                 # the full benchmark
    python benchmarks/bench_matrix.py --n 2000 --d 128 --layers 6   # a quick look

The machine load (``os.getloadavg``) is printed before and after each timing,
because shared machines make the absolute times noisy; the ratios are measured
back to back in one run.
"""

import argparse

import numpy as np
from _harness import machine_report, timed


def make_layers(n_layers, n, d, seed=0):
    """Layers that drift away from a shared latent code, like successive network layers."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 64))
    layers = {}
    h = latent
    for layer in range(n_layers):
        W = rng.normal(size=(h.shape[1], d)) / np.sqrt(h.shape[1])
        h = np.tanh(h @ W) + 0.3 * rng.normal(size=(n, d))
        layers[f"layer{layer:02d}"] = h
    return layers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=768)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--tas-k", type=int, nargs="*", default=[10, 100])
    parser.add_argument("--skip-naive", action="store_true", help="skip the pair-by-pair calls")
    parser.add_argument(
        "--naive-cells",
        type=int,
        default=None,
        help="time only this many pair-by-pair cells (row-major) and scale the time "
        "to all cells; every call does the same work, so this saves time on a "
        "busy machine",
    )
    parser.add_argument(
        "--single-thread-blas",
        action="store_true",
        help="also time n_jobs=1 with BLAS pinned to one thread",
    )
    parser.add_argument("--n-jobs", type=int, nargs="*", default=[1, 2])
    parser.add_argument(
        "--gram-limit",
        action="store_true",
        help="also time the float32 matrix (linear CKA, biased and debiased) against one "
        "Gram product of all layers stacked, Z = [L1 ... LL], Z^T Z",
    )
    parser.add_argument(
        "--measures",
        action="store_true",
        help="also time the float32 matrices of Bures, GULP and mean CCA against Z^T Z",
    )
    args = parser.parse_args(argv)

    from skalign import CKAScorer, TopologicalAlignmentSpectrum, alignment_matrix, pivot_alignment

    machine_report("joblib")
    L = args.layers
    print(f"{L} x {L} layers, n={args.n}, d={args.d}, float64")
    layers = make_layers(L, args.n, args.d)
    names = list(layers)

    results = {}
    cells = list(np.ndindex(L, L))
    if args.naive_cells is not None:
        cells = cells[: args.naive_cells]
    if not args.skip_naive:

        def naive():
            M = np.full((L, L), np.nan)
            for r, c in cells:
                A, B = layers[names[r]], layers[names[c]]
                M[r, c] = CKAScorer().fit(A, B).score(A, B)
            return M

        dt, M_naive = timed(f"CKA pair by pair ({len(cells)} fit+score calls)", naive)
        results["naive"] = dt * (L * L) / len(cells)
        if len(cells) < L * L:
            print(f"    scaled to all {L * L} cells: {results['naive']:.2f} s")

    for n_jobs in args.n_jobs:
        if n_jobs != 1:
            # start the worker processes and import skalign in them: a one-off cost, not timed
            small = {k: v[:50, :8] for k, v in layers.items()}
            alignment_matrix(small, scorer=CKAScorer(), n_jobs=n_jobs)
        results[n_jobs], df = timed(
            f"CKA alignment_matrix, n_jobs={n_jobs} ({L * (L + 1) // 2} combines)",
            lambda: alignment_matrix(layers, scorer=CKAScorer(), n_jobs=n_jobs),
        )
        M = pivot_alignment(df).loc[names, names].to_numpy()
        if not args.skip_naive:
            print(f"    max |matrix - pair by pair| = {np.nanmax(np.abs(M - M_naive)):.2e}")

    if args.single_thread_blas and 1 in args.n_jobs:
        from threadpoolctl import threadpool_limits

        # n_jobs=1 already multiplies with every core through BLAS threads; pinning BLAS to
        # one thread (as loky does in each of its workers) isolates what the joblib layer adds
        with threadpool_limits(1):
            results["1-thread"], _ = timed(
                "CKA alignment_matrix, n_jobs=1, BLAS pinned to 1 thread",
                lambda: alignment_matrix(layers, scorer=CKAScorer(), n_jobs=1),
            )

    print()
    if "naive" in results and 1 in results:
        ratio = results["naive"] / results[1]
        print(f"preparation reuse speed-up (n_jobs=1 vs pair by pair): {ratio:.1f}x")
    if 1 in results and 2 in results:
        print(
            f"n_jobs=2 speed-up over n_jobs=1:                       {results[1] / results[2]:.2f}x"
        )

    if "1-thread" in results and 2 in results:
        ratio = results["1-thread"] / results[2]
        print(f"n_jobs=2 speed-up over n_jobs=1 with 1 BLAS thread:    {ratio:.2f}x")

    if args.gram_limit:
        gram_limit(layers)
    if args.measures:
        measures_limit(layers)

    for k in args.tas_k:
        for n_jobs in args.n_jobs[:1]:
            timed(
                f"TAS k={k} alignment_matrix, n_jobs={n_jobs}",
                lambda: alignment_matrix(
                    layers, scorer=TopologicalAlignmentSpectrum(n_neighbors=k), n_jobs=n_jobs
                ),
            )


def gram_limit(layers, repeat=2):
    """Matrices of float32 layers against one product ZᵀZ of all layers side by side.

    Every cell of a linear CKA matrix is a block of ZᵀZ (after centring), so that
    product is the irreducible work; the ratio of each matrix to it is printed.
    """
    from _harness import interleaved_best_of, load

    from skalign import CKAScorer, alignment_matrix

    layers32 = {k: v.astype(np.float32) for k, v in layers.items()}
    Z = np.hstack(list(layers32.values()))
    cases = {
        "Z^T Z (all layers stacked)": lambda: Z.T @ Z,
        "linear CKA matrix": lambda: alignment_matrix(layers32, scorer=CKAScorer()),
        "debiased linear CKA matrix": lambda: alignment_matrix(layers32, scorer=CKAScorer(debiased=True)),
    }
    print(f"float32 matrices against Z^T Z, Z of shape {Z.shape} ({load()})")
    times, _ = interleaved_best_of(cases, repeat=repeat)
    base = times["Z^T Z (all layers stacked)"]
    for label, t in times.items():
        print(f"  {label:30s} {t:8.3f} s  {t / base:5.2f} x Z^T Z")
    print(f"  ({load()})")


def measures_limit(layers, repeat=1):
    """Matrices of the d x d measures on float32 layers against ZᵀZ (see item 5)."""
    from _harness import interleaved_best_of, load

    from skalign import BuresScorer, CCAScorer, GULPScorer, alignment_matrix

    layers32 = {k: v.astype(np.float32) for k, v in layers.items()}
    Z = np.hstack(list(layers32.values()))
    cases = {
        "Z^T Z (all layers stacked)": lambda: Z.T @ Z,
        "Bures (NBS) matrix": lambda: alignment_matrix(layers32, scorer=BuresScorer()),
        "GULP matrix": lambda: alignment_matrix(layers32, scorer=GULPScorer()),
        "mean CCA matrix (in-sample)": lambda: alignment_matrix(layers32, scorer=CCAScorer(kind="mean")),
    }
    print(f"float32 matrices of the d x d measures against Z^T Z, Z of shape {Z.shape} ({load()})")
    times, _ = interleaved_best_of(cases, repeat=repeat)
    base = times["Z^T Z (all layers stacked)"]
    for label, t in times.items():
        print(f"  {label:30s} {t:8.3f} s  {t / base:5.2f} x Z^T Z")
    print(f"  ({load()})")


if __name__ == "__main__":
    main()
