"""Benchmarks for the measures beside CKA: RSA against rsatoolbox, CKNNA against dense kernels.

Every figure is a ratio measured in the same run, read against the machine it ran on
(the machine report and load average are printed first). Run with

    python benchmarks/bench_measures.py            # the sizes of the issue
    python benchmarks/bench_measures.py --quick    # small sizes, a smoke test

Sections
--------
1. RSA (correlation RDMs, Spearman), n=3,000, d=512: ``skalign.metrics.rsa`` against
   ``rsatoolbox.rdm.calc_rdm`` + ``rsatoolbox.rdm.compare`` on the same arrays
   (target: faster), values equal to 1e-10.
2. CKNNA, n=5,000, k=10: ``skalign.metrics.cknna`` (neighbour search, then O(nk)
   sparse work) against Huh et al.'s formula written with dense n x n kernels as in
   their code (top-k masks, unbiased HSIC with the n x n product ``K @ L``), and
   against the same dense formula with that product's sum taken as
   ``colsum(K) . rowsum(L)`` (O(n²), a stronger baseline). Target >= 10x against the
   code's form. Each case runs in its own process, so its peak RSS is its own.
3. A 12 x 12 layer matrix of each new measure (n=2,000, d=64): wall time, each layer
   prepared once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
from _harness import interleaved_best_of, load, machine_report, peak_rss_mib


def _rsa_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.tanh(X[:, : d // 2] @ rng.normal(size=(d // 2, d // 2)) / np.sqrt(d)) + 0.5 * rng.normal(size=(n, d // 2))
    return X, Y


def bench_rsa(n, d, repeat):
    from skalign.metrics import rsa

    X, Y = _rsa_data(n, d)
    cases = {"skalign rsa": lambda: rsa(X, Y, rdm_metric="correlation", compare="spearman")}
    try:
        import rsatoolbox
        from rsatoolbox.data import Dataset
        from rsatoolbox.rdm import calc_rdm

        def toolbox():
            ra = calc_rdm(Dataset(X), method="correlation")
            rb = calc_rdm(Dataset(Y), method="correlation")
            return float(rsatoolbox.rdm.compare(ra, rb, method="spearman")[0, 0])

        cases["rsatoolbox calc_rdm + compare"] = toolbox
    except ImportError:
        print("rsatoolbox not installed: skalign timed alone")
    best, values = interleaved_best_of(cases, repeat)
    print(f"\n1. RSA, correlation RDMs, Spearman, n={n:,}, d={d}  ({load()})")
    for label, t in best.items():
        print(f"   {label:<34s} {t:8.3f} s   value {values[label]:.12f}")
    if len(best) == 2:
        a, b = best.values()
        va, vb = values.values()
        print(f"   speed-up {b / a:.2f}x, |difference| {abs(va - vb):.2e}")


def _dense_cknna(A, B, k, code_form):
    """Huh et al.'s CKNNA on dense n x n kernels (unit rows, top-k of the kernel, self excluded)."""
    A = A / np.linalg.norm(A, axis=1, keepdims=True)
    B = B / np.linalg.norm(B, axis=1, keepdims=True)
    K, L = A @ A.T, B @ B.T
    n = K.shape[0]

    def mask(S):
        S = S.copy()
        np.fill_diagonal(S, -np.inf)
        idx = np.argpartition(-S, k - 1, axis=1)[:, :k]
        m = np.zeros((n, n))
        np.put_along_axis(m, idx, 1.0, axis=1)
        return m

    def hsic_u(P, Q):
        P, Q = P.copy(), Q.copy()
        np.fill_diagonal(P, 0.0)
        np.fill_diagonal(Q, 0.0)
        cross = np.sum(P @ Q) if code_form else P.sum(axis=0) @ Q.sum(axis=1)
        return (np.sum(P * Q.T) + P.sum() * Q.sum() / ((n - 1) * (n - 2)) - 2 * cross / (n - 2)) / (n * (n - 3))

    mK, mL = mask(K), mask(L)
    m = mK * mL
    return hsic_u(m * K, m * L) / np.sqrt(hsic_u(mK * K, mK * K) * hsic_u(mL * L, mL * L))


