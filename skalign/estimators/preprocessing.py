"""Transformers that reduce model tensors to 2-D (thin layers over :mod:`skalign.reduction`).

Convolutional layers are compared flattened or averaged over positions [1]_, and
language-model layers as pooled token activations [2]_.

References
----------
.. [1] Kornblith, S., Norouzi, M., Lee, H. & Hinton, G. (2019). Similarity of neural
   network representations revisited. ICML.
.. [2] Huh, M., Cheung, B., Wang, T. & Isola, P. (2024). The Platonic Representation
   Hypothesis. ICML.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..reduction import (
    SPATIAL_POOL_CONSTRAINTS,
    TOKEN_POOL_CONSTRAINTS,
    flatten,
    pool_spatial,
    pool_tokens,
    tokens_as_samples,
)

__all__ = ["Flatten", "PoolTokens", "PoolSpatial"]


def _ndim(X):
    # from the shape attribute, without np.ndim: array-likes that refuse
    # __array_function__ must still reach scikit-learn's validation
    shape = getattr(X, "shape", None)
    if shape is not None:
        return len(shape)
    return np.asarray(X).ndim if isinstance(X, (list, tuple)) else 2


class _Reducer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared ``fit``: record the per-sample shape and the output width."""

    def fit(self, X, y=None):
        """Record the shape of one sample and the number of output features.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._check_input(X, reset=True)
        self.input_shape_ = tuple(np.shape(X)[1:])
        self._n_features_out = self._reduce(X).shape[1]
        return self

    def _check_input(self, X, reset):
        """2-D input through scikit-learn's checks (names, widths, dtypes); tensors through ours."""
        ndim = _ndim(X)
        if ndim <= 2:
            # scikit-learn's wording for 1-D input ("Reshape your data ..."), sparse and
            # object input, and the recorded n_features_in_ / feature_names_in_
            return validate_data(self, X, reset=reset, dtype="numeric")
        X = np.asarray(X)
        width = int(np.prod(X.shape[1:]))
        if reset:
            self.n_features_in_ = width
        elif width != self.n_features_in_:
            raise ValueError(
                f"X has {width} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (per-sample shape {X.shape[1:]})."
            )
        return X

    def transform(self, X):
        """Reduce ``X`` to ``(n_samples, n_features_out)``.

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
        """
        check_is_fitted(self)
        X = self._check_input(X, reset=False) if _ndim(X) <= 2 else X
        out = self._reduce(X)
        if out.shape[1] != self._n_features_out:
            raise ValueError(
                f"X reduces to {out.shape[1]} features, but {type(self).__name__} was fitted on input "
                f"of per-sample shape {self.input_shape_} giving {self._n_features_out}."
            )
        return out



class Flatten(_Reducer):
    """Every value of each sample a feature: ``(n, ...)`` to ``(n, prod(...))``.

    Keeps the spatial or token structure in the feature index (two maps are
    compared position by position, as in [1]_); see :class:`PoolTokens` and
    :class:`PoolSpatial` for reductions that do not.

    Parameters
    ----------
    None; the output width is learned in ``fit``.

    References
    ----------
    Kornblith et al. (2019) [1]_ and Huh et al. (2024) [2]_, in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preprocessing import Flatten
    >>> Flatten().fit_transform(np.zeros((5, 3, 4, 4))).shape
    (5, 48)
    """

    _parameter_constraints: dict = {}

    def _reduce(self, X):
        return flatten(X)


class PoolTokens(_Reducer):
    """Pool ``(n, t, d)`` token activations to ``(n, d)``, skipping padded positions [2]_.

    Parameters
    ----------
    how : {'mean', 'max', 'first', 'last'}, default='mean'
        'last' is the last real (non-padded) token, the usual summary of a causal
        language model; 'first' the first (e.g. a [CLS] token).

    Notes
    -----
    Padded positions are rows of NaN in the array (see :mod:`skalign.reduction`),
    so the padding follows the samples through cross-validation splits; a 2-D
    input is taken as already pooled and passed through (validated).

    References
    ----------
    Kornblith et al. (2019) [1]_ and Huh et al. (2024) [2]_, in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preprocessing import PoolTokens
    >>> X = np.ones((2, 3, 4)); X[1, 2] = np.nan       # sample 1 has 2 real tokens
    >>> PoolTokens("mean").fit_transform(X).shape
    (2, 4)
    """

    _parameter_constraints: dict = {**TOKEN_POOL_CONSTRAINTS}

    def __init__(self, how="mean"):
        self.how = how

    def _reduce(self, X):
        return pool_tokens(X, self.how)


class PoolSpatial(_Reducer):
    """Pool feature maps ``(n, c, h, w)`` (or ``(n, h, w, c)``) over spatial positions [1]_.

    Parameters
    ----------
    how : {'mean', 'max', 'flatten'}, default='mean'
        'mean' or 'max' give one value per channel, ``(n, c)``; 'flatten' keeps every
        (channel, position), channels first.
    channels_last : bool, default=False
        Whether the channel axis is the last one.

    References
    ----------
    Kornblith et al. (2019) [1]_ and Huh et al. (2024) [2]_, in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preprocessing import PoolSpatial
    >>> PoolSpatial().fit_transform(np.zeros((5, 3, 8, 8))).shape
    (5, 3)
    """

    _parameter_constraints: dict = {**SPATIAL_POOL_CONSTRAINTS}

    def __init__(self, how="mean", channels_last=False):
        self.how = how
        self.channels_last = channels_last

    def _reduce(self, X):
        return pool_spatial(X, self.how, channels_last=self.channels_last)


class TokensAsSamples(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Every real token a sample: ``(n, t, d)`` to ``(n_real_tokens, d)``.

    Changes the number of rows, so it is applied to both representations at once
    (e.g. inside :class:`skalign.Paired`, both sides padded alike) and not inside a
    scikit-learn ``Pipeline``, which would leave the target's rows unchanged.
    :meth:`groups` gives the sequence of each row, for exchangeability blocks of
    permutation tests and for ``GroupKFold``.

    Parameters
    ----------
    None; the token width is learned in ``fit``.

    References
    ----------
    Kornblith et al. (2019) [1]_ and Huh et al. (2024) [2]_, in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.preprocessing import TokensAsSamples
    >>> X = np.ones((2, 3, 4)); X[1, 2] = np.nan
    >>> t = TokensAsSamples().fit(X)
    >>> t.transform(X).shape, t.groups(X).tolist()
    ((5, 4), [0, 0, 0, 1, 1])
    """

    _parameter_constraints: dict = {}

    def fit(self, X, y=None):
        """Record the feature width of the tokens.

        Returns
        -------
        self
        """
        rows, _ = tokens_as_samples(X)
        self.n_features_in_ = int(np.shape(X)[-1])
        self._n_features_out = rows.shape[1]
        return self

    def transform(self, X):
        """The real tokens of ``X`` as rows.

        Returns
        -------
        ndarray of shape (n_real_tokens, n_features)
        """
        check_is_fitted(self)
        rows, _ = tokens_as_samples(X)
        if rows.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {rows.shape[1]} features per token, but TokensAsSamples was fitted with "
                f"{self._n_features_out}."
            )
        return rows

    def groups(self, X):
        """The sequence index of every row :meth:`transform` returns for ``X``.

        Returns
        -------
        ndarray of int64, shape (n_real_tokens,)
        """
        return tokens_as_samples(X)[1]
