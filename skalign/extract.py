"""Activations of chosen layers of a PyTorch model, in one forward pass per batch.

:func:`extract_activations` registers a forward hook on each requested module,
runs the model over the inputs batch by batch in eval mode under
``torch.no_grad()``, and returns one ``(n, ...)`` array per layer — in memory, or
written batch by batch to ``.npy`` memory maps (``out=``) so that peak memory is
one batch whatever n. :func:`load_activations` reads such a folder back as the
dict of memory maps that :func:`skalign.alignment_matrix` accepts.

torch is imported only when a function here is called (``pip install
"skalign[torch]"``); Hugging Face models work through the same hooks, with
``pool=`` reducing token activations under the batch's attention mask.
"""

from __future__ import annotations

import difflib
import json
import os
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["POOLS", "extract_activations", "load_activations"]

#: token reductions of :func:`extract_activations`; 'none' keeps every token and
#: writes NaN at padded positions (see :mod:`skalign.reduction`)
POOLS = (None, "mean", "last", "first", "none")
ON_REPEAT = ("error", "first", "last")
_META = "activations.json"


def _import_torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "extract_activations needs PyTorch: pip install 'skalign[torch]' (or pip install torch)."
        ) from None
    return torch


def _resolve_layers(model, layers):
    """name -> module for module names, modules and (name, module) pairs."""
    modules = dict(model.named_modules())
    if isinstance(layers, str) or not hasattr(layers, "__iter__"):
        raise TypeError(
            f"layers must be a list of module names (see model.named_modules()) or a dict "
            f"name -> module; got {type(layers).__name__}."
        )
    items = layers.items() if isinstance(layers, dict) else ((x, x) for x in layers)
    resolved = {}
    for name, spec in items:
        if isinstance(spec, str):
            if spec not in modules:
                names = [m for m in modules if m]
                close = difflib.get_close_matches(spec, names, n=5) or names[:10]
                hint = f" Closest names: {close}." if close else ""
                raise ValueError(f"layers: the model has no module named {spec!r}.{hint}")
            resolved[str(name)] = modules[spec]
        elif hasattr(spec, "register_forward_hook"):
            resolved[str(name if not hasattr(name, "register_forward_hook") else _module_name(model, spec))] = spec
        else:
            raise TypeError(f"layers: {spec!r} is neither a module name nor a torch module.")
    if not resolved:
        raise ValueError("layers is empty: name at least one module to record.")
    return resolved


def _module_name(model, module):
    for name, m in model.named_modules():
        if m is module:
            return name or type(model).__name__
    raise ValueError(f"layers: module {type(module).__name__} is not part of the model.")


def _main_tensor(output, layer, output_index):
    """The tensor a module returned: itself, or the documented element of a tuple/ModelOutput."""
    torch = _import_torch()
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "last_hidden_state") and output_index == 0:
        return output.last_hidden_state
    if isinstance(output, dict) or hasattr(output, "to_tuple"):
        values = list(output.values()) if isinstance(output, dict) else list(output.to_tuple())
    elif isinstance(output, (tuple, list)):
        values = list(output)
    else:
        raise TypeError(f"layer {layer!r} returned {type(output).__name__}, not a tensor or a tuple of tensors.")
    if not values or output_index >= len(values) or not isinstance(values[output_index], torch.Tensor):
        raise TypeError(
            f"layer {layer!r} returned a {type(output).__name__} whose element {output_index} is not a "
            "tensor; choose another output_index."
        )
    return values[output_index]


def _batches(inputs, batch_size):
    """Yield batches (tensors, or dicts of tensors) from the accepted input types."""
    torch = _import_torch()
    if isinstance(inputs, np.ndarray):
        inputs = torch.from_numpy(inputs)
    if isinstance(inputs, torch.Tensor):
        for start in range(0, inputs.shape[0], batch_size):
            yield inputs[start:start + batch_size]
        return
    if isinstance(inputs, dict):
        n = len(next(iter(inputs.values())))
        for start in range(0, n, batch_size):
            yield {k: v[start:start + batch_size] for k, v in inputs.items()}
        return
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(
            "inputs must be a tensor, an array, a dict of tensors, a DataLoader or an iterable of "
            f"batches; got {type(inputs).__name__}."
        )
    for batch in inputs:
        if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
            batch = batch[0]  # (inputs, targets) from a labelled DataLoader
        if isinstance(batch, np.ndarray):
            batch = torch.from_numpy(batch)
        yield batch


def _n_inputs(inputs):
    if isinstance(inputs, dict):
        return len(next(iter(inputs.values())))
    dataset = getattr(inputs, "dataset", None)
    if dataset is not None and hasattr(dataset, "__len__"):
        return len(dataset)
    if hasattr(inputs, "shape"):
        return int(inputs.shape[0])
    return None


def _to_device(batch, device):
    if isinstance(batch, dict):
        return {k: (v.to(device) if hasattr(v, "to") else v) for k, v in batch.items()}
    return batch.to(device)


