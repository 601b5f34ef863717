"""
=====================================================================
From a PyTorch model to a layer x layer alignment matrix
=====================================================================

Two small convolutional networks are trained on the 8 x 8 digits of
scikit-learn, identical but for their random seed. Four layers of each are
recorded on the held-out digits with :func:`skalign.extract.extract_activations`
(one forward pass per batch, forward hooks), reduced to 2-D with
:class:`skalign.preprocessing.PoolSpatial`, and compared layer by layer with
linear CKA and TAS (:func:`skalign.alignment_matrix`). The spectrum of the
most aligned pair of layers then says at which neighbourhood size the two
networks agree.

A second part runs a tiny transformer over token sequences of different
lengths: :class:`skalign.preprocessing.PoolTokens` compares sequences, and
:class:`skalign.preprocessing.TokensAsSamples` compares tokens, with the
sequence of each token kept as ``groups``.

This example needs PyTorch (``pip install "skalign[torch]"``), so the
documentation shows it without running it; ``python
examples/plot_cnn_digits_torch_slow.py`` runs it in well under a minute on a
laptop CPU and writes the two figures shown.
"""

# sphinx_gallery_thumbnail_path = '_static/plot_cnn_digits_torch_slow_1.png'

# %%
# Two CNNs that differ only in their seed
# ---------------------------------------

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import skalign
from skalign import CKAScorer, Paired, TopologicalAlignmentSpectrum
from skalign.extract import extract_activations
from skalign.preprocessing import PoolSpatial, PoolTokens, TokensAsSamples

torch.set_num_threads(1)
digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None]  # (n, 1, 8, 8)
X_train, X_test, y_train, y_test = train_test_split(X, digits.target, test_size=0.4, random_state=0)


def make_cnn(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),   # 0, 1
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(),  # 2, 3
        torch.nn.MaxPool2d(2),                                   # 4
        torch.nn.Flatten(), torch.nn.Linear(32 * 16, 64), torch.nn.ReLU(),  # 5, 6, 7
        torch.nn.Linear(64, 10),                                 # 8
    )


def train(model, epochs=15):
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xs, ys = torch.from_numpy(X_train), torch.from_numpy(y_train)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(xs), generator=g).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xs[idx]), ys[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(X_test)).argmax(1).numpy() == y_test).mean()
    return model, acc


LAYERS = {"conv1": "1", "conv2": "3", "fc": "7", "logits": "8"}
acts = {}
for seed in (0, 1):
    model, acc = train(make_cnn(seed))
    print(f"seed {seed}: test accuracy {acc:.3f}")
    got = extract_activations(model, X_test, layers=LAYERS, batch_size=128)
    # feature maps (n, c, h, w) -> (n, c) by mean over positions; fc and logits are already 2-D
    acts[seed] = {name: PoolSpatial("mean").fit_transform(a) for name, a in got.items()}

# %%
# Layer x layer: CKA and TAS
# --------------------------

scores = skalign.alignment_matrix(
    acts[0], acts[1],
    scorer={"CKA": CKAScorer(), "TAS k=10": TopologicalAlignmentSpectrum(n_neighbors=10)},
)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ax, name in zip(axes[:2], ["CKA", "TAS k=10"]):
    M = skalign.pivot_alignment(scores, scorer=name).loc[list(LAYERS), list(LAYERS)]
    im = ax.imshow(M.to_numpy(), vmin=0, vmax=1, cmap="viridis")
    ax.set(xticks=range(4), yticks=range(4), xticklabels=M.columns, yticklabels=M.index,
           xlabel="seed 1", ylabel="seed 0" if ax is axes[0] else "", title=name)
    for i in range(4):
        for j in range(4):
            ax.text(j, i, f"{M.iat[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
fig.colorbar(im, ax=axes[:2], shrink=0.8)

# %%
# The spectrum at the most aligned pair of layers
# -----------------------------------------------
# The diagonal pair with the highest TAS; its spectrum over every k shows the
# scale at which the two seeds agree (TAS = 1: the same k-neighbourhoods; 0: chance).

diag = {name: skalign.pivot_alignment(scores, scorer="TAS k=10").loc[name, name] for name in LAYERS}
best = max(diag, key=diag.get)
spec = TopologicalAlignmentSpectrum().fit(acts[0][best], acts[1][best]).spectrum(acts[0][best], acts[1][best])
axes[2].plot(spec["k"], spec["tas"])
axes[2].set(xscale="log", xlabel="k (neighbours)", ylabel="TAS", title=f"spectrum at {best} vs {best}")
axes[2].axhline(0, color="0.6", lw=0.8)
fig.savefig("plot_cnn_digits_torch_slow_1.png", dpi=90, bbox_inches="tight")

# %%
# Tokens: a tiny transformer over sequences of different lengths
# --------------------------------------------------------------
# ``pool='none'`` writes NaN at padded positions; ``PoolTokens`` skips them (a mean
# over the real tokens) and ``TokensAsSamples`` drops them, keeping the sequence
# of each token as ``groups``. ``Paired`` applies the reduction to both sides.


class TinyEncoder(torch.nn.Module):
    def __init__(self, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.emb = torch.nn.Embedding(30, 16)
        self.block1 = torch.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.block2 = torch.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)

    def forward(self, input_ids, attention_mask):
        pad = ~attention_mask.bool()
        h = self.block1(self.emb(input_ids), src_key_padding_mask=pad)
        return self.block2(h, src_key_padding_mask=pad)


rng = np.random.default_rng(0)
n_seq, t = 300, 12
lengths = rng.integers(3, t + 1, size=n_seq)
mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.int64)
ids = rng.integers(1, 30, size=(n_seq, t)) * mask
batch = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
tok = {s: extract_activations(TinyEncoder(s), batch, layers=["block2"], pool="none")["block2"] for s in (0, 1)}
print("token tensor", tok[0].shape, "padded positions are NaN:", bool(np.isnan(tok[0][0, lengths[0]:]).all()))
seq_cka = Paired(PoolTokens("mean"), CKAScorer()).fit(tok[0], tok[1]).score(tok[0], tok[1])
rows0, rows1 = (TokensAsSamples().fit_transform(tok[s]) for s in (0, 1))
token_cka = CKAScorer().fit(rows0, rows1).score(rows0, rows1)
groups = TokensAsSamples().fit(tok[0]).groups(tok[0])
print(f"two untrained encoders, block2: CKA of mean-pooled sequences {seq_cka:.3f}, "
      f"of tokens {token_cka:.3f} ({len(rows0)} tokens in {groups.max() + 1} sequences)")
# The encoders have no positional encoding, so tokens with the same id in the same
# sequence have the same activation (skalign warns about duplicated rows and orders
# them by index): the spectrum peaks at k ~ 80, the number of tokens sharing an id.
tas_tok = TopologicalAlignmentSpectrum().fit(rows0, rows1).spectrum(rows0, rows1)
fig2, ax2 = plt.subplots(figsize=(5, 3.2))
ax2.plot(tas_tok["k"], tas_tok["tas"])
ax2.set(xscale="log", xlabel="k (neighbouring tokens)", ylabel="TAS", title="tokens of two untrained encoders")
fig2.savefig("plot_cnn_digits_torch_slow_2.png", dpi=90, bbox_inches="tight")
plt.show()

# %%
# .. image:: /_static/plot_cnn_digits_torch_slow_1.png
#
# .. image:: /_static/plot_cnn_digits_torch_slow_2.png
