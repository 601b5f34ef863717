"""extract_activations against manual forward passes, on tiny models built here."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'skalign[torch]')")

from skalign.extract import extract_activations, load_activations  # noqa: E402
from skalign.reduction import pool_tokens  # noqa: E402


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(4, 6, 3, padding=1)
        self.act = torch.nn.ReLU()  # used twice: fires twice per forward
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.drop = torch.nn.Dropout(0.5)  # eval mode matters
        self.fc = torch.nn.Linear(24, 3)

    def forward(self, x):
        h1 = self.act(self.conv1(x))
        h2 = self.pool(self.act(self.conv2(h1)))
        return self.fc(self.drop(h2.flatten(1)))


def _manual(model, x):
    with torch.no_grad():
        c1 = model.conv1(x)
        h1 = model.act(c1)
        c2 = model.conv2(h1)
        p = model.pool(model.act(c2))
        out = model.fc(p.flatten(1))  # dropout is the identity in eval mode
    return {"conv1": c1, "conv2": c2, "pool": p, "fc": out}


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return SmallCNN()


def test_hooks_equal_manual_forward_exactly(cnn):
    x = torch.randn(23, 1, 8, 8)
    cnn.eval()
    # the same batches as the extraction: BLAS results depend on the batch's shape
    parts = [_manual(cnn, x[i:i + 5]) for i in range(0, 23, 5)]
    want = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    cnn.train()
    got = extract_activations(cnn, x, layers=["conv1", "conv2", "pool", "fc"], batch_size=5, dtype=np.float32)
    assert list(got) == ["conv1", "conv2", "pool", "fc"]
    for name, ref in want.items():
        np.testing.assert_array_equal(got[name], ref.numpy())
    assert cnn.training, "training mode must be restored"


def test_array_and_dataloader_inputs_and_requires_grad(cnn):
    x = torch.randn(12, 1, 8, 8, requires_grad=True)
    ref = extract_activations(cnn, x.detach(), layers=["fc"], batch_size=5)["fc"]
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x.detach(), torch.zeros(12)), batch_size=5)
    np.testing.assert_array_equal(extract_activations(cnn, loader, layers=["fc"])["fc"], ref)
    np.testing.assert_array_equal(extract_activations(cnn, x, layers=["fc"], batch_size=5)["fc"], ref)
    np.testing.assert_array_equal(extract_activations(cnn, x.detach().numpy(), layers=["fc"], batch_size=5)["fc"], ref)
    assert x.requires_grad and x.grad is None
    assert all(p.requires_grad for p in cnn.parameters())


def test_failing_batch_leaves_no_hooks(cnn):
    def batches():
        yield torch.randn(4, 1, 8, 8)
        yield torch.randn(4, 2, 8, 8)  # wrong channel count: conv1 raises

    with pytest.raises(RuntimeError):
        extract_activations(cnn, batches(), layers=["conv1", "fc"])
    assert all(not m._forward_hooks for m in cnn.modules())
    assert cnn.training


def test_out_memory_maps_equal_in_memory(cnn, tmp_path):
    x = torch.randn(17, 1, 8, 8)
    mem = extract_activations(cnn, x, layers=["conv2", "fc"], batch_size=4)
    disk = extract_activations(cnn, x, layers=["conv2", "fc"], batch_size=4, out=tmp_path / "acts")
    assert isinstance(disk["fc"], np.memmap)
    for k in mem:
        np.testing.assert_array_equal(disk[k], mem[k])
    back = load_activations(tmp_path / "acts")
    assert list(back) == ["conv2", "fc"]
    np.testing.assert_array_equal(back["conv2"], mem["conv2"])


def test_half_precision_outputs_are_converted(cnn):
    x = torch.randn(6, 1, 8, 8)
    ref = extract_activations(cnn, x, layers=["fc"])["fc"]
    got = extract_activations(cnn.to(torch.bfloat16), x.to(torch.bfloat16), layers=["fc"])["fc"]
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.allclose(got, ref, atol=0.1)


def test_bad_input_messages(cnn, tmp_path):
    x = torch.randn(4, 1, 8, 8)
    with pytest.raises(ValueError, match="conv1"):
        extract_activations(cnn, x, layers=["conv_1"])
    with pytest.raises(ValueError, match="act.*fired 2 times"):
        extract_activations(cnn, x, layers=["act"])
    first = extract_activations(cnn, x, layers=["act"], on_repeat="first")["act"]
    assert first.shape == (4, 4, 8, 8)
    with pytest.raises(ValueError, match="pool='mean'.*layer '0'"):
        extract_activations(torch.nn.Sequential(torch.nn.Linear(4, 2)), torch.randn(3, 4),
                            layers=["0"], pool="mean")
    with pytest.raises(TypeError, match="inputs"):
        extract_activations(cnn, 3.0, layers=["fc"])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="out="):
        extract_activations(cnn, x, layers=["fc"], out=blocker)
    with pytest.raises(ValueError, match="pool"):
        extract_activations(cnn, x, layers=["fc"], pool="avg")


def test_layer_that_never_fires():
    class TwoPaths(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.used = torch.nn.Linear(3, 2)
            self.unused = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match="unused.*did not fire"):
        extract_activations(TwoPaths(), torch.randn(5, 3), layers=["used", "unused"])


class TinyTokenModel(torch.nn.Module):
    """Embedding + one transformer encoder layer, called as model(input_ids=, attention_mask=)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(20, 8)
        self.block = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

    def forward(self, input_ids, attention_mask):
        h = self.emb(input_ids)
        return self.block(h, src_key_padding_mask=~attention_mask.bool())


