"""Preprocess both representations of a pair, then score them."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import _get_feature_names, _num_samples, check_is_fitted, validate_data

from .._validation import check_same_samples
from ..base import BasePairedScorer

__all__ = ["Paired"]

#: how :class:`Paired` applies its preprocessor
PREPROCESS = ("both", "x", "separate")


class Paired(BasePairedScorer):
    """Fit a preprocessor on each representation's training rows, then a paired scorer.

    A scikit-learn ``Pipeline`` transforms X only: ``make_pipeline(StandardScaler(),
    CKAScorer())`` standardises X but scores it against the raw Y, so even
    ``fit(A, A).score(A, A)`` is not 1. ``Paired`` clones the preprocessor, fits one
    copy on X's training rows and another on y's, transforms each, and fits the
    scorer on the results; ``score`` applies the fitted preprocessors to the rows
    given. So ``cross_val_score(Paired(PCA(0.95), ProcrustesScorer()), X, Y, cv=5)``
    fits PCA per fold on each side, from training rows only.

    Parameters
    ----------
    preprocessor : transformer, pair of transformers, or None, default=None
        Anything with ``fit`` and ``transform`` (a ``Pipeline`` too, e.g.
        ``make_pipeline(PoolTokens(), PCA(0.95))``). With ``preprocess='separate'``,
        a pair ``(for_x, for_y)``. None: no preprocessing.
    scorer : paired scorer or None, default=None
        A skalign paired scorer (``fit(X, y)``, ``score(X, y)``); None means
        :class:`skalign.CKAScorer`.
    preprocess : {'both', 'x', 'separate'}, default='both'
        'both': a clone of ``preprocessor`` fitted on each side; 'x': X only (the
        behaviour of a ``Pipeline``); 'separate': ``preprocessor[0]`` for X and
        ``preprocessor[1]`` for y.

    Attributes
    ----------
    preprocessor_x_, preprocessor_y_ : fitted transformers or None
    scorer_ : fitted paired scorer

    Notes
    -----
    ``score_range`` and ``symmetric`` are the scorer's (``symmetric`` only with
    ``preprocess='both'``); a preprocessor can break the scorer's invariances
    (``StandardScaler`` breaks rotation invariance), so only
    ``sample_permutation`` is declared.

    References
    ----------
    Pedregosa et al. (2011). Scikit-learn: machine learning in Python. JMLR 12
    (the meta-estimator conventions followed here).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skalign import CKAScorer, Paired
    >>> A = np.random.default_rng(0).normal(size=(100, 6)) * [1, 2, 3, 4, 5, 60]
    >>> round(Paired(StandardScaler(), CKAScorer()).fit(A, A).score(A, A), 6)
    1.0
    """

    #: alignment_matrix hands tensors (token, feature-map) to it unreduced
    _accepts_tensors = True

    _parameter_constraints: dict = {
        "preprocessor": [HasMethods(["fit", "transform"]), tuple, list, None],
        "scorer": [HasMethods(["fit", "score"]), None],
        "preprocess": [StrOptions(set(PREPROCESS))],
    }

    def __init__(self, preprocessor=None, scorer=None, preprocess="both"):
        self.preprocessor = preprocessor
        self.scorer = scorer
        self.preprocess = preprocess

    # -- metadata follows the scorer ------------------------------------------
    def _scorer(self):
        if self.scorer is None:
            from .kernels import CKAScorer

            return CKAScorer()
        return self.scorer

    def _metadata(self):
        inner = self._scorer()
        return {
            "score_range": tuple(getattr(inner, "score_range", (-float("inf"), float("inf")))),
            # a preprocessor can break any invariance of the scorer but this one
            "invariances": ("sample_permutation",),
            "symmetric": self.preprocess == "both" and bool(getattr(inner, "symmetric", False)),
            "stateless": False,
        }

    # -- fit / score --------------------------------------------------------------
    def _preprocessors(self):
        pre = self.preprocessor
        if self.preprocess == "separate":
            if not isinstance(pre, (tuple, list)) or len(pre) != 2:
                raise ValueError(
                    "preprocessor must be a pair (for_x, for_y) of transformers with "
                    f"preprocess='separate'; got {pre!r}."
                )
            return pre[0], pre[1]
        if isinstance(pre, (tuple, list)):
            raise ValueError(
                f"preprocessor is a {type(pre).__name__}; a pair of transformers needs "
                "preprocess='separate'."
            )
        return pre, (pre if self.preprocess == "both" else None)

    @staticmethod
    def _check_rows(X, y):
        if y is None:
            raise ValueError(
                "y is None: this measure requires y to be passed, but the target y is None. "
                "Pass y, the same samples in a second representation."
            )
        check_same_samples(_num_samples(X), _num_samples(y), names=("X", "Y"),
                           shapes=(np.shape(X), np.shape(y)))

    def fit(self, X, y):
        """Fit the preprocessors on X's and y's rows, then the scorer on the transformed pair.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Any shape the preprocessor accepts (e.g. ``(n, t, d)`` before
            :class:`skalign.preprocessing.PoolTokens`).
        y : array-like of shape (n_samples, ...)
            The same samples in a second representation.

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_rows(X, y)
        validate_data(self, X, skip_check_array=True, reset=True)
        pre_x, pre_y = self._preprocessors()
        self.preprocessor_x_ = None if pre_x is None else clone(pre_x).fit(X)
        self.preprocessor_y_ = None if pre_y is None else clone(pre_y).fit(y)
        Xt, yt = self._transform(X, y)
        self.n_features_y_ = _num_features(y)
        names_y = _get_feature_names(y)
        if names_y is None:
            self.__dict__.pop("feature_names_y_", None)
        else:
            self.feature_names_y_ = names_y
        self.scorer_ = clone(self._scorer()).fit(Xt, yt)
        return self

    def _transform(self, X, y):
        Xt = X if self.preprocessor_x_ is None else self.preprocessor_x_.transform(X)
        yt = y if self.preprocessor_y_ is None else self.preprocessor_y_.transform(y)
        return Xt, yt

    def score(self, X, y):
        """The scorer's score of the preprocessed pair (preprocessors as fitted).

        Returns
        -------
        float
        """
        check_is_fitted(self)
        self._check_rows(X, y)
        validate_data(self, X, skip_check_array=True, reset=False)
        self._check_feature_names_y(_get_feature_names(y))
        return float(self.scorer_.score(*self._transform(X, y)))

    def prepare(self, X, name="X"):
        """Nothing is shared between pairs (the preprocessors are fitted per pair): returns ``X``."""
        return X

    def combine(self, PX, PY):
        """In-sample score: a clone fitted and scored on the pair."""
        return clone(self).fit(PX, PY).score(PX, PY)


def _num_features(A):
    shape = getattr(A, "shape", None)
    return int(shape[1]) if shape is not None and len(shape) > 1 else 1
