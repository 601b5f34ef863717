"""Reduce the tensors models produce to (n_samples, n_features) representations.

Language models give one vector per token, ``(n, t, d)``; convolutional networks
one per spatial position, ``(n, c, h, w)`` or ``(n, h, w, c)``. Every paired
measure compares 2-D representations, so these are reduced first:

* :func:`flatten` — every value a feature, ``(n, t * d)`` or ``(n, c * h * w)``;
* :func:`pool_tokens` — ``'mean'``, ``'max'``, ``'first'`` or ``'last'`` over tokens;
* :func:`pool_spatial` — ``'mean'`` or ``'max'`` over positions, or ``'flatten'``;
* :func:`tokens_as_samples` — every (sequence, token) a sample, with the sequence
  index of each row as ``groups`` (the exchangeability blocks of permutation tests).

Padding travels with the rows: a padded token position is a row of NaN in the
``(n, t, d)`` array (as :func:`skalign.extract.extract_activations` writes with
``pool='none'``), so it follows the samples through any cross-validation split.
Pooling skips such positions, ``'last'`` is the last position that is not padding,
and :func:`tokens_as_samples` drops them. This is the only place skalign accepts
NaN, and only as whole padded positions: a NaN inside a real token, or a sequence
that is padding throughout, is refused.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import StrOptions, validate_params

from ._validation import check_representation

__all__ = [
    "TOKEN_POOLS",
    "SPATIAL_POOLS",
    "TOKEN_POOL_CONSTRAINTS",
    "SPATIAL_POOL_CONSTRAINTS",
    "flatten",
    "padding_mask",
    "pool_tokens",
    "pool_spatial",
    "tokens_as_samples",
]

#: how :func:`pool_tokens` reduces the token axis
TOKEN_POOLS = ("mean", "max", "first", "last")
#: how :func:`pool_spatial` reduces the spatial axes
SPATIAL_POOLS = ("mean", "max", "flatten")

#: parameter constraints shared by the functions and the transformers of skalign.preprocessing
TOKEN_POOL_CONSTRAINTS = {"how": [StrOptions(set(TOKEN_POOLS))]}
SPATIAL_POOL_CONSTRAINTS = {"how": [StrOptions(set(SPATIAL_POOLS))], "channels_last": ["boolean"]}


def _as_float_tensor(X, name, ndim):
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        # the shared check words dtype errors (object, complex, strings)
        check_representation(arr, name=name, ndim=arr.ndim, min_samples=0)
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be a {want} array; got shape {arr.shape}.")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} has no samples; got shape {arr.shape}.")
    return arr


def padding_mask(X, *, name="X"):
    """Which token positions of an ``(n, t, d)`` array are real (not all-NaN padding).

    Returns
    -------
    mask : ndarray of bool, shape (n, t)
        True at real tokens.

    Raises
    ------
    ValueError
        A real token holding NaN or inf, or a sequence with no real token.
    """
    X = _as_float_tensor(X, name, (3,))
    nan = np.isnan(X)
    padded = nan.all(axis=2)
    real = ~padded
    bad_inside = (nan.any(axis=2) & real) | (np.isinf(X).any(axis=2))
    if bad_inside.any():
        i, j = np.argwhere(bad_inside)[0]
        raise ValueError(
            f"{name}[{i}, {j}] holds NaN or inf inside a real token; only whole padded positions "
            "(every feature NaN) are allowed in a token array."
        )
    empty = ~real.any(axis=1)
    if empty.any():
        raise ValueError(
            f"{name} has {int(empty.sum())} sequence(s) with no real token (every position is NaN "
            f"padding), e.g. sample {int(np.flatnonzero(empty)[0])}."
        )
    return real


def flatten(X, *, name="X"):
    """Every value of each sample a feature: ``(n, ...)`` to ``(n, prod(...))``.

    Padded (NaN) positions are refused here, since flattening would keep them.
    """
    X = _as_float_tensor(X, name, (2, 3, 4, 5))
    out = X.reshape(X.shape[0], -1)
    return check_representation(out, name=name)


@validate_params({"X": ["array-like"], **TOKEN_POOL_CONSTRAINTS, "name": [str]},
                 prefer_skip_nested_validation=True)
def pool_tokens(X, how="mean", *, name="X"):
    """Reduce ``(n, t, d)`` token activations to ``(n, d)``, skipping padding.

    .. math::

        \\text{mean: } x_i = \\frac{1}{|T_i|} \\sum_{j \\in T_i} X_{ij}, \\qquad
        \\text{last: } x_i = X_{i, \\max T_i},

    where :math:`T_i` are the real (non-padded) positions of sequence i.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_tokens, n_features)
        A 2-D array is taken as already pooled and returned validated.
    how : {'mean', 'max', 'first', 'last'}
    name : str
        Argument name for error messages.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    if np.ndim(X) == 2:
        return check_representation(X, name=name)
    X = _as_float_tensor(X, name, (3,))
    real = padding_mask(X, name=name)
    n = X.shape[0]
    if how == "mean":
        # NaN padding contributes nothing: sum the real positions, divide by their count
        total = np.where(real[:, :, None], X, 0).sum(axis=1, dtype=np.float64)
        out = (total / real.sum(axis=1)[:, None]).astype(X.dtype, copy=False)
    elif how == "max":
        out = np.where(real[:, :, None], X, -np.inf).max(axis=1)
    else:
        pos = real.argmax(axis=1) if how == "first" else X.shape[1] - 1 - real[:, ::-1].argmax(axis=1)
        out = X[np.arange(n), pos]
    return check_representation(out, name=name)


