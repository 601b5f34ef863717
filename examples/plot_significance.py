"""
Is it significant? Seeds, shuffled pairings and layers, with intervals
======================================================================

Two small networks are trained on the digits data set from different random
seeds. On the same held-out images we ask three questions of their hidden
representations, with linear CKA and with TAS:

* **seeds**: the first hidden layer of seed 0 against the same layer of seed 1;
* **shuffled**: the same pair with the rows of one side shuffled, so that row i
  no longer describes image i (the null the permutation test simulates);
* **layers**: the first against the second hidden layer of seed 0.

Each score gets a permutation p-value (:func:`skalign.permutation_test`), a 95%
bootstrap interval over images (:func:`skalign.bootstrap`) and a null-calibrated
value (:func:`skalign.calibrated_score`: 0 unless the score beats its
permutation null at level 0.05, 1 at the top); :func:`skalign.compare` then asks
whether the other seed's layer is closer than the next layer, and
:func:`skalign.inference.calibrated_layers` calibrates the best layer pair of
the two networks against the null of that search.
"""

# %%
# Train two networks and read out their hidden layers
# ---------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import skalign

X, labels = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, _ = train_test_split(X, labels, test_size=300, random_state=0)


def hidden_layers(net, X):
    """Activations of every hidden layer of a fitted MLPClassifier (ReLU)."""
    out, h = [], X
    for W, b in zip(net.coefs_[:-1], net.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0.0)
        out.append(h)
    return out


nets = [
    MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=300, random_state=seed).fit(X_train, y_train)
    for seed in (0, 1)
]
(a1, a2), (b1, b2) = (hidden_layers(net, X_test) for net in nets)
shuffled = b1[np.random.default_rng(0).permutation(len(b1))]
pairs = {"seeds": (a1, b1), "shuffled": (a1, shuffled), "layers": (a1, a2)}
print({name: (P.shape, Q.shape) for name, (P, Q) in pairs.items()})

# %%
# Scores, p-values, intervals and calibrated scores
# -------------------------------------------------
# Permutations reuse each representation's preparation (CKA: the centred data;
# TAS: the neighbour ranks), so 199 of them cost little more than 199 cross terms.
# For TAS, a neighbourhood measure, the bootstrap draws half-samples without
# replacement, so that no image is ever its own neighbour.
scorers = {"debiased CKA": skalign.CKAScorer(debiased=True), "TAS": skalign.TopologicalAlignmentSpectrum()}
rows = []
for sname, scorer in scorers.items():
    for pname, (P, Q) in pairs.items():
        # the calibrated score comes with the permutation test's p-value
        cal = skalign.calibrated_score(scorer, P, Q, n_permutations=199, random_state=0)
        boot = skalign.bootstrap(scorer, P, Q, n_resamples=99, random_state=0)
        rows.append((sname, pname, cal.statistic, *boot.confidence_interval, cal.pvalue, cal.calibrated_score))
        print(
            f"{sname:>12s} {pname:>8s}: {cal.statistic:.3f} [{boot.confidence_interval.low:.3f}, "
            f"{boot.confidence_interval.high:.3f}]  p = {cal.pvalue:.3f}  calibrated = {cal.calibrated_score:.3f}"
        )

# %%
# The shuffled pairing keeps each representation and loses the pairing: its
# p-value is large and its calibrated score 0 (for biased CKA, not shown,
# the raw score of such a pair stays well above 0: a raw score alone cannot say
# "aligned"). The two seeds and the two
# layers are far beyond chance (p at its floor 1/200).
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
for ax, sname in zip(axes, scorers):
    sub = [r for r in rows if r[0] == sname]
    x = np.arange(len(sub))
    values = np.array([r[2] for r in sub])
    ax.bar(x, values, color=["tab:blue", "tab:gray", "tab:orange"], alpha=0.6)
    ax.vlines(x, [r[3] for r in sub], [r[4] for r in sub], color="k")
    for xi, r in zip(x, sub):
        ax.text(xi, r[4] + 0.02, f"p={r[5]:.3f}\ncal={r[6]:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [r[1] for r in sub])
    ax.set_ylim(min(0.0, values.min() - 0.05), 1.25)
    ax.set_title(sname)
axes[0].set_ylabel("score, 95% bootstrap interval")
fig.tight_layout()

# %%
# Is the other seed's layer closer than the next layer?
# -----------------------------------------------------
# :func:`skalign.compare` resamples the same images for both scores. The layers
# have different widths (64 and 32 units), so rows of the two partners cannot be
# swapped: ``n_permutations=0`` takes the p-value from the paired bootstrap.
for sname, scorer in scorers.items():
    res = skalign.compare(scorer, a1, b1, a2, n_resamples=99, n_permutations=0, random_state=0)
    print(
        f"{sname:>12s}: seeds - layers = {res.difference:+.3f} "
        f"[{res.confidence_interval.low:+.3f}, {res.confidence_interval.high:+.3f}], p = {res.pvalue:.3f}"
    )

# %%
# The best layer pair, calibrated against the search
# --------------------------------------------------
# Reporting the best of all layer pairs is a search, and a search finds high raw
# scores among unrelated layers. :func:`skalign.inference.calibrated_layers`
# calibrates the maximum over the 2 x 2 pairs against the null of the maximum:
# one permutation of the images for every layer of the second network. With the
# second network's rows shuffled the raw maximum is still above 0, the
# calibrated one is 0.
from skalign.inference import calibrated_layers

order = np.random.default_rng(1).permutation(len(b1))
for label, layers_b in (("seeds", {"b1": b1, "b2": b2}), ("shuffled", {"b1": b1[order], "b2": b2[order]})):
    res = calibrated_layers(
        skalign.CKAScorer(), {"a1": a1, "a2": a2}, layers_b, n_permutations=99, random_state=0
    )
    print(
        f"{label:>8s}: best pair {res.best_pair}, raw max {res.statistic:.3f}, threshold {res.threshold:.3f}, "
        f"calibrated {res.calibrated_score:.3f}, p = {res.pvalue:.3f}"
    )
