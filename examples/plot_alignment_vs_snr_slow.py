"""
==========================================================
Alignment against signal-to-noise ratio and sample size
==========================================================

After Umar & Laio, "Signal-to-Noise Ratio and Sample Size Govern
Representational Alignment in Neural Networks" (arXiv:2605.26973): train an
ensemble of small networks on the same inputs, each with its own independent
realisation of noise on the training targets (and otherwise identical: same
inputs, same initial weights), and measure how aligned the
members' hidden representations are, as the signal-to-noise ratio (SNR) and the
training-set size change.

The task is a regression from 8 inputs to 10 outputs produced by a fixed
random "teacher" network; every member is a one-hidden-layer ``MLPRegressor``
(32 tanh units, 618 parameters) trained by L-BFGS close to convergence with a
tiny weight penalty, so that it can fit its noisy training targets when the
training set is small. Its *interpolation threshold*, where the number of
fitted values (10 per sample) matches the number of parameters, is near
n = 62 training samples.

Alignment is measured on 600 fresh test inputs, between every pair of members,
and cross-validated over those inputs: linear CKA on each held-out fold, and
the Procrustes score with the rotation learned on the other folds.

This script trains about 90 networks and takes several minutes on a laptop
CPU, so the documentation shows it without running it
(``python examples/plot_alignment_vs_snr_slow.py`` runs it).
"""

# sphinx_gallery_thumbnail_path = '_static/plot_alignment_vs_snr_slow.png'

# %%
# Teacher, noisy students
# -----------------------

import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neural_network import MLPRegressor

import skalign

D_IN, HIDDEN, D_OUT, N_MEMBERS = 8, 32, 10, 4
N_PARAMS = HIDDEN * (D_IN + 1) + (HIDDEN + 1) * D_OUT
rng = np.random.default_rng(0)
W_teacher = rng.standard_normal((D_IN, 32)) / np.sqrt(D_IN)
A_teacher = rng.standard_normal((32, D_OUT)) / np.sqrt(32)


def teacher(X):
    return np.tanh(X @ W_teacher) @ A_teacher


X_pool = rng.standard_normal((4000, D_IN))
X_test = rng.standard_normal((600, D_IN))
signal_var = teacher(X_pool).var()


def hidden(mlp, X):
    """The hidden layer of a fitted one-hidden-layer MLPRegressor (tanh)."""
    return np.tanh(X @ mlp.coefs_[0] + mlp.intercepts_[0])


def train_ensemble(n_train, snr, seed=0):
    """Members share inputs and initialisation; only the target noise differs."""
    X = X_pool[:n_train]
    noise_sd = np.sqrt(signal_var / snr) if np.isfinite(snr) else 0.0
    members, test_mse = [], []
    for m in range(N_MEMBERS):
        noise = np.random.default_rng([seed, m]).standard_normal((n_train, D_OUT))
        y = teacher(X) + noise_sd * noise
        mlp = MLPRegressor(hidden_layer_sizes=(HIDDEN,), activation="tanh", solver="lbfgs",
                           alpha=1e-6, max_iter=2000, tol=1e-8, random_state=seed)
        with warnings.catch_warnings():
            # stopping at max_iter is intended: "close to convergence" suffices
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X, y)
        members.append(hidden(mlp, X_test))
        test_mse.append(np.mean((mlp.predict(X_test) - teacher(X_test)) ** 2) / signal_var)
    return members, float(np.mean(test_mse))


cv = KFold(5, shuffle=True, random_state=0)


def ensemble_alignment(members):
    """Cross-validated alignment averaged over all pairs of members."""
    out = {"CKA": [], "Procrustes": []}
    for A, B in itertools.combinations(members, 2):
        out["CKA"].append(cross_val_score(skalign.CKAScorer(), A, B, cv=cv).mean())
        out["Procrustes"].append(cross_val_score(skalign.ProcrustesScorer(), A, B, cv=cv).mean())
    return {k: (np.mean(v), np.std(v)) for k, v in out.items()}


# %%
# Sweep the SNR at a fixed training size, and the size at a fixed SNR
# --------------------------------------------------------------------