@validate_params({"X": ["array-like"], **SPATIAL_POOL_CONSTRAINTS, "name": [str]},
                 prefer_skip_nested_validation=True)
def pool_spatial(X, how="mean", *, channels_last=False, name="X"):
    """Reduce feature maps ``(n, c, h, w)`` (or ``(n, h, w, c)``, or 3-D volumes) over positions.

    Parameters
    ----------
    X : array-like of shape ``(n_samples, n_channels, *spatial)``
        Or ``(n_samples, *spatial, n_channels)`` with ``channels_last=True``. A 2-D
        array is taken as already pooled and returned validated.
    how : {'mean', 'max', 'flatten'}
        'mean' or 'max' over the spatial positions give ``(n, c)``; 'flatten' keeps
        every (channel, position), ``(n, c * h * w)``, channels first.
    channels_last : bool, default=False
        Whether the channel axis is the last one (TensorFlow/JAX layout).
    name : str

    Returns
    -------
    ndarray of shape (n_samples, n_channels) or (n_samples, n_channels * n_positions)
    """
    if np.ndim(X) == 2:
        return check_representation(X, name=name)
    X = _as_float_tensor(X, name, (3, 4, 5))
    if channels_last:
        X = np.moveaxis(X, -1, 1)
    if how == "flatten":
        out = X.reshape(X.shape[0], -1)
    else:
        flat = X.reshape(X.shape[0], X.shape[1], -1)
        out = flat.mean(axis=2, dtype=np.float64).astype(X.dtype, copy=False) if how == "mean" else flat.max(axis=2)
    return check_representation(np.ascontiguousarray(out), name=name)


def tokens_as_samples(X, *, name="X"):
    """Every real token a sample: ``(n, t, d)`` to ``(n_tokens_total, d)`` and its sequence index.

    Returns
    -------
    rows : ndarray of shape (n_real_tokens, n_features)
        Real tokens in order (sequence by sequence, position by position); padding dropped.
    groups : ndarray of int64, shape (n_real_tokens,)
        The sequence each row came from, for exchangeability blocks (``groups=``) of
        permutation tests and grouped cross-validation.
    """
    X = _as_float_tensor(X, name, (3,))
    real = padding_mask(X, name=name)
    seq, _ = np.nonzero(real)
    rows = X[real]
    return check_representation(rows, name=name), seq.astype(np.int64)
