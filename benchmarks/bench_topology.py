"""Timing of the cubical Betti curves and Rips summaries, and a depth-decay demo.

Run:  python benchmarks/bench_topology.py [--n-images 10000] [--thresholds 50]
      [--baseline-subset 200] [--cloud-points 2000] [--skip-decay]

Prints, measured in one run:

1. Betti curves (beta_0, beta_1, T-construction) of ``n_images`` images of 28 x 28 at
   ``thresholds`` quantile thresholds with :class:`skalign.CubicalBettiProfile`: total
   time with n_jobs=2 and n_jobs=1, against recomputing the Betti numbers threshold by
   threshold (one binary complex per threshold, same gudhi algorithm) timed on
   ``baseline_subset`` images and projected linearly to all images. The two are also
   checked to agree on the subset. The images are scikit-learn's 8 x 8 digits upsampled
   to 28 x 28 (MNIST-like strokes) plus a little noise.
2. H1 summary of a ``cloud_points``-point cloud in R^16: a standard Gaussian cloud with
   exact Rips (gudhi's Ripser back end), and a noisy circle (circle in a random 2-plane
   plus isotropic noise 0.1, many short H1 bars) with farthest-point landmarks, also for
   5,000 points; ``--slow`` adds exact Rips on the circle, one edge collapse and gudhi's
   sparse Rips (minutes each).
3. Decay demo: Omega of every conv layer of two small CNNs (with and without pooling,
   so that depth is not confounded with resolution) on 300 held-out digits, before and
   after training on scikit-learn's digits (PyTorch if installed; benchmark-only), and
   the fitted decay theta, with the library's default Omega settings.

Timings are the best of ``--repeat`` runs where cheap; the load averages are printed,
since the machine's 2 cores may be shared.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _harness import best_of, load, machine_report


def digit_images(n, seed=0):
    from scipy import ndimage
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits().images / 16.0
    up = np.stack([ndimage.zoom(d, 3.5, order=1) for d in digits])  # 28 x 28
    idx = rng.integers(0, len(up), n)
    return np.clip(up[idx] + 0.05 * rng.normal(size=(n, 28, 28)), 0, None)


def per_threshold_betti(images, thresholds, dims=(0, 1)):
    """Baseline: a binary complex per image and threshold (what the one-pass method avoids)."""
    from gudhi.sklearn.cubical_persistence import CubicalPersistence

    cp = CubicalPersistence(homology_dimensions=list(dims), n_jobs=1)
    out = np.zeros((len(images), len(dims), len(thresholds)), dtype=np.int64)
    for k, eta in enumerate(thresholds):
        binary = [np.where(img >= eta, 0.0, 1.0) for img in images]
        for i, dgms in enumerate(cp.fit_transform(binary)):
            for j, bars in enumerate(dgms):
                # classes of the set {img >= eta}: present at filtration value 0
                out[i, j, k] = int(((bars[:, 0] <= 0) & (bars[:, 1] > 0)).sum())
    return out


def per_threshold_labels(images, thresholds):
    """Second baseline without persistence: connected components of the set (8-connected)
    and of its padded complement (4-connected, minus the outside) per threshold."""
    from scipy import ndimage

    full, face = np.ones((3, 3), bool), ndimage.generate_binary_structure(2, 1)
    out = np.zeros((len(images), 2, len(thresholds)), dtype=np.int64)
    for i, img in enumerate(images):
        for k, eta in enumerate(thresholds):
            m = img >= eta
            out[i, 0, k] = ndimage.label(m, structure=full)[1]
            out[i, 1, k] = ndimage.label(np.pad(~m, 1, constant_values=True), structure=face)[1] - 1
    return out


def bench_cubical(args):
    from skalign import CubicalBettiProfile

    X = digit_images(args.n_images)
    print(f"\n[1] Betti curves: {X.shape[0]} images {X.shape[1]}x{X.shape[2]}, {args.thresholds} thresholds, T-construction")
    tf, est = best_of(lambda: CubicalBettiProfile(thresholds=args.thresholds).fit(X), 1)
    t2, out2 = best_of(lambda: est.set_params(n_jobs=2).transform(X), args.repeat)
    t1, out1 = best_of(lambda: est.set_params(n_jobs=1).transform(X), args.repeat)
    assert np.array_equal(out1, out2)
    sub = X[: args.baseline_subset]
    tb, base = best_of(lambda: per_threshold_betti(sub, est.thresholds_), 1)
    tl, lab = best_of(lambda: per_threshold_labels(sub, est.thresholds_), 1)
    mine = est.transform(sub)
    proj, projl = tb * len(X) / len(sub), tl * len(X) / len(sub)
    print(f"  fit (50 quantiles of {X.size} values): {tf:6.2f} s")
    print(f"  transform, one pass, n_jobs=2 : {t2:7.2f} s  ({1e3 * t2 / len(X):.3f} ms/image); fit + transform {tf + t2:.2f} s")
    print(f"  transform, one pass, n_jobs=1 : {t1:7.2f} s")
    print(f"  baseline A, gudhi binary complex per threshold: {tb:6.2f} s on {len(sub)} images -> "
          f"projected {proj:7.1f} s for {len(X)} (n_jobs=1); speed-up {proj / t1:5.1f}x; "
          f"agree: {np.array_equal(base.reshape(len(sub), -1), mine)}")
    print(f"  baseline B, scipy.ndimage labels per threshold: {tl:6.2f} s on {len(sub)} images -> "
          f"projected {projl:7.1f} s for {len(X)} (n_jobs=1); speed-up {projl / t1:5.1f}x; "
          f"agree: {np.array_equal(lab.reshape(len(sub), -1), mine)}")
    mean = out2.reshape(len(X), 2, -1).mean(axis=0)
    print("  mean beta_0 over thresholds:", np.round(mean[0][:: max(1, args.thresholds // 10)], 2))
    print("  mean beta_1 over thresholds:", np.round(mean[1][:: max(1, args.thresholds // 10)], 2))
    # the generic CubicalComplex path (V-construction), for reference
    tv, _ = best_of(
        lambda: CubicalBettiProfile(thresholds=args.thresholds, construction="V", n_jobs=2).fit_transform(X[:2000]), 1
    )
    print(f"  V-construction (generic gudhi CubicalComplex), n_jobs=2: {tv:.2f} s on 2000 images")


def circle_cloud(n, d=16, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    basis = np.linalg.qr(rng.normal(size=(d, 2)))[0]
    return np.c_[np.cos(t), np.sin(t)] @ basis.T + noise * rng.normal(size=(n, d))


def bench_rips(args):
    from skalign.metrics import persistence_summary

    n = args.cloud_points
    print("\n[2] H1 summary of point clouds in R^16")
    gauss = np.random.default_rng(1).normal(size=(n, 16))
    runs = [
        ("gaussian", gauss, "exact Rips (gudhi Ripser back end)", {"max_points": None}),
        ("circle", circle_cloud(n), "500 farthest-point landmarks, exact Rips", {"max_points": 500, "random_state": 0}),
        ("circle", circle_cloud(n), "1000 farthest-point landmarks, exact Rips", {"max_points": 1000, "random_state": 0}),
        ("circle", circle_cloud(5000), "500 farthest-point landmarks, exact Rips", {"max_points": 500, "random_state": 0}),
        ("circle", circle_cloud(5000), "defaults (1000 landmarks, exact Rips)", {"random_state": 0}),
        ("circle", circle_cloud(500), "exact Rips (for reference: 500 points)", {"max_points": None}),
    ]
    if args.slow:
        runs += [
            ("circle", circle_cloud(n), "exact Rips (gudhi Ripser back end)", {"max_points": None}),
            ("gaussian", gauss, "exact Rips + 1 edge collapse", {"collapse_edges": True, "max_points": None}),
            ("circle", circle_cloud(500), "gudhi sparse Rips eps=0.5 (500 points)", {"sparse": 0.5}),
        ]
    for kind, X, label, kw in runs:
        t, f = best_of(lambda: persistence_summary([X], homology_dimensions=(1,), **kw), 1)
        print(f"  {kind:8s} n={len(X):5d}  {label:44s} {t:8.2f} s   H1 max pers {f[0, 0]:.3f}, "
              f"total {f[0, 1]:8.3f}, entropy {f[0, 3]:.2f}", flush=True)


def bench_decay(args):
    from skalign.metrics import complexity_decay, topological_complexity

    print("\n[3] Decay demo: Omega across the layers of a small CNN trained on the digits")
    try:
        import torch
        from torch import nn
    except ImportError:
        print("  PyTorch is not installed; skipped (pip install torch to run it).")
        return
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.set_num_threads(1)  # the 2 cores are shared; one thread avoids oversubscription
    data = load_digits()
    X = (data.images / 16.0).astype(np.float32)[:, None]
    Xtr, Xte, ytr, yte = train_test_split(X, data.target, test_size=0.3, random_state=0, stratify=data.target)
    xtr, ytr_t = torch.from_numpy(Xtr), torch.from_numpy(ytr).long()

    def make_net(pool):
        torch.manual_seed(0)
        head = [nn.MaxPool2d(2)] if pool else []
        side = 4 if pool else 8
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            *head,
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * side * side, 10),
        )

    def layers_of(net, x):
        acts, h = {"input": x.numpy()}, x
        with torch.no_grad():
            for m in net:
                h = m(h)
                if isinstance(m, nn.ReLU):
                    acts[f"conv{len(acts)}"] = h.numpy().copy()
        return acts

    def report(net, tag):
        with torch.no_grad():
            acc = (net(torch.from_numpy(Xte)).argmax(1).numpy() == yte).mean()
        acts = layers_of(net, torch.from_numpy(Xte[:300]))
        for summary in ("area", "threshold"):
            prof = topological_complexity(acts, summary=summary, relative=True, n_jobs=2)
            fit = complexity_decay(prof)
            vals = ", ".join(f"{k}={v:.2f}" for k, v in prof["omega"].items())
            print(f"  {tag:9s} acc={acc:.3f}  Omega[{summary:9s}]: {vals}")
            print(f"  {'':9s} theta={fit.theta:+.2f} (r2={fit.r2:.2f}); relative to input: "
                  + ", ".join(f"{v:.2f}" for v in prof["omega_relative"]), flush=True)

    for pool in (True, False):
        net = make_net(pool)
        print(f"  -- 5 conv+ReLU layers (16, 16, 32, 32, 32 channels), "
              f"{'max-pool 8x8 -> 4x4 after conv3' if pool else 'no pooling: every map 8x8'} --")
        report(net, "untrained")
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        t0 = time.perf_counter()
        for epoch in range(args.epochs):
            perm = torch.randperm(len(xtr))
            for b in range(0, len(xtr), 64):
                idx = perm[b : b + 64]
                opt.zero_grad()
                loss = nn.functional.cross_entropy(net(xtr[idx]), ytr_t[idx])
                loss.backward()
                opt.step()
        print(f"  (trained {args.epochs} epochs with Adam in {time.perf_counter() - t0:.1f} s)")
        report(net, "trained")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n-images", type=int, default=10000)
    p.add_argument("--thresholds", type=int, default=50)
    p.add_argument("--baseline-subset", type=int, default=200)
    p.add_argument("--cloud-points", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--slow", action="store_true", help="also run the slow exact / collapse / sparse variants (minutes)")
    p.add_argument("--skip-decay", action="store_true")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--only", choices=["cubical", "rips", "decay"], default=None)
    args = p.parse_args()
    machine_report("gudhi")
    if args.only in (None, "cubical"):
        bench_cubical(args)
    if args.only in (None, "rips"):
        bench_rips(args)
    if args.only in (None, "decay") and not args.skip_decay:
        bench_decay(args)
    print(f"\nat the end: {load()}")


if __name__ == "__main__":
    main()
