"""Base classes: the paired-scorer contract and per-measure metadata.

A *paired scorer* compares two representations of the same samples. It keeps the
scikit-learn estimator contract with the second representation in the place of
the target ``y``:

* ``fit(X, y)`` learns whatever the measure learns (a rotation, a whitening, a
  regression) from the rows given; a stateless measure only records the input
  widths, which is the fitted state that ``Pipeline`` and ``check_is_fitted`` need;
* ``score(X, y)`` applies it to the rows given and returns a float, higher = more
  aligned, in the range the instance declares in :attr:`score_range`.

``y`` is a 2-D representation ``(n_samples, n_features_y)`` of the same samples
as ``X`` (row i of both = stimulus i); error messages call it ``Y``. So
``cross_val_score(scorer, X, Y, cv=5)`` is a held-out alignment score, and a
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
:meth:`BasePairedScorer.metadata` computes an instance's declared properties
from one hook, ``_metadata``, which a subclass overrides (properties may depend
on hyper-parameters):

``score_range``: the (low, high) of ``score``; ``invariances``: the
transformations of either representation that leave ``score`` unchanged;
``symmetric``: whether swapping X and Y leaves ``score`` unchanged;
``stateless``: whether ``fit`` learns nothing beyond input checks.

Each is also readable as an attribute of the same name, derived from
:meth:`~BasePairedScorer.metadata`.

References
----------
.. [1] Klabunde, M., Wald, T., Schumacher, T., Maier-Hein, K., Strohmaier, M. &
   Lemmerich, F. (2024). ReSi: a comprehensive benchmark for representational
   similarity measures. arXiv:2408.00531.
.. [2] Williams, A. H., Kunz, E., Kornblith, S. & Linderman, S. W. (2021). Generalized
   shape metrics on neural representations. NeurIPS 34 (netrep).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import _get_feature_names, check_is_fitted, validate_data

from ._dask import as_dask_arrays, is_dask_array
from ._validation import (
    RepresentationWarning,
    check_nonconstant,
    check_paired,
    check_representation,
    check_representation_xp,
    pair_warnings_off,
    warn_pair_shapes,
)

__all__ = ["BasePairedScorer", "INVARIANCES", "METADATA_DEFAULTS", "RepresentationWarning"]

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

#: What a scorer declares when its ``_metadata`` hook leaves an entry out.
METADATA_DEFAULTS = {
    "score_range": (0.0, 1.0),
    "invariances": (),
    "symmetric": True,
    "stateless": True,
    # the score assumes distinct rows: a duplicated row would be its copy's nearest
    # neighbour (TAS, k-NN measures), a zero dissimilarity (RSA) or an off-diagonal
    # term of a U-statistic (debiased CKA, bias-corrected distance correlation);
    # resamples then draw rows without replacement
    "distinct_rows": False,
}

#: Metadata keys that are also attributes of every scorer.
_DECLARED_KEYS = tuple(METADATA_DEFAULTS)


def _settings_text(settings):
    return ", ".join(f"{key}={value!r}" for key, value in settings.items())


class _Declared:
    """One entry of :meth:`BasePairedScorer.metadata`, read as an attribute.

    A non-data descriptor, so a hyper-parameter of the same name stored by
    ``__init__`` (``LinearRegressionScorer(symmetric=True)``) is an ordinary
    instance attribute, which the scorer's ``_metadata`` hook then reports.
    On the class, the entry of a default-constructed instance.
    """

    def __set_name__(self, owner, name):
        self.key = name

    def __get__(self, obj, owner=None):
        if obj is None:
            try:
                return owner().metadata()[self.key]
            except Exception:  # a subclass whose constructor needs arguments
                return self
        return obj.metadata()[self.key]


class BasePairedScorer(BaseEstimator):
    """Base class for scorers of two representations of the same samples.

    Subclasses set ``_parameter_constraints``, declare their properties in the
    ``_metadata`` hook, and either implement ``combine`` (and optionally
    ``prepare``) for a stateless measure, or ``_fit`` and ``_score`` for one that
    learns from training rows.

    Attributes
    ----------
    n_features_in_, n_features_y_ : int
        Widths of X and Y seen in ``fit``; ``score`` refuses other widths.
    feature_names_in_, feature_names_y_ : ndarray of str
        Column names of X and Y when ``fit`` was given DataFrames with string
        column names; ``score`` refuses other names or another order, and warns
        when names are given on one side only, as scikit-learn does for X.
    """

    #: (low, high) of ``score``; higher = more aligned.
    score_range = _Declared()
    #: transformations of X or Y that leave the score unchanged (see ``INVARIANCES``).
    invariances = _Declared()
    #: whether score(X, Y) == score(Y, X).
    symmetric = _Declared()
    #: whether fit learns nothing beyond input checks.
    stateless = _Declared()
    #: whether the score assumes distinct rows (nearest-neighbour sets, RDMs,
    #: U-statistics): resamples then draw rows without replacement.
    distinct_rows = _Declared()

    _parameter_constraints: dict = {}

    #: whether the default ``fit`` refuses a constant X or Y (for measures undefined
    #: without variation)
    _needs_variation = False

    #: whether the computation has an Array API path: with
    #: ``sklearn.set_config(array_api_dispatch=True)``, CuPy or PyTorch input is then
    #: validated and computed in its own library, on its own device.
    _array_api = False

    #: whether ``fit``/``score`` take ``dask.array`` input lazily: the pair is then
    #: checked for shape and dtype only, and the scorer's ``_fit``/``_score`` compute
    #: on the cluster (values are checked in that one pass over the data).
    _dask = False

    # -- the sklearn contract -------------------------------------------------
    def fit(self, X, y):
        """Learn what the measure needs from paired training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
            The first representation; rows are samples (stimuli).
        y : array-like of shape (n_samples, n_features_y)
            The second representation, ``Y``: the same samples in the same order.

        Returns
        -------
        self : object
            The fitted scorer.

        Warns
        -----
        RepresentationWarning
            When both inputs have fewer rows than columns and equal widths (they
            may be transposed) or at most ``skalign._validation.FEW_SAMPLES`` rows.
        """
        self._validate_params()
        X, y = self._check_pair(X, y, reset=True)
        with pair_warnings_off():
            self._fit(X, y)
        return self

    def score(self, X, y):
        """Alignment of X and Y on the rows given (higher = more aligned).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
            The first representation, as many columns as in ``fit``.
        y : array-like of shape (n_samples, n_features_y)
            The second representation, ``Y``, of the same samples.

        Returns
        -------
        score : float
            In :attr:`score_range`.
        """
        X, y = self._check_fitted_pair(X, y)
        with pair_warnings_off():
            return float(self._score(X, y))

    # -- per-representation / per-pair split ----------------------------------
    def prepare(self, X, name="X"):
        """Work on one representation that any pairing can reuse.

        The default validates and returns the array; subclasses add what they
        precompute. The result is picklable and holds no reference to the partner.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One representation.
        name : str, default='X'
            Argument name for error messages.

        Returns
        -------
        prepared : object
            Input of :meth:`combine`.
        """
        if is_dask_array(X):
            raise TypeError(
                f"{name} is a Dask array: prepare keeps a representation in memory. Score Dask arrays with "
                "fit/score (scorers that take them say so) or the functions of skalign.metrics."
            )
        return check_representation(X, name=name, min_samples=self._min_samples())

    def combine(self, PX, PY):
        """In-sample score of a pair from two results of :meth:`prepare`.

        Stateless scorers define this; fitted scorers default to fitting and
        scoring a clone on the prepared rows.

        Parameters
        ----------
        PX, PY : object
            Results of :meth:`prepare` for the same samples.

        Returns
        -------
        score : float
        """
        est = clone(self)
        est._validate_params()
        est._set_widths(PX, PY)
        with pair_warnings_off():
            est._fit(PX, PY)
            return float(est._score(PX, PY))

    def _check_prepared_settings(self, prepared_type, prepared, **settings):
        """Refuse results of :meth:`prepare` made with settings other than this scorer's.

        Parameters
        ----------
        prepared_type : type
            The prepared dataclass of the family; other objects (raw arrays) pass.
        prepared : sequence of object
            The results of :meth:`prepare` given to :meth:`combine`; each has a ``name``.
        **settings
            This scorer's value of each prepared field that must match.
        """
        for P in prepared:
            if not isinstance(P, prepared_type):
                continue
            theirs = {key: getattr(P, key) for key in settings}
            if theirs != settings:
                raise ValueError(
                    f"{P.name} was prepared with {_settings_text(theirs)}, but this scorer has "
                    f"{_settings_text(settings)}; prepare it with this scorer."
                )

    def permute_prepared(self, P, perm):
        """A result of :meth:`prepare` for the same representation with rows reordered.

        The reuse hook of permutation tests (:func:`skalign.inference.permutation_test`):
        they permute the pairing of rows, which changes no per-representation work.
        The default asks the prepared object for its ``permute(perm)`` method
        (CKA's and the neighbourhood measures' prepared dataclasses have one) and
        returns None without it, in which case the caller prepares the permuted
        rows anew.

        Parameters
        ----------
        P : object
            A result of :meth:`prepare`.
        perm : ndarray of int
            Row ``i`` of the permuted representation is row ``perm[i]`` of P's.

        Returns
        -------
        prepared : object or None
            Input of :meth:`combine`, or None when only a new :meth:`prepare` can give it.
        """
        permute = getattr(P, "permute", None)
        return None if permute is None else permute(perm)

    # -- metadata ---------------------------------------------------------------
    def _metadata(self):
        """Hook: the properties this instance declares, as a dict.

        Override to declare ``score_range``, ``invariances``, ``symmetric`` and
        ``stateless`` (entries left out take :data:`METADATA_DEFAULTS`); read the
        hyper-parameters they depend on from ``self``, never the declared
        attributes themselves, which are computed from this hook.
        """
        return {}

    def metadata(self):
        """The measure's declared properties for these parameters, as a dict.

        The one place an instance's metadata is computed: the attributes
        ``score_range``, ``invariances``, ``symmetric`` and ``stateless`` read it.
        An instance method, since some properties depend on parameters (debiased
        CKA can be negative; a one-sided information imbalance is not symmetric).

        Returns
        -------
        metadata : dict
            ``name`` (the class name), ``score_range`` (tuple of two floats),
            ``invariances`` (tuple of str, see :data:`INVARIANCES`), ``symmetric``,
            ``stateless`` and ``distinct_rows`` (bool: the score assumes distinct
            rows, so resamples must not duplicate them).
        """
        meta = {**METADATA_DEFAULTS, **self._metadata()}
        for key in _DECLARED_KEYS:
            # a subclass written for the older contract may still declare a constant as a
            # plain class attribute (or a property); it shadows the computed attribute
            if not isinstance(inspect.getattr_static(self, key), _Declared):
                meta[key] = getattr(self, key)
        low, high = meta["score_range"]
        return {
            "name": type(self).__name__,
            "score_range": (float(low), float(high)),
            "invariances": tuple(meta["invariances"]),
            "symmetric": bool(meta["symmetric"]),
            "stateless": bool(meta["stateless"]),
            "distinct_rows": bool(meta["distinct_rows"]),
        }

    # -- hooks -------------------------------------------------------------
    def _fit(self, X, Y):
        """Learn from validated arrays; stateless scorers learn nothing (see ``_needs_variation``)."""
        if self._needs_variation:
            self._check_pair_varies(X, Y)

    def _score(self, X, Y):
        return self.combine(self.prepare(X, "X"), self.prepare(Y, "Y"))

    def _min_samples(self):
        return 2

    def _check_pair_varies(self, X, Y):
        """Refuse a constant X or Y: the fit-time check of measures undefined without variation."""
        check_nonconstant(X, "X")
        check_nonconstant(Y, "Y")

    def _check_pair(self, X, y, reset):
        """Validate X and y once, record or compare widths and names, and warn about shapes."""
        if self._dask and (is_dask_array(X) or is_dask_array(y)):
            return self._check_dask_pair(X, y, reset)
        with pair_warnings_off():
            if self._array_api and X is not None and y is not None:
                Xa, Ya, _ = check_representation_xp(X, y, min_samples=self._min_samples())
            else:
                Xa, Ya = check_paired(X, y, min_samples=self._min_samples())
        self._check_widths(X, Ya, reset, y=y)
        # fit and score are the public entries: the one place this warning is raised
        warn_pair_shapes(tuple(Xa.shape), tuple(Ya.shape), transposed=reset)
        return Xa, Ya

    def _check_dask_pair(self, X, y, reset):
        """Shape and dtype of a pair with a Dask side, without reading the data."""
        if y is None:
            raise ValueError("y is required: pass the second representation of the same samples.")
        Xd, Yd = as_dask_arrays([X, y], ("X", "Y"), min_samples=self._min_samples())
        self._check_widths(Xd, Yd, reset)
        warn_pair_shapes(tuple(Xd.shape), tuple(Yd.shape), transposed=reset)
        return Xd, Yd

    def _check_fitted_pair(self, X, y):
        """The entry of every method of a fitted scorer that takes a pair (``score``, ``distance``)."""
        check_is_fitted(self)
        return self._check_pair(X, y, reset=False)

    def _check_widths(self, X, Ya, reset, y=None):
        """Record (``reset``) or compare the widths of X and Y and their feature names.

        ``y``, the second representation as passed (a DataFrame, say), gives
        Y's column names; without it they are neither recorded nor checked.
        """
        # only names and widths: the arrays were validated by the caller
        validate_data(self, X, skip_check_array=True, reset=reset)
        # only frames have names; scikit-learn's look-up costs ~0.1 ms, skipped for arrays
        names_y = _get_feature_names(y) if getattr(y, "columns", None) is not None else None
        if reset:
            self.n_features_y_ = Ya.shape[1]
            if names_y is None:
                self.__dict__.pop("feature_names_y_", None)
            else:
                self.feature_names_y_ = names_y
            return
        if Ya.shape[1] != self.n_features_y_:
            raise ValueError(
                f"Y has {Ya.shape[1]} features, but {type(self).__name__} was fitted with "
                f"{self.n_features_y_} features in Y."
            )
        if y is not None:
            self._check_feature_names_y(names_y)

    def _check_feature_names_y(self, names):
        """scikit-learn's feature-name rules for X, applied to Y."""
        fitted = getattr(self, "feature_names_y_", None)
        cls = type(self).__name__
        if fitted is None and names is None:
            return
        if names is None:
            warnings.warn(
                f"Y does not have valid feature names, but {cls} was fitted with feature names",
                UserWarning,
                stacklevel=5,
            )
            return
        if fitted is None:
            warnings.warn(
                f"Y has feature names, but {cls} was fitted without feature names",
                UserWarning,
                stacklevel=5,
            )
            return
        if len(fitted) == len(names) and np.array_equal(fitted, names):
            return
        unexpected = sorted(set(names) - set(fitted))
        missing = sorted(set(fitted) - set(names))
        detail = []
        for label, found in (("unseen at fit time", unexpected), ("seen at fit time, yet now missing", missing)):
            if found:
                shown = ", ".join(repr(str(f)) for f in found[:5]) + (", ..." if len(found) > 5 else "")
                detail.append(f"Feature names {label}: {shown}.")
        if not detail:
            detail.append("Feature names must be in the same order as they were in fit.")
        raise ValueError(
            f"The feature names of Y should match those that were passed during fit; {cls} "
            f"would otherwise compare columns of Y that are not the ones it was fitted on. "
            + " ".join(detail)
        )

    def _set_widths(self, X, Y):
        self.n_features_in_ = np.shape(X)[1]
        self.n_features_y_ = np.shape(Y)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # y is a second representation, i.e. a required 2-D, multi-column target
        tags.target_tags.required = True
        tags.target_tags.two_d_labels = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.requires_fit = True
        return tags
