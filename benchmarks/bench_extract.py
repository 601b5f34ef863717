"""Activation extraction: 6 layers of a small CNN over 10,000 inputs.

Compares ``extract_activations`` with the bare forward passes it wraps (same
batches, eval mode, no_grad; target at most 1.2x) and reports the whole-process
peak RSS when the activations go to ``.npy`` memory maps (``out=``), which should
be bounded by a batch rather than by n. The peak-RSS run is a fresh subprocess so
that the in-memory run's arrays do not count.

    python benchmarks/bench_extract.py [--n 10000]
"""

import argparse
import subprocess
import sys
import tempfile

import numpy as np
from _harness import best_of, load, machine_report

LAYERS = ["conv1", "conv2", "conv3", "pool", "fc1", "fc2"]


def make_model():
    import torch

    torch.manual_seed(0)

    class CNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
            self.conv3 = torch.nn.Conv2d(16, 16, 3, padding=1)
            self.pool = torch.nn.AdaptiveAvgPool2d(4)
            self.fc1 = torch.nn.Linear(256, 64)
            self.fc2 = torch.nn.Linear(64, 10)

        def forward(self, x):
            x = torch.relu(self.conv1(x))
            x = torch.relu(self.conv2(x))
            x = self.pool(torch.relu(self.conv3(x)))
            return self.fc2(torch.relu(self.fc1(x.flatten(1))))

    return CNN()


def inputs(n):
    import torch

    return torch.from_numpy(np.random.default_rng(0).normal(size=(n, 1, 16, 16)).astype(np.float32))


def vm_hwm_mib():
    """Peak resident set of this process from /proc (reset at exec, unlike ru_maxrss,
    which a child started by a large parent inherits)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_child(n, batch_size, out):
    from skalign.extract import extract_activations

    model, x = make_model(), inputs(n)
    base = vm_hwm_mib()
    extract_activations(model, x, LAYERS, batch_size=batch_size, out=out)
    print(f"{base:.0f} {vm_hwm_mib():.0f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        rss_child(args.n, args.batch_size, args.child)
        return
    import torch

    from skalign.extract import extract_activations

    machine_report("torch")
    print(f"torch threads: {torch.get_num_threads()}")
    model, x = make_model(), inputs(args.n)
    model.eval()

    def bare():
        with torch.no_grad():
            for i in range(0, args.n, args.batch_size):
                model(x[i:i + args.batch_size])

    def extract():
        return extract_activations(model, x, LAYERS, batch_size=args.batch_size)

    t_bare, _ = best_of(bare, 3)
    t_ext, acts = best_of(extract, 3)
    size = sum(a.nbytes for a in acts.values()) / 2**20
    shapes = {k: v.shape for k, v in acts.items()}
    chunks = {k: v[: args.batch_size].copy() for k, v in acts.items()}

    def keep_outputs():
        # what holding the activations costs by itself: fresh arrays, filled batch by batch
        for k, shape in shapes.items():
            dst = np.empty(shape, dtype=np.float32)
            for i in range(0, args.n, args.batch_size):
                dst[i:i + args.batch_size] = chunks[k][: min(args.batch_size, args.n - i)]

    t_keep, _ = best_of(keep_outputs, 3)
    print(f"n={args.n}, batch={args.batch_size}, layers={len(LAYERS)}, activations {size:.0f} MiB in memory")
    print(f"bare forward passes      {t_bare:7.3f} s")
    print(f"filling the outputs      {t_keep:7.3f} s   (no model: fresh arrays written batch by batch)")
    print(f"extract_activations      {t_ext:7.3f} s   ratio {t_ext / t_bare:.2f}x the bare passes (target <= 1.2x), "
          f"{t_ext / (t_bare + t_keep):.2f}x bare passes + filling the outputs")
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--batch-size",
                              str(args.batch_size), "--child", tmp], capture_output=True, text=True, check=True)
        before, after = map(float, res.stdout.split())
    print(f"out= (memory maps): peak RSS {after:.0f} MiB, {after - before:.0f} MiB above the model and inputs "
          f"(in-memory activations would be {size:.0f} MiB)")
    print(load())


if __name__ == "__main__":
    main()
