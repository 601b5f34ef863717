"""
===========================================================
Grid-search the scale of alignment, cross-validate scores
===========================================================

Two questions a reviewer asks about any alignment number: *at which scale* do
the two representations agree, and would the number hold on samples the
measure has not seen?

Here both are answered with scikit-learn's own tools on two real networks:
``MLPClassifier``\\ s trained on the digits from two different seeds. The
scale is a hyper-parameter of :class:`~skalign.TopologicalAlignmentSpectrum`:
``GridSearchCV`` over a *fractional* ``n_neighbors`` (a fraction of the
samples, so the same scale on every fold) finds the neighbourhood size at
which held-out neighbourhoods agree most. Then ``cross_val_score`` reports the
held-out CKA, Procrustes and soft-matching scores per fold, as the
convergent-learning audits do (Kapoor, Srivastava & Khosla 2025), with a
pure-noise control that shows why held-out scores matter.
"""

# %%
# Two networks, the last hidden layer of each
# -------------------------------------------

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier

import skalign
from skalign.datasets import make_alignment_pair

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)


def last_hidden_layer(mlp, X):
    """Activation of the last hidden layer of a fitted ReLU MLPClassifier."""
    h = X
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0.0)
    return h


H = []
for seed in (0, 1):
    mlp = MLPClassifier(hidden_layer_sizes=(64, 64), alpha=1e-3, max_iter=300, random_state=seed)
    mlp.fit(X_train, y_train)
    print(f"seed {seed}: test accuracy {mlp.score(X_test, y_test):.3f}")
    H.append(last_hidden_layer(mlp, X_test))
H0, H1 = H
print("held-out representations:", H0.shape, H1.shape)

# %%
# Which scale dominates?
# ----------------------
# Each candidate ``n_neighbors`` is a fraction of the samples; ``score`` of a
# single-k spectrum is TAS at that k, computed on the held-out fold.

cv = KFold(5, shuffle=True, random_state=0)
fractions = [0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.25, 0.5]
search = GridSearchCV(skalign.TopologicalAlignmentSpectrum(), {"n_neighbors": fractions}, cv=cv)
search.fit(H0, H1)
best = search.best_params_["n_neighbors"]
n_fold = len(H0) // 5
print(f"dominant scale: n_neighbors = {best} (about {round(best * (n_fold - 1))} of the "
      f"{n_fold} samples of a test fold; a digit class is 1/10 of them)")

# %%
# A second search on synthetic clouds whose answer is known: jittered
# clusters agree best at the cluster size, a quarter of the samples.

Xj, Yj, _ = make_alignment_pair("jitter", n_samples=500, random_state=0)
search_jitter = GridSearchCV(
    skalign.TopologicalAlignmentSpectrum(), {"n_neighbors": fractions}, cv=cv
)
search_jitter.fit(Xj, Yj)
print("jittered clusters: dominant scale", search_jitter.best_params_["n_neighbors"])

fig, ax = plt.subplots(figsize=(6.5, 4))
for s, label, color in ((search, "digits MLPs, seed 0 vs 1", "C0"),
                        (search_jitter, "jittered clusters (4 equal clusters)", "C1")):
    res = s.cv_results_
    ax.errorbar(fractions, res["mean_test_score"], yerr=res["std_test_score"], marker="o",
                capsize=3, color=color, label=label)
    ax.plot(s.best_params_["n_neighbors"], s.best_score_, "*", ms=16, color=color)
ax.axvline(0.1, color="C0", ls=":", lw=1)
ax.axvline(0.25, color="C1", ls=":", lw=1)
ax.set_xscale("log")
ax.set_xlabel("n_neighbors (fraction of the fold's samples)")
ax.set_ylabel("held-out TAS (mean ± sd over 5 folds)")
ax.set_title("GridSearchCV over the neighbourhood scale (star = best)")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# Held-out global scores
# ----------------------
# Every scorer learns in ``fit`` (a rotation for Procrustes, a transport plan
# between units for soft matching) and scores the rows given, so
# ``cross_val_score`` is an out-of-sample alignment. As a control, the same
# scorers compare H0 with Gaussian noise of the same shape: a flexible map
# fitted in-sample finds "alignment" even there.

