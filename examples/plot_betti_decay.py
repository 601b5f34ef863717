"""
======================================================
Betti numbers of feature maps decay with depth
======================================================

Suresh et al. (arXiv:2311.04592) read the feature maps of a convolutional
network as functions on a grid and count the holes of their superlevel sets
with cubical homology: beta_0 connected blobs, beta_1 loops. Summed and
averaged over samples, this *topological complexity* Omega falls with depth,
and the rate of that decay, theta, tracks how well a network generalises.

Here we compute the Betti curves of one layer with
:class:`~skalign.CubicalBettiProfile`, then Omega of every layer with
:func:`skalign.topology.topological_complexity` and its decay theta with
:func:`skalign.topology.complexity_decay`, for a small convolutional network on
scikit-learn's digits (upsampled to 24 x 24 pixels).

* With PyTorch installed, the network is trained for a few epochs on the CPU and
  compared with the same network at its random initialisation.
* Without PyTorch (e.g. on a CI machine without it), the same architecture is a
  *fixed random-feature* stack: random He-initialised filters, never trained,
  written in numpy. Its Omega profile is then the "untrained" reference only.

The script prints which of the two ran.
"""

# %%
# Data and architecture
# ---------------------
# Four 3 x 3 convolutions with ReLU, a 2 x 2 max-pooling after the second and the
# fourth: feature maps of 24 x 24, 24 x 24, 12 x 12 and 12 x 12 pixels.

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.ndimage import zoom
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import skalign
from skalign.topology import complexity_decay, topological_complexity

digits = load_digits()
images = zoom(digits.images / 16.0, (1, 3, 3), order=1).clip(0, 1)  # (n, 24, 24)
X_train, X_test, y_train, y_test = train_test_split(
    images[:, None].astype(np.float32), digits.target,
    test_size=300, stratify=digits.target, random_state=0,
)
CHANNELS = [(1, 8), (8, 8), (8, 16), (16, 16)]
POOL_AFTER = {1, 3}  # 0-based conv index followed by 2 x 2 max-pooling

try:  # SKALIGN_EXAMPLES_NO_TORCH=1 forces the fallback, to check it
    if os.environ.get("SKALIGN_EXAMPLES_NO_TORCH", "") not in ("", "0"):
        raise ImportError
    import torch
    from torch import nn
except ImportError:
    torch = None
print("PyTorch found: training the network" if torch
      else "PyTorch not found: fixed random-feature stack")

# %%
# Feature maps
# ------------
# ``feature_maps`` returns, for each conv layer, its activations after the ReLU
# (before pooling): an ``(n, C, H, W)`` array, samples first, channels second.

if torch is not None:
    torch.manual_seed(0)

    def make_net():
        layers = []
        for i, (c_in, c_out) in enumerate(CHANNELS):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
            if i in POOL_AFTER:
                layers.append(nn.MaxPool2d(2))
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * 6 * 6, 10))

    def feature_maps(net, X):
        out, h = [], torch.from_numpy(X)
        with torch.no_grad():
            for module in net:
                h = module(h)
                if isinstance(module, nn.ReLU):
                    out.append(h.numpy().copy())
        return out

    net = make_net()
    untrained = make_net()
    untrained.load_state_dict(net.state_dict())  # the same network before training
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    Xt, yt = torch.from_numpy(X_train), torch.from_numpy(y_train)
    for epoch in range(8):
        for idx in torch.randperm(len(Xt)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
            opt.step()
    with torch.no_grad():
        acc = (net(torch.from_numpy(X_test)).argmax(1).numpy() == y_test).mean()
    print(f"test accuracy of the trained network: {acc:.3f}")
    networks = {"trained": feature_maps(net, X_test), "untrained": feature_maps(untrained, X_test)}
else:
    rng = np.random.default_rng(0)
    filters = [rng.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2.0 / (9 * c_in))
               for c_in, c_out in CHANNELS]
    biases = [np.full(c_out, 0.01) for _, c_out in CHANNELS]

    def conv3x3(X, W, b):
        padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
        return np.einsum("nchwij,ocij->nohw", windows, W, optimize=True) + b[:, None, None]

    def feature_maps(X):
        out, h = [], X.astype(np.float64)
        for i, (W, b) in enumerate(zip(filters, biases)):
            h = np.maximum(conv3x3(h, W, b), 0.0)
            out.append(h)
            if i in POOL_AFTER:
                n, c, hh, ww = h.shape
                h = h.reshape(n, c, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
        return out

    networks = {"random features": feature_maps(X_test)}

names = [f"conv{i + 1}" for i in range(len(CHANNELS))]
first = next(iter(networks.values()))
print({name: fm.shape for name, fm in zip(names, first)})

# %%
# Betti curves of one layer
# -------------------------
# Each channel of the first conv layer is a 24 x 24 image. ``CubicalBettiProfile``
# (with ``normalize=True``: every map rescaled to [0, 1], so thresholds compare
# shapes, not scales) learns 20 thresholds and returns, per map, beta_0 and
# beta_1 of every superlevel set, from a single persistence computation per map.

label = next(iter(networks))
maps = networks[label][0]  # (n, C, 24, 24)
flat = maps.reshape(-1, *maps.shape[2:])  # every channel of every sample
profile = skalign.CubicalBettiProfile(thresholds=np.linspace(0.025, 0.975, 20), normalize=True)
curves = profile.fit(flat).transform(flat)
n_t = len(profile.thresholds_)
mean_b0, mean_b1 = curves[:, :n_t].mean(0), curves[:, n_t:2 * n_t].mean(0)

fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), width_ratios=(1, 1, 1.6))
axes[0].imshow(X_test[0, 0], cmap="gray_r")
axes[0].set_title(f"input (digit {y_test[0]})")
axes[1].imshow(maps[0, 0], cmap="magma")
axes[1].set_title(f"conv1, channel 0 ({label})")
for ax in axes[:2]:
    ax.set_xticks([])
    ax.set_yticks([])