snrs = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0]
sizes = [20, 30, 40, 60, 80, 120, 160, 200, 300, 400, 700, 1000, 2000]
N_FIXED, SNR_FIXED = 400, 2.0

by_snr = []
for snr in snrs:
    members, err = train_ensemble(N_FIXED, snr)
    by_snr.append((ensemble_alignment(members), err))
    print(f"SNR {snr:>5}: CKA {by_snr[-1][0]['CKA'][0]:.3f}  "
          f"Procrustes {by_snr[-1][0]['Procrustes'][0]:.3f}  test error {err:.3f}")

by_size = []
for n in sizes:
    members, err = train_ensemble(n, SNR_FIXED)
    by_size.append((ensemble_alignment(members), err))
    print(f"n {n:>5}: CKA {by_size[-1][0]['CKA'][0]:.3f}  "
          f"Procrustes {by_size[-1][0]['Procrustes'][0]:.3f}  test error {err:.3f}")

# %%

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
snr_x = np.array(snrs)
for ax, xs, results, xlabel in (
    (axes[0], snr_x, by_snr, f"SNR (n = {N_FIXED})"),
    (axes[1], np.array(sizes), by_size, f"training samples n (SNR = {SNR_FIXED:g})"),
):
    for name, color in (("CKA", "C0"), ("Procrustes", "C1")):
        mean = np.array([r[0][name][0] for r in results])
        sd = np.array([r[0][name][1] for r in results])
        ax.errorbar(xs, mean, yerr=sd, color=color, marker="o", capsize=2, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cross-validated alignment between members")
    err_ax = ax.twinx()
    err_ax.plot(xs, [r[1] for r in results], color="0.5", ls="--", marker=".", label="test error")
    err_ax.set_ylabel("relative test error (dashed)", color="0.4")
    err_ax.set_yscale("log")
threshold = N_PARAMS / D_OUT
axes[1].axvline(threshold, color="k", ls=":", lw=1)
axes[1].text(threshold, axes[1].get_ylim()[0], " interpolation\n threshold",
             fontsize=9, va="bottom")
axes[0].legend(loc="lower right")
axes[0].set_title("Alignment against SNR")
axes[1].set_title("Alignment against training-set size")
fig.tight_layout()
plt.show()

# %%
# What the figure shows
# ---------------------
# The figure below was produced by a run of this script (it is not re-run
# when the documentation is built). Error bars are the spread over the 6
# pairs of members; the dashed grey line is the test error relative to the
# signal variance (right axis).
#
# .. image:: /_static/plot_alignment_vs_snr_slow.png
#    :alt: Alignment against SNR (left) and training-set size (right)
#
# **SNR** (left, n = 400). Alignment rises with the SNR, from 0.66-0.68 at
# SNR 0.25 to 0.99 at SNR 256, for both measures. Procrustes rises at every
# step; CKA steps down once (0.68 to 0.64 between SNR 0.25 and 0.5) and is
# flat between SNR 1 and 2, both within the error bars, and rises everywhere
# else. The less noise the
# members fit, the more alike their hidden layers.
#
# **Training-set size** (right, SNR = 2). Alignment is *not* monotone in n.
# It is highest for the smallest training sets (CKA 0.85, Procrustes 0.90 at
# n = 20), falls as n approaches and passes the interpolation threshold
# (dotted line, n of about 62, where the test error peaks at more than 4 times
# the signal variance: the double-descent peak), reaches its lowest values
# between n of about 120 and 400 (CKA 0.67-0.71, Procrustes 0.72-0.74), and
# rises again for large training sets (CKA 0.82, Procrustes 0.88 at n = 2000).
#
# So alignment does dip, but in this run its minimum lies a few times *beyond*
# the interpolation threshold, not exactly at it, while the test error does
# peak at the threshold. And alignment is decoupled from generalisation: the
# smallest training sets give the most aligned members and some of the worst
# test errors. Both points agree in kind with Umar & Laio, who find alignment
# monotone in the SNR, non-monotone in the sample size with a minimum near the
# interpolation threshold, and not tied to generalisation error; where exactly
# the minimum falls depends on the network, the optimiser and the noise.