def _token_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 20, (6, 5), generator=g)
    lengths = torch.tensor([5, 3, 1, 4, 5, 2])
    mask = (torch.arange(5)[None, :] < lengths[:, None]).long()
    return {"input_ids": ids * mask, "attention_mask": mask}, lengths


def test_token_pooling_honours_the_attention_mask():
    model = TinyTokenModel()
    batch, lengths = _token_batch()
    emb = extract_activations(model, batch, layers=["emb"], batch_size=4, pool="none")["emb"]
    assert emb.shape == (6, 5, 8)
    for i, L in enumerate(lengths.tolist()):
        assert np.isnan(emb[i, L:]).all() and not np.isnan(emb[i, :L]).any()
    mean = extract_activations(model, batch, layers=["emb"], batch_size=4, pool="mean")["emb"]
    last = extract_activations(model, batch, layers=["emb"], batch_size=4, pool="last")["emb"]
    with torch.no_grad():
        full = model.emb(batch["input_ids"]).numpy()
    for i, L in enumerate(lengths.tolist()):
        np.testing.assert_allclose(mean[i], full[i, :L].mean(axis=0), rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(last[i], full[i, L - 1])
    # pooling the NaN-padded tokens afterwards gives the same as pooling at extraction
    np.testing.assert_allclose(pool_tokens(emb, "mean"), mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(pool_tokens(emb, "last"), last)


def test_padding_values_never_change_a_pooled_result():
    model = TinyTokenModel()
    batch, _ = _token_batch()
    a = extract_activations(model, batch, layers=["block"], pool="mean")["block"]
    other = dict(batch)
    other["input_ids"] = torch.where(batch["attention_mask"].bool(), batch["input_ids"], 7)
    b = extract_activations(model, other, layers=["block"], pool="mean")["block"]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_hugging_face_model_from_a_config():
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=50, n_positions=16,
                                     bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2Model(config)
    batch, lengths = _token_batch()
    model.train()
    acts = extract_activations(model, batch, layers=["h.0", "h.1"], pool="last", batch_size=4)
    assert model.training
    assert {k: v.shape for k, v in acts.items()} == {"h.0": (6, 32), "h.1": (6, 32)}
    assert model.training  # a model built from a config starts in train mode (dropout on) ...
    model.eval()  # ... the reference pass needs what extraction does: eval mode
    with torch.no_grad():
        hidden = model(**batch, output_hidden_states=True).hidden_states
    # hidden_states[1] is block 0's output (the last entry has the final layer norm applied)
    for i, L in enumerate(lengths.tolist()):
        np.testing.assert_allclose(acts["h.0"][i], hidden[1][i, L - 1].numpy(), rtol=1e-5, atol=1e-6)