axes[2].plot(profile.thresholds_, mean_b0, marker="o", ms=3, label=r"$\beta_0$ (components)")
axes[2].plot(profile.thresholds_, mean_b1, marker="o", ms=3, label=r"$\beta_1$ (loops)")
axes[2].set_xlabel(r"threshold $\eta$ (per-map min-max units)")
axes[2].set_ylabel("mean over maps")
axes[2].set_title(r"Betti curves of conv1: superlevel sets $\{a \geq \eta\}$")
axes[2].legend()
fig.tight_layout()

# %%
# Omega per layer and its decay theta
# -----------------------------------
# ``topological_complexity`` averages beta_0 + beta_1 over samples and channels,
# here as the area under the Betti curves over 20 thresholds, with the input
# images as layer 0. ``complexity_decay`` fits Omega against depth scaled to
# [0, 1]: theta < 0 means the feature maps simplify with depth.

profiles, thetas = {}, {}
for label, maps in networks.items():
    layers = {"input": X_test, **dict(zip(names, maps))}
    profiles[label] = topological_complexity(layers, summary="area", n_thresholds=20)
    thetas[label] = complexity_decay(profiles[label])
    print(f"{label}: theta = {thetas[label].theta:.2f} (R^2 = {thetas[label].r2:.2f})")
table = pd.concat(profiles, names=["network"])[["depth", "omega", "betti0", "betti1"]]
print(table.round(3).to_string())

fig, ax = plt.subplots(figsize=(6.5, 4))
for (label, prof), color in zip(profiles.items(), ("C3", "C7")):
    fit = thetas[label]
    ax.plot(prof["depth"], prof["omega"], marker="o", color=color,
            label=f"{label}: theta = {fit.theta:.2f}")
    ax.plot(prof["depth"], fit.intercept + fit.theta * prof["depth"], ls="--", color=color, lw=1)
ax.set_xticks(prof["depth"], prof.index)
ax.set_xlabel("layer (depth scaled to [0, 1])")
ax.set_ylabel(r"$\Omega$ = mean $\beta_0 + \beta_1$ (area over thresholds)")
ax.set_title("Topological complexity through the network")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# What the figures show
# ---------------------
# The page shows the PyTorch run when the documentation was built with torch
# installed and the random-feature run otherwise; the first printed line says
# which. Both were run and looked at; the numbers below are from those runs.
#
# **Betti curves of conv1.** Loops (beta_1) live at low thresholds: a
# superlevel set taken just above a map's minimum covers almost everything
# except a few dark pockets, each enclosed by brighter pixels, and they close
# as eta rises. Components (beta_0) are fewest at low thresholds, where the set
# is nearly one connected sheet, and most near the top (eta about 0.75-0.8),
# where only separate bright peaks are left. The trained network's first layer
# has more loops at low thresholds (about 0.9 per map at the lowest threshold,
# against about 0.2 for random filters, whose maps look like blurred copies of
# the digit).
#
# **Omega with depth, PyTorch run** (8 epochs, about 97% test accuracy). Omega
# is not monotone: it rises from the input (1.79) to conv1 (2.16), falls
# through conv2 (1.89) to conv3 (1.41), the first layer after a pooling, and
# rises again at conv4 (1.82). The fitted decay is negative (theta = -0.28) but
# the line explains little of the profile (R^2 = 0.16). The same network at its
# random initialisation has a similar zig-zag and a *steeper* fitted decay
# (theta = -0.56, R^2 = 0.30), so here training does not make Omega fall faster.
#
# **Omega with depth, random-feature run.** Without training, Omega *rises*
# with depth (theta = +0.38, R^2 = 0.51), from 1.79 at the input to 2.34 at
# conv4: stacked random filters fragment the maps rather than simplify them.
#
# So in a four-layer network on 24 x 24 digits, Omega mostly follows the
# pooling, i.e. the resolution of the maps, and a single theta hides that. The
# decay that Suresh et al. relate to generalisation is measured across deeper
# networks and architectures; compare theta between networks that share a
# resolution schedule, and look at the per-layer profile, not theta alone.