def _pool(t, mask, pool, layer):
    """(b, tokens, d) -> (b, d) under the attention mask; 'none' keeps tokens with NaN padding."""
    torch = _import_torch()
    if pool is None:
        return t
    if t.ndim != 3:
        raise ValueError(
            f"pool={pool!r} reduces (batch, tokens, features) activations, but layer {layer!r} gave "
            f"shape {tuple(t.shape)}; use pool=None for it."
        )
    if mask is None:
        mask = torch.ones(t.shape[:2], dtype=torch.bool, device=t.device)
    mask = mask.to(torch.bool)
    if pool == "none":
        return torch.where(mask[:, :, None], t, torch.full_like(t, float("nan")))
    if pool == "mean":
        m = mask[:, :, None].to(t.dtype)
        return (t * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
    positions = torch.arange(t.shape[1], device=t.device).expand_as(mask)
    if pool == "first":
        idx = torch.where(mask, positions, t.shape[1]).min(dim=1).values
    else:
        idx = torch.where(mask, positions, -1).max(dim=1).values
    return t[torch.arange(t.shape[0], device=t.device), idx.clamp(0, t.shape[1] - 1)]


@validate_params(
    {
        "model": "no_validation",
        "inputs": "no_validation",
        "layers": "no_validation",
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",
        "pool": [StrOptions({"mean", "last", "first", "none"}), None],
        "dtype": "no_validation",
        "out": [str, os.PathLike, None],
        "output_index": [Interval(Integral, 0, None, closed="left")],
        "on_repeat": [StrOptions(set(ON_REPEAT))],
        "n_samples": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def extract_activations(
    model,
    inputs,
    layers,
    *,
    batch_size=64,
    device=None,
    pool=None,
    dtype=np.float32,
    out=None,
    output_index=0,
    on_repeat="error",
    n_samples=None,
    verbose=0,
):
    """Record the outputs of ``layers`` of ``model`` over ``inputs``, one forward pass per batch.

    Parameters
    ----------
    model : torch.nn.Module
        Put in eval mode under ``torch.no_grad()`` for the extraction; its
        training mode is restored afterwards.
    inputs : tensor, ndarray, dict of tensors, DataLoader or iterable of batches
        A tensor or array is cut into batches of ``batch_size`` rows along its first
        axis. A dict (e.g. a tokenizer's output) is cut likewise and passed as
        ``model(**batch)``. A DataLoader or another iterable yields batches: tensors,
        ``(inputs, targets)`` tuples (targets ignored) or dicts.
    layers : list of str, or dict of name -> module name or module
        Module names as in ``model.named_modules()``.
    batch_size : int, default=64
        Rows per forward pass for tensor, array and dict inputs.
    device : str or torch.device, optional
        Where batches are sent; default the device of the model's first parameter.
    pool : {None, 'mean', 'last', 'first', 'none'}, default=None
        Reduction of ``(batch, tokens, d)`` outputs over tokens under the batch's
        ``attention_mask`` (all tokens real when there is none): padding never
        enters a mean, 'last' is the last real token. 'none' keeps every token and
        writes NaN at padded positions, which :mod:`skalign.reduction` skips.
        None: outputs are kept as they are.
    dtype : numpy dtype, default=numpy.float32
        dtype of the returned arrays (bfloat16 and float16 outputs are converted).
    out : path-like, optional
        A folder: one ``<layer>.npy`` memory map per layer, written batch by batch,
        and ``activations.json`` with the names and shapes. The number of samples
        must be known up front: from ``len(inputs)`` / ``len(loader.dataset)``, or
        ``n_samples``.
    output_index : int, default=0
        Which element of a tuple or ``ModelOutput`` a module returns is recorded
        (``last_hidden_state`` for a ``ModelOutput`` at 0).
    on_repeat : {'error', 'first', 'last'}, default='error'
        What to do when a module fires more than once in one forward pass (a
        shared ``ReLU`` used at several depths): refuse, naming the layer, or keep
        its first or last call.
    n_samples : int, optional
        Number of samples, for ``out=`` with an iterable of unknown length.
    verbose : int, default=0
        Print a line per batch when > 0.

    Returns
    -------
    dict of str -> ndarray (or numpy.memmap with ``out=``)
        One array of shape ``(n, ...)`` per layer, in the order given.

    Raises
    ------
    ValueError
        Unknown layer name (with the closest names), a layer that never fired or
        fired twice with ``on_repeat='error'``, an ``out`` folder that cannot be
        written, a pooled output that is not 3-D, or a mismatch with ``n_samples``.
    TypeError
        Inputs or layers of a type not listed above.

    Examples
    --------
    >>> import torch
    >>> from skalign.extract import extract_activations
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> acts = extract_activations(net, torch.randn(10, 4), layers=["0", "2"])
    >>> {k: v.shape for k, v in acts.items()}
    {'0': (10, 8), '2': (10, 2)}
    """
    torch = _import_torch()
    modules = _resolve_layers(model, layers)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating dtype; got {dtype}.")
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else "cpu"
    n_total = n_samples if n_samples is not None else _n_inputs(inputs)
    if out is not None:
        out = os.fspath(out)
        if n_total is None:
            raise ValueError(
                "out= writes memory maps of a known size: pass n_samples, or inputs whose length "
                "is known (a tensor, an array, a dict or a DataLoader over a sized dataset)."
            )
        try:
            os.makedirs(out, exist_ok=True)
            probe = os.path.join(out, ".skalign_write_test")
            open(probe, "w").close()
            os.remove(probe)
        except OSError as exc:
            raise ValueError(f"out={out!r} is not a writable folder: {exc}") from None

    calls = {name: [] for name in modules}

    def make_hook(name):
        def hook(module, args, output):
            calls[name].append(_main_tensor(output, name, output_index).detach())
        return hook

    was_training = model.training
    handles = []
    results = {name: [] for name in modules}
    maps, written = {}, 0
    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        model.eval()
        with torch.no_grad():
            for b, batch in enumerate(_batches(inputs, batch_size)):
                batch = _to_device(batch, device)
                mask = batch.get("attention_mask") if isinstance(batch, dict) else None
                for c in calls.values():
                    c.clear()
                if isinstance(batch, dict):
                    model(**batch)
                else:
                    model(batch)
                for name in modules:
                    got = calls[name]
                    if not got:
                        raise ValueError(
                            f"layer {name!r} did not fire in the forward pass of batch {b}: it is not on "
                            "the path the model's forward takes."
                        )
                    if len(got) > 1 and on_repeat == "error":
                        raise ValueError(
                            f"layer {name!r} fired {len(got)} times in one forward pass (a module used at "
                            "several places, e.g. a shared activation); record a module used once, or pass "
                            "on_repeat='first' or 'last'."
                        )
                    t = got[0] if on_repeat == "first" else got[-1]
                    t = _pool(t, mask, pool, name)
                    arr = t.to(torch.float32 if t.dtype in (torch.bfloat16, torch.float16) else t.dtype)
                    arr = arr.cpu().numpy().astype(dtype, copy=False)
                    if out is None:
                        if n_total is None:
                            results[name].append(arr)
                            continue
                        # known n: fill one preallocated array, no concatenation copy at the end
                        if name not in maps:
                            maps[name] = np.empty((n_total, *arr.shape[1:]), dtype=dtype)
                        if written + arr.shape[0] > n_total:
                            raise ValueError(f"n_samples={n_total} but the inputs hold more samples.")
                        maps[name][written:written + arr.shape[0]] = arr
                        continue
                    if name not in maps:
                        maps[name] = _open_npy(os.path.join(out, f"{name}.npy"), dtype, (n_total, *arr.shape[1:]))
                    if written + arr.shape[0] > n_total:
                        raise ValueError(f"n_samples={n_total} but the inputs hold more samples.")
                    # plain sequential writes: the pages go to the OS cache, not to this
                    # process's resident memory, as writing through a memory map would
                    maps[name].write(memoryview(np.ascontiguousarray(arr)).cast("B"))
                if n_total is not None:
                    written += arr.shape[0]
                if verbose:
                    print(f"[extract_activations] batch {b + 1}: {arr.shape[0]} samples", flush=True)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        if out is not None:
            for fh in maps.values():
                fh.close()
    if n_total is not None and written != n_total:
        raise ValueError(f"n_samples={n_total} but the inputs held {written} samples.")
    if out is None:
        if n_total is not None:
            return maps
        if not all(results.values()):
            raise ValueError("inputs gave no batch: nothing to record.")
        return {name: np.concatenate(chunks, axis=0) for name, chunks in results.items()}
    shapes = {k: list(np.load(os.path.join(out, f"{k}.npy"), mmap_mode="r").shape) for k in maps}
    meta = {"layers": list(modules), "shapes": shapes, "dtype": dtype.name, "pool": pool}
    with open(os.path.join(out, _META), "w") as fh:
        json.dump(meta, fh, indent=1)
    return load_activations(out)


def _open_npy(path, dtype, shape):
    """Create a ``.npy`` file of the final shape and return it open for writing its data in order."""
    header = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    offset = header.offset
    del header
    fh = open(path, "r+b")
    fh.seek(offset)
    return fh


def load_activations(path, *, mmap_mode="r"):
    """Read a folder written by ``extract_activations(..., out=path)``.

    Returns
    -------
    dict of str -> numpy.memmap
        Layers in the order they were requested.
    """
    path = os.fspath(path)
    meta_path = os.path.join(path, _META)
    if not os.path.exists(meta_path):
        raise ValueError(f"path={path!r} holds no {_META}: not a folder written by extract_activations.")
    with open(meta_path) as fh:
        meta = json.load(fh)
    return {name: np.load(os.path.join(path, f"{name}.npy"), mmap_mode=mmap_mode) for name in meta["layers"]}