def _cknna_case(case, n, d, k):
    """One CKNNA case in this process: prints a JSON line with time, value and peak RSS."""
    import time

    from skalign.metrics import cknna

    X, Y = _rsa_data(n, d, seed=1)
    base = peak_rss_mib()
    t0 = time.perf_counter()
    if case == "skalign":
        value = cknna(X, Y, n_neighbors=k, algorithm="brute")
    else:
        value = _dense_cknna(X, Y, k, code_form=(case == "dense-code"))
    dt = time.perf_counter() - t0
    print(json.dumps({"case": case, "seconds": dt, "value": float(value),
                      "peak_rss_mib": peak_rss_mib(), "baseline_rss_mib": base}))


def bench_cknna(n, d, k):
    print(f"\n2. CKNNA, n={n:,}, d={d}, k={k}: each case in its own process  ({load()})")
    rows = {}
    for case in ("skalign", "dense-colsum", "dense-code"):
        out = subprocess.run(
            [sys.executable, __file__, "--cknna-case", case, "--n", str(n), "--d", str(d), "--k", str(k)],
            capture_output=True, text=True, check=True,
        )
        rows[case] = json.loads(out.stdout.strip().splitlines()[-1])
        r = rows[case]
        print(f"   {case:<14s} {r['seconds']:8.2f} s   peak RSS {r['peak_rss_mib']:8.0f} MiB "
              f"(after the data: {r['baseline_rss_mib']:.0f})   value {r['value']:.10f}")
    s = rows["skalign"]
    for case in ("dense-code", "dense-colsum"):
        r = rows[case]
        print(f"   against {case}: {r['seconds'] / s['seconds']:.1f}x faster, "
              f"|difference| {abs(r['value'] - s['value']):.1e}")
    print(f"   one n x n float64 matrix: {8 * n * n / 2**20:.0f} MiB  ({load()})")


def bench_layer_matrix(n, d, n_layers):
    import time

    from skalign import (
        BuresScorer, CCAScorer, CKNNAScorer, DistanceCorrelationScorer, GULPScorer, KNNJaccardScorer,
        MutualKNNScorer, RSAScorer, alignment_matrix,
    )

    rng = np.random.default_rng(2)
    base = rng.normal(size=(n, d))
    layers = {f"L{i}": np.tanh(base @ rng.normal(size=(d, d)) / np.sqrt(d)) + 0.05 * i * rng.normal(size=(n, d))
              for i in range(n_layers)}
    print(f"\n3. {n_layers} x {n_layers} layer matrix, n={n:,}, d={d}  ({load()})")
    for scorer in (RSAScorer(), DistanceCorrelationScorer(), BuresScorer(), CCAScorer(), CCAScorer(kind="pwcca"),
                   GULPScorer(), CKNNAScorer(), MutualKNNScorer(), KNNJaccardScorer()):
        t0 = time.perf_counter()
        table = alignment_matrix(layers, scorer=scorer)
        dt = time.perf_counter() - t0
        print(f"   {repr(scorer):<34s} {dt:8.2f} s   {len(table)} pairs")
    print(f"   ({load()})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--cknna-case", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--d", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sections", default="123", help="which sections to run, e.g. 12")
    args = parser.parse_args()
    if args.cknna_case:
        _cknna_case(args.cknna_case, args.n, args.d, args.k)
        return
    machine_report("rsatoolbox")
    if "1" in args.sections:
        bench_rsa(600 if args.quick else 3000, 64 if args.quick else 512, 2 if args.quick else 3)
    if "2" in args.sections:
        bench_cknna(800 if args.quick else 5000, 64 if args.quick else 256, 10)
    if "3" in args.sections:
        bench_layer_matrix(300 if args.quick else 2000, 16 if args.quick else 64, 12)
    print(f"\ndone ({load()})")


if __name__ == "__main__":
    main()