scorers = {
    "CKA": skalign.CKAScorer(),
    "debiased CKA": skalign.CKAScorer(debiased=True),
    "Procrustes": skalign.ProcrustesScorer(),
    "soft matching": skalign.SoftMatchingScorer(),
    f"TAS n_neighbors={best}": skalign.TopologicalAlignmentSpectrum(n_neighbors=best),
}
noise = np.random.default_rng(0).standard_normal(H0.shape)
rows = []
for name, scorer in scorers.items():
    for pair, (A, B) in {"seed 0 vs seed 1": (H0, H1), "seed 0 vs noise": (H0, noise)}.items():
        folds = cross_val_score(scorer, A, B, cv=cv)
        in_sample = scorer.fit(A, B).score(A, B)
        rows += [{"scorer": name, "pair": pair, "fold": f, "held-out": v, "in-sample": in_sample}
                 for f, v in enumerate(folds)]
scores = pd.DataFrame(rows)
print(scores.groupby(["scorer", "pair"], sort=False)[["held-out", "in-sample"]].agg(["mean", "std"])
      .round(3).to_string())

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
for ax, pair in zip(axes, ["seed 0 vs seed 1", "seed 0 vs noise"]):
    sub = scores[scores["pair"] == pair]
    for i, name in enumerate(scorers):
        s = sub[sub["scorer"] == name]
        ax.scatter(np.full(len(s), i) + np.linspace(-0.12, 0.12, len(s)), s["held-out"],
                   color="C0", s=18, label="held-out folds" if i == 0 else None)
        ax.plot([i - 0.25, i + 0.25], [s["in-sample"].iloc[0]] * 2, color="C3", lw=2,
                label="in-sample" if i == 0 else None)
    ax.set_xticks(range(len(scorers)), list(scorers), rotation=15)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title(pair)
axes[0].set_ylabel("score")
axes[0].legend(loc="lower left")
fig.suptitle("cross_val_score: held-out folds (dots) and the in-sample score (bar)")
fig.tight_layout()
plt.show()

# %%
# What the figures show
# ---------------------
# **The dominant scale.** For the two digit networks (blue), held-out TAS
# rises from about 0.62 at 1% of a fold to a peak of about 0.77 at
# ``n_neighbors=0.1``, i.e. about 18 neighbours in a test fold of 180 images,
# the size of one digit class there, and settles at 0.71-0.74 beyond. The two
# seeds agree most on which images belong together at the scale of a class,
# less on the fine arrangement inside a class. For the jittered clusters
# (orange) the search recovers the known answer: held-out TAS climbs from about
# 0.16 to about 0.85 at 0.25, the cluster size, with 0.5 equal within the fold
# spread.
#
# **Held-out global scores** (second figure, left). For the two networks,
# the held-out folds of CKA (about 0.95), Procrustes (0.97) and soft matching
# (0.61) are within about 0.01 of the in-sample score; TAS at the dominant
# scale gives 0.76-0.78 on the folds against 0.79 on all rows. A rotation
# aligns the two hidden layers almost perfectly, a matching of individual
# units much less so, as the convergent-learning audits report for larger
# networks.
#
# **The noise control** (right) is why held-out scores matter. Against pure
# noise, Procrustes finds an in-sample "alignment" of 0.12 and soft matching
# 0.06: the rotation and the transport plan fitted on the same rows explain
# part of the noise. On held-out folds both fall to about 0.01. Plain CKA goes
# the other way, 0.02 in-sample and 0.09 held-out: it fits nothing, so its
# held-out value is simply CKA on 180 rows instead of 899, and the upward bias
# of the plain estimator grows as the number of rows shrinks relative to the
# 64 units. Debiased CKA (``CKAScorer(debiased=True)``) stays at 0 in both,
# and TAS is at its chance level, 0, in both.
