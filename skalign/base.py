"""Base classes: the paired-scorer contract and per-measure metadata.

A *paired scorer* compares two representations of the same samples. It keeps the
scikit-learn estimator contract with Y in the place of the target:

* ``fit(X, Y)`` learns whatever the measure learns (a rotation, a whitening, a
  regression) from the rows given; a stateless measure only records the input
  widths, which is the fitted state that ``Pipeline`` and ``check_is_fitted`` need;
* ``score(X, Y)`` applies it to the rows given and returns a float, higher = more
  aligned, in the range the class declares in :attr:`score_range`.

So ``cross_val_score(scorer, X, Y, cv=5)`` is a held-out alignment score, and a
``Pipeline`` of transformers on X ending in a scorer works as usual.

Preparation and combination
---------------------------
After netrep's split of fitting into per-representation and per-pair work, every
scorer has two public methods:

``prepare(X)``
    All work that depends on one representation alone (validation, centring,
    Gram matrices, neighbour ranks, whitening); the result is picklable.
``combine(PX, PY)``
    The in-sample score of a pair from two prepared representations.

``score`` of a stateless scorer is ``combine(prepare(X), prepare(Y))``, so there
is one implementation, and :func:`skalign.alignment_matrix` prepares each layer
once and combines many pairs cheaply.

Metadata (after the ReSi benchmark)
-----------------------------------
``score_range``: the (low, high) of ``score``; ``invariances``: the
transformations of either representation that leave ``score`` unchanged;
``symmetric``: whether swapping X and Y leaves ``score`` unchanged;
``stateless``: whether ``fit`` learns nothing beyond input checks.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_paired, check_representation, check_representation_xp

__all__ = ["BasePairedScorer", "INVARIANCES"]

#: Vocabulary of ``invariances`` entries.
INVARIANCES = {
    "translation": "adding a constant vector to every row",
    "isotropic_scaling": "multiplying the representation by a positive constant",
    "orthogonal": "right-multiplying by an orthogonal matrix (rotation, reflection)",
    "invertible_linear": "right-multiplying by any invertible matrix",
    "permutation": "permuting the features (columns)",
    "monotone_distance": "any transformation that keeps every point's neighbour order",
    "sample_permutation": "permuting the samples (rows) of X and Y together",
}


class BasePairedScorer(BaseEstimator):
    """Base class for scorers of two representations of the same samples.

    Subclasses set the metadata class attributes, ``_parameter_constraints``,
    and either implement ``combine`` (and optionally ``prepare``) for a stateless
    measure, or ``_fit`` and ``_score`` for one that learns from training rows.
    """

    #: (low, high) of ``score``; higher = more aligned.
    score_range = (0.0, 1.0)
    #: transformations of X or Y that leave the score unchanged (see ``INVARIANCES``).
    invariances = ()
    #: whether score(X, Y) == score(Y, X).
    symmetric = True
    #: whether fit learns nothing beyond input checks.
    stateless = True

    _parameter_constraints: dict = {}

    #: whether the computation has an Array API path: with
    #: ``sklearn.set_config(array_api_dispatch=True)``, CuPy or PyTorch input is then
    #: validated and computed in its own library, on its own device.
    _array_api = False

    # -- the sklearn contract -------------------------------------------------
    def fit(self, X, Y):
        """Learn what the measure needs from paired training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
        Y : array-like of shape (n_samples, n_features_y)
            The same samples in a second representation.

        Returns
        -------
        self
        """
        self._validate_params()
        X, Y = self._check_pair(X, Y, reset=True)
        self._fit(X, Y)
        return self

    def score(self, X, Y):
        """Alignment of X and Y on the rows given (higher = more aligned).

        Returns
        -------
        score : float
            In :attr:`score_range`.
        """
        check_is_fitted(self)
        X, Y = self._check_pair(X, Y, reset=False)
        return float(self._score(X, Y))

    # -- per-representation / per-pair split ----------------------------------
    def prepare(self, X, name="X"):
        """Work on one representation that any pairing can reuse.

        The default validates and returns the array; subclasses add what they
        precompute. The result is picklable and holds no reference to the partner.
        """
        return check_representation(X, name=name, min_samples=self._min_samples())

    def combine(self, PX, PY):
        """In-sample score of a pair from two results of :meth:`prepare`.

        Stateless scorers define this; fitted scorers default to fitting and
        scoring a clone on the prepared rows.
        """
        from sklearn.base import clone

        est = clone(self)
        est._validate_params()
        est._set_widths(PX, PY)
        est._fit(PX, PY)
        return float(est._score(PX, PY))

    # -- hooks -------------------------------------------------------------
    def _fit(self, X, Y):
        """Learn from validated arrays; stateless scorers learn nothing."""

    def _score(self, X, Y):
        return self.combine(self.prepare(X, "X"), self.prepare(Y, "Y"))

    def _min_samples(self):
        return 2

    def _check_pair(self, X, Y, reset):
        if self._array_api and X is not None and Y is not None:
            Xa, Ya, _ = check_representation_xp(X, Y, min_samples=self._min_samples())
        else:
            Xa, Ya = check_paired(X, Y, min_samples=self._min_samples())
        self._check_widths(X, Ya, reset)
        return Xa, Ya

    def _check_widths(self, X, Ya, reset):
        """Record (``reset``) or compare the widths of X and Y and X's feature names."""
        # only names and widths: the arrays were validated by the caller
        validate_data(self, X, skip_check_array=True, reset=reset)
        if reset:
            self.n_features_y_ = Ya.shape[1]
        elif Ya.shape[1] != self.n_features_y_:
            raise ValueError(
                f"Y has {Ya.shape[1]} features, but {type(self).__name__} was fitted with "
                f"{self.n_features_y_} features in Y."
            )

    def _set_widths(self, X, Y):
        self.n_features_in_ = np.shape(X)[1]
        self.n_features_y_ = np.shape(Y)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Y is a second representation, i.e. a required 2-D, multi-column target
        tags.target_tags.required = True
        tags.target_tags.two_d_labels = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.requires_fit = True
        return tags

    def metadata(self):
        """The measure's declared properties for these parameters, as a dict.

        An instance method: some properties depend on parameters (debiased CKA
        can be negative; a one-sided information imbalance is not symmetric).
        """
        return {
            "name": type(self).__name__,
            "score_range": tuple(self.score_range),
            "invariances": tuple(self.invariances),
            "symmetric": bool(self.symmetric),
            "stateless": bool(self.stateless),
        }
