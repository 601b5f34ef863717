"""Generalized shape metrics: Procrustes, partial whitening and CCA (Williams et al. 2021).

Each representation is mapped once, on its own, to a normalised shape

.. math::

    \\phi_\\alpha(X) = c\\,(X - \\bar x)\\,\\bigl(\\alpha I + (1-\\alpha)\\,\\tilde\\Sigma^{-1/2}\\bigr),
    \\qquad \\tilde\\Sigma = \\frac{\\Sigma}{\\operatorname{tr}(\\Sigma)/d},
    \\qquad \\Sigma = \\tfrac1n (X - \\bar x)^\\top (X - \\bar x),

and two shapes are compared up to an orthogonal transformation :math:`Q`:

.. math::

    \\cos\\theta = \\max_Q \\frac{\\langle \\phi(X) Q, \\phi(Y)\\rangle_F}{\\|\\phi(X)\\|_F\\,\\|\\phi(Y)\\|_F}
    = \\frac{\\|\\phi(X)^\\top \\phi(Y)\\|_*}{\\|\\phi(X)\\|_F\\,\\|\\phi(Y)\\|_F},

where :math:`\\|\\cdot\\|_*` is the nuclear norm and the optimal :math:`Q = UV^\\top` comes from the
SVD :math:`\\phi(X)^\\top\\phi(Y) = USV^\\top` (orthogonal Procrustes, Schönemann 1966).
``alpha=1`` is orthogonal Procrustes on centred data; ``alpha=0`` whitens both sides, so
:math:`\\cos\\theta` is the mean canonical correlation (CCA) when the widths are equal.

The angular distance :math:`\\theta = \\arccos(\\cos\\theta) \\in [0, \\pi/2]` is a metric on
shapes (it satisfies the triangle inequality), because :math:`\\phi_\\alpha` acts on each
representation separately. The Euclidean variant is
:math:`d_E = \\min_Q \\|\\phi(X)Q - \\phi(Y)\\|_F / \\sqrt n`, the root-mean-square distance per
sample; with ``scale=True`` the factor :math:`c` makes the mean squared row norm 1, so in
sample :math:`d_E = \\sqrt{2 - 2\\cos\\theta}`.

Conventions
-----------
* **Scale of the whitening.** Williams et al. mix :math:`\\alpha I` with :math:`\\Sigma^{-1/2}`;
  to make the mix independent of the units of ``X``, the covariance is first divided by its
  mean eigenvalue (:math:`\\tilde\\Sigma`), so isotropic data are left unchanged by every
  ``alpha`` and the family is invariant to isotropic scaling for every ``alpha``.
* **Unequal widths: zero-padding** (the default, ``width='zero_pad'``). The narrower
  representation is padded with zero columns; this is the same as letting :math:`Q` be a
  ``d_x`` by ``d_y`` matrix with orthonormal rows or columns, which is what is stored.
  The metric property holds. ``width='pca'`` instead keeps the top ``min(d_x, d_y)``
  principal components of each representation (learned on the training rows) and then
  whitens in that subspace; it discards variance and is no longer a metric across
  representations of different widths.
* **Extreme magnitudes.** Every score is free of the units of ``X`` and ``Y``: a
  representation whose largest magnitude lies outside :math:`2^{\\pm m/4}` (:math:`m` the
  exponent range of its dtype: about :math:`10^{\\pm 77}` in float64, :math:`10^{\\pm 9}` in
  float32) is first divided by a power of two near that magnitude (``ShapeTransform.unit``),
  which is exact, so its squares and cross-products can neither overflow nor underflow.
  Ordinary data are not divided at all.
* **Held-out rows.** The centring, the whitening, the scale ``c`` and ``Q`` are learned on
  training rows and applied unchanged to new rows, so a held-out :math:`\\cos\\theta` lies
  in ``[-1, 1]``: it can fall below 0 when the learned rotation does not transfer, and
  its average over folds is not biased upwards by clipping.

Array API (GPU)
---------------
With ``sklearn.set_config(array_api_dispatch=True)``, CuPy, PyTorch or other Array API
input is processed with its own library on its own device: centring, the covariance
eigendecomposition, whitening, the cross-product and its SVD all stay there, in the
input's precision with float64 for the small d x d factorisations where the device has it;
only scalars (and the d eigenvalues, for the whitening checks) come back to the host.
The learned ``ShapeTransform`` and rotation are arrays of the input's library.

Dask arrays
-----------
:func:`procrustes_score`, :func:`shape_distance`, :func:`fit_shape_pair`,
:func:`fit_shape_transform` and :func:`transfer_shape_alignment` accept
``dask.array`` input (a NumPy partner is wrapped with the Dask array's row
chunks; a Dask partner is rechunked along rows to the first array's chunks).
Everything they need is :math:`d \\times d`: the column means, the centred Grams
(only their traces when ``alpha=1`` without PCA) and :math:`X^{c\\top}Y^c` of the
training rows, or the same products about the training means for new rows. One
pass over the row chunks forms them all on the active Dask scheduler
(see :mod:`skalign._dask`), and the host finishes with the code of in-memory
data, so every ``alpha`` and ``width`` is available. The learned maps and
rotation are NumPy arrays. The sums are formed in float64, so float32 input
agrees with its in-memory score to float32 rounding; data whose squares would
overflow or underflow are read a second time, at the exact power-of-two scale.
:func:`prepare_shape` and :func:`optimal_rotation` return or take
:math:`n \\times d` shapes and refuse Dask input.

References
----------
.. [1] Williams, A. H., Kunz, E., Kornblith, S. & Linderman, S. W. (2021). Generalized shape
   metrics on neural representations. NeurIPS 34.
.. [2] Schönemann, P. H. (1966). A generalized solution of the orthogonal Procrustes
   problem. Psychometrika 31, 1-10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._array_api import acc_dtype, device_of, get_namespace, ldexp, matmul, pow2_exponent, sq_sum, to_numpy
from ._dask import as_dask_arrays, dask_scaled_moments, is_dask_array
from ._validation import check_nonconstant, check_prepared_pair, check_representation_xp

__all__ = [
    "SHAPE_PARAMETER_CONSTRAINTS",
    "ShapeTransform",
    "ShapeAlignment",
    "PreparedShape",
    "fit_shape_transform",
    "fit_shape_pair",
    "transfer_shape_alignment",
    "optimal_rotation",
    "prepare_shape",
    "combine_shape",
    "procrustes_score",
    "shape_distance",
]

#: The hyper-parameters of the shape metrics, as scikit-learn parameter constraints; used
#: by the public functions here and by :class:`skalign.ProcrustesScorer`.
SHAPE_PARAMETER_CONSTRAINTS = {
    "alpha": [Interval(Real, 0, 1, closed="both")],
    "center": ["boolean"],
    "scale": ["boolean"],
    "score_method": [StrOptions({"angular", "euclidean"})],
    "width": [StrOptions({"zero_pad", "pca"})],
}
_ONE_SIDE = {k: SHAPE_PARAMETER_CONSTRAINTS[k] for k in ("alpha", "center", "scale")}


# --------------------------------------------------------------------------- helpers
def _centred(X, center, xp):
    """Rows divided by a power of two where their squares could overflow or underflow, centred.

    Also returns the mean (in X's units) and the power of two; the power is 1 for
    ordinary data (see :func:`skalign._array_api.pow2_exponent`), whose numbers are then
    kept bit for bit.
    """
    e = pow2_exponent(X, xp, when="extreme")
    Xs = ldexp(X, -e, xp)
    if not center:
        return Xs, None, math.ldexp(1.0, e)
    mean = xp.mean(Xs, axis=0)
    return Xs - mean, ldexp(mean, e, xp), math.ldexp(1.0, e)


# --------------------------------------------------------------------------- results
class ShapeAlignment(NamedTuple):
    """Sufficient statistics of one comparison :math:`\\langle Z_x Q, Z_y\\rangle`, :math:`\\|Z_x\\|^2`, :math:`\\|Z_y\\|^2`.

    Attributes
    ----------
    inner : float
        :math:`\\langle Z_x Q, Z_y\\rangle_F`, in units of ``unit_x * unit_y``.
    sq_norm_x, sq_norm_y : float
        :math:`\\|Z_x\\|_F^2` and :math:`\\|Z_y\\|_F^2`, in units of ``unit_x**2`` and ``unit_y**2``.
    n_samples : int
        Number of rows compared.
    unit_x, unit_y : float
        The units the shapes are expressed in (powers of two); both 1 except for
        ``scale=False`` at magnitudes where the products would overflow or underflow
        (see the module notes).
    """

    inner: float
    sq_norm_x: float
    sq_norm_y: float
    n_samples: int
    unit_x: float = 1.0
    unit_y: float = 1.0

    def cosine(self):
        """:math:`\\cos\\theta`, in [-1, 1] (in [0, 1] on the rows the rotation was fitted on)."""
        if not (self.sq_norm_x > 0 and self.sq_norm_y > 0):
            which = "X" if not self.sq_norm_x > 0 else "Y"
            raise ValueError(
                f"{which} is all zero after the learned centring and whitening (every row equals "
                "the training mean), so its angle to the other representation is undefined."
            )
        # two square roots, not one of the product, which could leave the float range
        denom = math.sqrt(self.sq_norm_x) * math.sqrt(self.sq_norm_y)
        return float(np.clip(self.inner / denom, -1.0, 1.0))

    def angle(self):
        """Angular shape distance :math:`\\theta` in radians."""
        return float(np.arccos(self.cosine()))

    def euclidean(self):
        """Root-mean-square distance per sample between the aligned shapes.

        Formed from the three inner products, so near 0 it is accurate to about
        :math:`\\sqrt{\\epsilon}` (1e-8 in float64) rather than to :math:`\\epsilon`.
        """
        u = max(self.unit_x, self.unit_y)
        rx, ry = self.unit_x / u, self.unit_y / u
        # rounding can make the difference of nearly equal terms slightly negative
        sq = max(rx * rx * self.sq_norm_x + ry * ry * self.sq_norm_y - 2.0 * rx * ry * self.inner, 0.0)
        d = u * math.sqrt(sq / self.n_samples)
        if not math.isfinite(d):
            raise ValueError(
                "The Euclidean shape distance of X and Y exceeds the float range (their values are "
                "near the largest float and scale=False keeps them); use scale=True."
            )
        return d

    def distance(self, score_method):
        """:meth:`angle` for ``'angular'``, :meth:`euclidean` for ``'euclidean'``."""
        return self.angle() if score_method == "angular" else self.euclidean()

    def score(self, score_method):
        """Higher-is-better score: :math:`\\cos\\theta`, or :math:`-d_E` for 'euclidean'."""
        return self.cosine() if score_method == "angular" else -self.euclidean()


@dataclass(frozen=True)
class ShapeTransform:
    """The map :math:`\\phi_\\alpha` learned on training rows of one representation.

    .. math::

        \\phi(X) = u_{\\mathrm{out}} \\, \\frac{X - \\bar x}{u} \\, M
        \\quad\\text{(or } u_{\\mathrm{out}}\\, c \\,(X - \\bar x)/u \\text{ when } M \\text{ is None)}.

    Attributes
    ----------
    mean : ndarray of shape (n_features,) or None
        Column means subtracted first (None when ``center=False``).
    matrix : ndarray of shape (n_features, n_components) or None
        Whitening (in principal-component coordinates) times ``factor``; None when the
        map is only a multiplication by ``factor`` (``alpha=1`` without PCA).
    factor : float
        The normalising scale :math:`c` (1 when ``scale=False``).
    unit : float
        The power of two :math:`u` the rows are divided by before centring; 1 except
        at magnitudes whose squares would overflow or underflow (see the module notes).
    output_unit : float
        :math:`u_{\\mathrm{out}}`: ``unit`` when ``scale=False`` (the shape keeps X's
        units), else 1.
    """

    mean: np.ndarray | None
    matrix: np.ndarray | None
    factor: float
    unit: float = 1.0
    output_unit: float = 1.0

    @property
    def n_components(self):
        """Width of the shape (None when it is that of the input)."""
        return None if self.matrix is None else self.matrix.shape[1]

    def centred(self, X, unit=None):
        """Rows divided by ``unit`` (default: :attr:`unit`) and centred with the training mean.

        :meth:`map_centred` of the result is :math:`\\phi(X)` in units of
        ``output_unit * unit / self.unit``.
        """
        # minus the exponent of the power of two
        e = 1 - math.frexp(self.unit if unit is None else unit)[1]
        Xs = ldexp(X, e)
        return Xs if self.mean is None else Xs - ldexp(self.mean, e)

    def apply(self, X):
        """:math:`\\phi(X)` for already validated rows ``X``."""
        Z = self.map_centred(self.centred(X))
        return Z if self.output_unit == 1.0 else Z * self.output_unit

    def map_centred(self, Xc):
        """:math:`\\phi` of rows returned by :meth:`centred`, in units of ``output_unit``."""
        if self.matrix is None:
            return Xc * self.factor
        return matmul(Xc, self.matrix)

    def project_cross(self, C, side):
        """Map a cross-product of centred data, :math:`A_x^\\top C` (side 0) or :math:`C A_y` (side 1)."""
        if self.matrix is None:
            return C * self.factor
        return matmul(self.matrix.T, C) if side == 0 else matmul(C, self.matrix)

    def sq_norm(self, Xc, gram=None):
        """:math:`\\|\\phi(X)\\|_F^2 / u_{\\mathrm{out}}^2` from centred rows without forming :math:`\\phi(X)`."""
        xp = get_namespace(Xc)
        if self.matrix is None:
            return _mapped_sq_norm(self, float(sq_sum(Xc, xp)), None, xp)
        return _mapped_sq_norm(self, None, Xc.T @ Xc if gram is None else gram, xp)


def _mapped_sq_norm(t, sq, gram, xp):
    """:math:`\\|\\phi(X)\\|_F^2 / u_{\\mathrm{out}}^2` from ``sq`` = :math:`\\|X^c\\|_F^2` (no matrix) or the Gram."""
    if t.matrix is None:
        return sq * t.factor**2
    acc = acc_dtype(xp, gram)
    A = xp.astype(t.matrix, acc)
    return float(xp.sum(A * (xp.astype(gram, acc) @ A)))


@dataclass(frozen=True)
class PreparedShape:
    """One representation prepared for :func:`combine_shape` (see :func:`prepare_shape`).

    ``Z`` holds :math:`\\phi_\\alpha(X)` for ``width='zero_pad'``; for ``width='pca'`` it holds the
    principal-component scores (columns by decreasing variance) and ``eigvals`` their
    variances, because the kept width and hence the whitening depend on the partner.

    Attributes
    ----------
    Z : ndarray of shape (n_samples, k)
        The shape, or the principal-component scores.
    eigvals : ndarray of shape (k,) or None
        Variances of the principal components (``width='pca'`` only).
    alpha, scale, width
        The settings it was prepared with.
    n_dof : int
        Rows less one when centred: the independent rows the whitening can use.
    name : str
        Argument name for error messages.
    unit : float
        The unit ``Z`` is expressed in (a power of two; 1 but for ``scale=False`` at
        extreme magnitudes).
    """

    Z: np.ndarray
    eigvals: np.ndarray | None
    alpha: float
    scale: bool
    width: str
    n_dof: int
    name: str
    unit: float = 1.0

    @property
    def n_samples(self):
        """Number of rows."""
        return self.Z.shape[0]


# --------------------------------------------------------------------------- the map phi
def _spectrum(Xc, n, xp):
    """Eigenvalues (decreasing) and eigenvectors of the covariance of centred rows, and the Gram."""
    return _gram_spectrum(Xc.T @ Xc, n, xp)


def _gram_spectrum(gram, n, xp):
    """:func:`_spectrum` from the Gram :math:`X^{c\\top} X^c` of ``n`` rows."""
    lam, V = xp.linalg.eigh(xp.astype(gram, acc_dtype(xp, gram)) / n)
    # eigh returns increasing eigenvalues
    lam, V = xp.flip(lam), xp.flip(V, axis=1)
    return xp.where(lam > 0, lam, xp.zeros_like(lam)), V, gram


def _component_weights(lam, k, alpha, *, n_dof, dtype, name, xp):
    """Diagonal of :math:`\\alpha I + (1-\\alpha)\\tilde\\Sigma^{-1/2}` on the top ``k`` components.

    The checks read the ``k`` eigenvalues on the host; the weights stay in their library.
    """
    lam = lam[:k]
    if alpha == 1.0:
        return xp.ones(k, dtype=lam.dtype, device=device_of(lam))
    precision = str(dtype).split(".")[-1]
    cure = "No alpha < 1 can whiten it: use alpha=1 (no whitening), or "
    if n_dof < k:
        raise ValueError(
            f"alpha={alpha} whitens {name} with the inverse square root of its {k}x{k} covariance, "
            f"which needs at least {k} independent training rows, but {name} has only {n_dof} "
            f"(after centring), so the covariance is singular. {cure}reduce the width of {name} "
            "first (e.g. PCA in a Pipeline), or use more rows."
        )
    host = to_numpy(lam, xp)
    # eigenvalues of a covariance formed in this precision are only known to about
    # k * eps * lambda_max; below that the inverse square root amplifies rounding noise
    tol = host[0] * k * float(xp.finfo(dtype).eps)
    if host[-1] <= tol:
        n_null = int(np.sum(host <= tol))
        raise ValueError(
            f"alpha={alpha} whitens {name}, but its covariance is singular: {n_null} of its {k} "
            f"eigenvalues are zero at {precision} precision (collinear or constant units). "
            f"{cure}remove the redundant directions first (e.g. PCA in a Pipeline), or pass "
            f"float64 data if {name} is float32."
        )
    return alpha + (1.0 - alpha) / xp.sqrt(lam / xp.mean(lam))


def _normaliser(variance, scale):
    return 1.0 / math.sqrt(variance) if scale else 1.0


def _fit_transform(X, alpha, center, scale, n_components, name, xp):
    """Learn :math:`\\phi_\\alpha` on validated rows; also return the centred rows and their Gram."""
    check_nonconstant(X, name, xp=xp)
    n, d = X.shape
    Xc, mean, unit = _centred(X, center, xp)
    if not _needs_gram(alpha, n_components, d):
        t = _transform_from_moments(n, mean, unit, float(sq_sum(Xc, xp)), None, alpha, center, scale,
                                    n_components, name, X.dtype, xp)
        return t, Xc, None
    gram = Xc.T @ Xc
    t = _transform_from_moments(n, mean, unit, None, gram, alpha, center, scale, n_components, name, X.dtype, xp)
    return t, Xc, gram


def _needs_gram(alpha, n_components, d):
    """Whether :math:`\\phi_\\alpha` needs the covariance (whitening or PCA), not only the total variance."""
    return not (alpha == 1.0 and (n_components is None or int(n_components) >= d))


def _transform_from_moments(n, mean, unit, sq, gram, alpha, center, scale, n_components, name, dtype, xp):
    """:math:`\\phi_\\alpha` from the moments of the (scaled, centred) training rows.

    ``sq`` is :math:`\\|X^c\\|_F^2` (used when no whitening or PCA is asked) and ``gram``
    :math:`X^{c\\top}X^c` (used otherwise); ``mean`` and ``unit`` are those of :func:`_centred`.
    The in-memory and the Dask routes both finish here.
    """
    d = gram.shape[0] if gram is not None else None
    out_unit = 1.0 if scale else unit
    if gram is None:
        return ShapeTransform(mean, None, _normaliser(sq / n, scale), unit, out_unit)
    k = d if n_components is None else min(int(n_components), d)
    lam, V, _ = _gram_spectrum(gram, n, xp)
    w = _component_weights(lam, k, alpha, n_dof=n - int(center), dtype=dtype, name=name, xp=xp)
    factor = _normaliser(float(xp.sum(lam[:k] * w**2)), scale)
    matrix = xp.astype(V[:, :k] * (w * factor), dtype)
    return ShapeTransform(mean, matrix, factor, unit, out_unit)


@validate_params({**_ONE_SIDE, "n_components": [Interval(Integral, 1, None, closed="left"), None],
                  "name": [str]}, prefer_skip_nested_validation=True)
def fit_shape_transform(X, *, alpha=1.0, center=True, scale=True, n_components=None, name="X"):
    """Learn the map :math:`\\phi_\\alpha` (centring, partial whitening, scale) on rows of ``X``.

    The map of Williams et al. (2021) with the conventions of :mod:`skalign.shape`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training rows.
    alpha : float in [0, 1], default=1.0
        1 = no whitening (Procrustes), 0 = full whitening (CCA).
    center : bool, default=True
        Subtract the training column means.
    scale : bool, default=True
        Scale so that the training rows have mean squared norm 1 after the map.
    n_components : int or None, default=None
        Keep only the top principal components (used for ``width='pca'``).
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    ShapeTransform

    Raises
    ------
    ValueError
        Zero-variance ``X``; or ``alpha < 1`` with fewer rows than components or a singular
        covariance, which no ``alpha < 1`` can whiten.
    """
    if is_dask_array(X):
        return _dask_fit((X,), float(alpha), center, scale, n_components=n_components, names=(name,))
    X, _ = check_representation_xp(X, name=name, min_samples=2)
    return _fit_transform(X, float(alpha), center, scale, n_components, name, get_namespace(X))[0]


# --------------------------------------------------------------------------- rotation and scores
def _polar(C, xp):
    """Orthogonal polar factor :math:`UV^\\top` of ``C`` and its singular values."""
    U, s, Vt = xp.linalg.svd(xp.astype(C, acc_dtype(xp, C)), full_matrices=False)
    return U @ Vt, s


def optimal_rotation(Zx, Zy):
    """The orthogonal :math:`Q` maximising :math:`\\langle Z_x Q, Z_y\\rangle_F` (Schönemann 1966).

    .. math::

        Q = UV^\\top, \\qquad Z_x^\\top Z_y = USV^\\top \\text{ (thin SVD)}.

    For unequal widths :math:`Q` is ``(d_x, d_y)`` with orthonormal columns or rows, the
    zero-padded solution. :math:`Q` does not depend on the scale of either side, so each
    is first divided by a power of two near its largest magnitude when its products
    could overflow or underflow.

    Parameters
    ----------
    Zx : array-like of shape (n_samples, d_x)
        The shape to rotate.
    Zy : array-like of shape (n_samples, d_y)
        The target shape, on the same rows.

    Returns
    -------
    Q : ndarray of shape (d_x, d_y)
    """
    if is_dask_array(Zx) or is_dask_array(Zy):
        raise TypeError(
            "Zx or Zy is a Dask array; optimal_rotation takes mapped shapes in memory. For Dask input "
            "use fit_shape_pair, which learns the rotation from d x d sums over row chunks."
        )
    Zx, Zy, _ = check_representation_xp(Zx, Zy, name="Zx", name_y="Zy")
    xp = get_namespace(Zx, Zy)
    Zx = ldexp(Zx, -pow2_exponent(Zx, xp, when="extreme"), xp)
    Zy = ldexp(Zy, -pow2_exponent(Zy, xp, when="extreme"), xp)
    return _polar(matmul(Zx.T, Zy, xp), xp)[0]


def _fit_pair(X, Y, alpha, center, scale, width, xp):
    """Learn both maps and the rotation on validated rows; also the in-sample alignment.

    Works on cross-products only (``Xc^T Yc`` and, when whitening, the two Grams), so
    no whitened copy of the data is ever formed.
    """
    k = min(X.shape[1], Y.shape[1]) if width == "pca" else None
    tx, Xc, gx = _fit_transform(X, alpha, center, scale, k, "X", xp)
    ty, Yc, gy = _fit_transform(Y, alpha, center, scale, k, "Y", xp)
    return _pair_from_moments(tx, ty, matmul(Xc.T, Yc, xp), tx.sq_norm(Xc, gx), ty.sq_norm(Yc, gy),
                              X.shape[0], xp)


def _pair_from_moments(tx, ty, cross, sq_norm_x, sq_norm_y, n, xp):
    """Rotation and in-sample alignment from :math:`X^{c\\top}Y^c` and the mapped squared norms."""
    C = ty.project_cross(tx.project_cross(cross, 0), 1)
    Q, s = _polar(C, xp)
    stats = ShapeAlignment(float(xp.sum(s)), sq_norm_x, sq_norm_y, n, tx.output_unit, ty.output_unit)
    return tx, ty, Q, stats


def _dask_fit(arrays, alpha, center, scale, *, width="zero_pad", n_components=None, names=("X", "Y")):
    """:func:`_fit_pair` (or, for one array, :func:`_fit_transform`'s map) from moments summed by Dask.

    One pass over the row blocks forms the means, the centred Grams (or only their
    traces when no whitening or PCA needs them) and the cross-product; the host then
    finishes with the in-memory code.
    """
    arrays = as_dask_arrays(arrays, names, min_samples=2)
    widths = [A.shape[1] for A in arrays]
    k = min(widths) if width == "pca" and len(arrays) == 2 else n_components
    grams = [_needs_gram(alpha, k, d) for d in widths]
    crosses = [(0, 1)] if len(arrays) == 2 else []
    st, exps = dask_scaled_moments(arrays, list(names), grams=grams, crosses=crosses)
    n = st["n"]
    xp = get_namespace(np.zeros(1))
    transforms, norms, dev = [], [], []
    for i, A in enumerate(arrays):
        m, M = st["mean"][i], st["m2"][i]
        if not center:
            # moments about 0, as the in-memory route forms them without centring
            M = M + n * (np.outer(m, m) if M.ndim == 2 else m * m)
        dev.append(m)
        dtype = A.dtype if A.dtype.kind == "f" and A.dtype.itemsize >= 4 else np.float64
        sq, gram = (None, M) if grams[i] else (float(M.sum()), None)
        t = _transform_from_moments(n, ldexp(m, exps[i]) if center else None, math.ldexp(1.0, exps[i]), sq, gram,
                                    alpha, center, scale, k, names[i], dtype, xp)
        transforms.append(t)
        norms.append(_mapped_sq_norm(t, sq, gram, xp))
    if len(arrays) == 1:
        return transforms[0]
    C = st["cross"][0, 1]
    if not center:
        C = C + n * np.outer(dev[0], dev[1])
    return _pair_from_moments(*transforms, C, *norms, n, xp)


@validate_params({**_ONE_SIDE, "width": SHAPE_PARAMETER_CONSTRAINTS["width"], "validate": ["boolean"]},
                 prefer_skip_nested_validation=True)
def fit_shape_pair(X, Y, *, alpha=1.0, center=True, scale=True, width="zero_pad", validate=True):
    """Learn both maps :math:`\\phi_\\alpha` and the optimal rotation on training rows.

    What :meth:`skalign.ProcrustesScorer.fit` learns (Williams et al. 2021; the rotation
    is Schönemann's 1966 solution): :func:`transfer_shape_alignment` applies the result
    to new rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        Training rows of the first representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in the second representation.
    alpha, center, scale, width
        As in :func:`procrustes_score`.
    validate : bool, default=True
        Check ``X`` and ``Y`` (turn off only for arrays that passed
        :func:`skalign._validation.check_representation_xp`; the zero-variance check
        runs either way).

    Returns
    -------
    transform_x, transform_y : ShapeTransform
    rotation : ndarray of shape (k_x, k_y)
        The orthogonal :math:`Q = UV^\\top` of the mapped cross-product.
    alignment : ShapeAlignment
        The in-sample statistics.
    """
    if is_dask_array(X) or is_dask_array(Y):
        return _dask_fit((X, Y), float(alpha), center, scale, width=width)
    if validate:
        X, Y, _ = check_representation_xp(X, Y, min_samples=2)
    return _fit_pair(X, Y, float(alpha), center, scale, width, get_namespace(X, Y))


@validate_params({"transform_x": [ShapeTransform], "transform_y": [ShapeTransform], "validate": ["boolean"]},
                 prefer_skip_nested_validation=True)
def transfer_shape_alignment(transform_x, transform_y, rotation, X, Y, *, validate=True):
    """Alignment of new rows under maps and a rotation learned on training rows.

    .. math::

        \\langle \\phi_x(X)\\,Q, \\phi_y(Y)\\rangle_F, \\quad \\|\\phi_x(X)\\|_F^2, \\quad \\|\\phi_y(Y)\\|_F^2,

    with :math:`\\phi_x, \\phi_y, Q` from :func:`fit_shape_pair`, formed from the
    cross-product of the centred rows (no mapped copy of the data).

    Parameters
    ----------
    transform_x, transform_y : ShapeTransform
        The maps learned on the training rows of X and of Y.
    rotation : ndarray of shape (k_x, k_y)
        The rotation learned with them.
    X : array-like of shape (n_samples, n_features_x)
        New rows of the first representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same new samples in the second representation.
    validate : bool, default=True
        Check ``X`` and ``Y`` (turn off only for validated arrays of the widths seen in fit).

    Returns
    -------
    ShapeAlignment

    Raises
    ------
    TypeError
        ``X`` from another array library than the learned maps.
    ValueError
        Rows whose mapped values exceed the float range.
    """
    if is_dask_array(X) or is_dask_array(Y):
        return _dask_transfer(transform_x, transform_y, rotation, X, Y)
    if validate:
        X, Y, _ = check_representation_xp(X, Y, min_samples=1)
    if isinstance(rotation, np.ndarray) != isinstance(X, np.ndarray):
        raise TypeError(
            f"The shape maps were learned on {type(rotation).__module__}.{type(rotation).__name__} "
            f"arrays but X is a {type(X).__module__}.{type(X).__name__}; score with arrays of the "
            "library (and device) used in fit."
        )
    xp = get_namespace(rotation, X, Y)
    # rows far larger than the training rows are divided by their own power of two
    vx = max(transform_x.unit, math.ldexp(1.0, pow2_exponent(X, xp, when="extreme")))
    vy = max(transform_y.unit, math.ldexp(1.0, pow2_exponent(Y, xp, when="extreme")))
    Xc, Yc = transform_x.centred(X, vx), transform_y.centred(Y, vy)
    return _transfer_from_moments(transform_x, transform_y, rotation, matmul(Xc.T, Yc, xp),
                                  transform_x.sq_norm(Xc), transform_y.sq_norm(Yc), X.shape[0], vx, vy, xp)


def _dask_transfer(tx, ty, rotation, X, Y):
    """:func:`transfer_shape_alignment` from the moments of new rows summed by Dask, about the training means."""
    if not isinstance(rotation, np.ndarray):
        raise TypeError(
            f"The shape maps were learned on {type(rotation).__module__}.{type(rotation).__name__} arrays; "
            "Dask rows are scored with maps learned on NumPy or Dask arrays."
        )
    X, Y = as_dask_arrays((X, Y), ("X", "Y"), min_samples=1)
    transforms = (tx, ty)
    for side, (t, A, name) in enumerate(((tx, X, "X"), (ty, Y, "Y"))):
        width = t.matrix.shape[0] if t.matrix is not None else rotation.shape[side]
        if A.shape[1] != width:
            raise ValueError(f"{name} has {A.shape[1]} features but the maps were learned on {width}.")
    # the exponent of each training unit; rows far larger are divided by their own power of two
    base = [math.frexp(t.unit)[1] - 1 for t in transforms]

    def exponent(es):
        return base if es is None else [max(b, e) for b, e in zip(base, es)]

    def centre(i, e):
        mean = transforms[i].mean
        return None if mean is None else np.ldexp(np.asarray(mean, dtype=np.float64), -e)

    grams = [t.matrix is not None for t in transforms]
    st, exps = dask_scaled_moments([X, Y], ["X", "Y"], grams=grams, crosses=[(0, 1)], nonconstant=False,
                                   exponent=exponent, centre=centre)
    n = st["n"]
    xp = get_namespace(rotation)
    norms = []
    for i, t in enumerate(transforms):
        m, M = st["mean"][i], st["m2"][i]
        # moments about the training mean, as the in-memory route forms them
        M = M + n * (np.outer(m, m) if M.ndim == 2 else m * m)
        norms.append(_mapped_sq_norm(t, None, M, xp) if grams[i] else _mapped_sq_norm(t, float(M.sum()), None, xp))
    C = st["cross"][0, 1] + n * np.outer(st["mean"][0], st["mean"][1])
    return _transfer_from_moments(tx, ty, rotation, C, *norms, n, math.ldexp(1.0, exps[0]),
                                  math.ldexp(1.0, exps[1]), xp)


def _transfer_from_moments(transform_x, transform_y, rotation, cross, sq_norm_x, sq_norm_y, n, vx, vy, xp):
    """Held-out :class:`ShapeAlignment` from :math:`X^{c\\top}Y^c` of new rows and the mapped squared norms."""
    C = transform_y.project_cross(transform_x.project_cross(cross, 0), 1)
    acc = acc_dtype(xp, C)
    inner = float(xp.sum(xp.astype(rotation, acc) * xp.astype(C, acc)))
    stats = ShapeAlignment(inner, sq_norm_x, sq_norm_y, n,
                           transform_x.output_unit * (vx / transform_x.unit),
                           transform_y.output_unit * (vy / transform_y.unit))
    for name, value in (("X", stats.sq_norm_x), ("Y", stats.sq_norm_y), ("X and Y", stats.inner)):
        if not math.isfinite(value):
            raise ValueError(
                f"The mapped rows of {name} overflow: the maps learned in fit scale them beyond "
                "the float range (training rows of a far smaller magnitude than these, or an "
                "ill-conditioned whitening); score rows on the scale of the training rows."
            )
    return stats


# --------------------------------------------------------------------------- prepare / combine
@validate_params({**_ONE_SIDE, "width": SHAPE_PARAMETER_CONSTRAINTS["width"], "name": [str]},
                 prefer_skip_nested_validation=True)
def prepare_shape(X, *, alpha=1.0, center=True, scale=True, width="zero_pad", name="X"):
    """Per-representation work of the shape metric, reusable against any partner.

    For ``width='zero_pad'`` this is :math:`\\phi_\\alpha(X)` itself (centred, partially
    whitened, normalised), so :func:`combine_shape` only forms :math:`Z_x^\\top Z_y` and its
    singular values. For ``width='pca'`` the kept width depends on the partner, so the
    principal-component scores and their variances are kept and the whitening of the top
    components is applied at combination time (a diagonal rescaling).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        One representation.
    alpha, center, scale, width
        As in :func:`procrustes_score`.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    PreparedShape
    """
    alpha = float(alpha)
    if is_dask_array(X):
        raise TypeError(
            f"{name} is a Dask array, but prepare_shape returns the mapped n x d rows themselves; for Dask "
            "input use procrustes_score, shape_distance or fit_shape_pair, which need only d x d sums."
        )
    X, _ = check_representation_xp(X, name=name, min_samples=2)
    xp = get_namespace(X)
    n_dof = X.shape[0] - int(center)
    if width == "zero_pad":
        t, Xc, _ = _fit_transform(X, alpha, center, scale, None, name, xp)
        return PreparedShape(t.map_centred(Xc), None, alpha, bool(scale), width, n_dof, name, t.output_unit)
    check_nonconstant(X, name, xp=xp)
    Xc, _, unit = _centred(X, center, xp)
    lam, V, _ = _spectrum(Xc, X.shape[0], xp)
    return PreparedShape(matmul(Xc, xp.astype(V, X.dtype), xp), lam, alpha, bool(scale), width, n_dof, name,
                         1.0 if scale else unit)


def _prepared_block(P, k, xp):
    """Columns of ``P.Z`` to use and their per-column weights (None = use as is)."""
    if P.width == "zero_pad":
        return P.Z, None
    w = _component_weights(P.eigvals, k, P.alpha, n_dof=P.n_dof, dtype=P.Z.dtype, name=P.name, xp=xp)
    factor = _normaliser(float(xp.sum(P.eigvals[:k] * w**2)), P.scale)
    return P.Z[:, :k], w * factor


@validate_params({"PX": [PreparedShape], "PY": [PreparedShape]}, prefer_skip_nested_validation=True)
def combine_shape(PX, PY):
    """In-sample :class:`ShapeAlignment` of two results of :func:`prepare_shape`.

    Costs one product :math:`Z_x^\\top Z_y` and one SVD of its ``(k_x, k_y)`` result,
    :math:`\\langle Z_x Q, Z_y\\rangle = \\|Z_x^\\top Z_y\\|_*`.

    Parameters
    ----------
    PX, PY : PreparedShape
        Prepared with the same ``alpha``, ``scale`` and ``width``, from arrays of one
        library, on the same rows.

    Returns
    -------
    ShapeAlignment
    """
    check_prepared_pair(PX, PY, PreparedShape, ("alpha", "scale", "width"), "combine_shape")
    if isinstance(PX.Z, np.ndarray) != isinstance(PY.Z, np.ndarray):
        raise TypeError(
            "PX and PY were prepared from arrays of different libraries (one NumPy); prepare both "
            "from arrays of the same library and device."
        )
    xp = get_namespace(PX.Z, PY.Z)
    k = min(PX.Z.shape[1], PY.Z.shape[1])
    Zx, wx = _prepared_block(PX, k, xp)
    Zy, wy = _prepared_block(PY, k, xp)
    C = xp.astype(matmul(Zx.T, Zy, xp), acc_dtype(xp, Zx))
    sx = sq_sum(Zx, xp, axis=0)
    sy = sq_sum(Zy, xp, axis=0)
    if wx is not None:
        # the whitening of the kept components is diagonal in PC coordinates
        C = wx[:, None] * C * wy[None, :]
        sx, sy = sx * wx**2, sy * wy**2
    inner = float(xp.sum(xp.linalg.svdvals(C)))
    return ShapeAlignment(inner, float(xp.sum(sx)), float(xp.sum(sy)), PX.n_samples, PX.unit, PY.unit)


# --------------------------------------------------------------------------- one-call functions
@validate_params(SHAPE_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def procrustes_score(X, Y, *, alpha=1.0, center=True, scale=True, score_method="angular", width="zero_pad"):
    """Generalized shape similarity of two representations on the same rows.

    .. math::

        \\cos\\theta = \\frac{\\|\\phi(X)^\\top \\phi(Y)\\|_*}{\\|\\phi(X)\\|_F\\,\\|\\phi(Y)\\|_F}

    (Williams et al. 2021; the notation is that of :mod:`skalign.shape`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation (row i = stimulus i).
    alpha : float in [0, 1], default=1.0
        Partial whitening: 1 = orthogonal Procrustes, 0 = CCA.
    center : bool, default=True
        Remove column means (translation invariance).
    scale : bool, default=True
        Normalise each representation to mean squared row norm 1 (matters for 'euclidean';
        the angular score is scale-invariant anyway).
    score_method : {'angular', 'euclidean'}, default='angular'
    width : {'zero_pad', 'pca'}, default='zero_pad'
        How unequal widths are matched (see the module notes).

    Returns
    -------
    score : float
        'angular': :math:`\\cos\\theta \\in [0, 1]`, 1 = equal up to rotation (and translation
        and scale). 'euclidean': :math:`-d_E \\le 0`, 0 = equal up to rotation.

    Notes
    -----
    ``X`` and ``Y`` may be ``dask.array`` arrays: the :math:`d \\times d` sums are then
    formed over row chunks on the active Dask scheduler (see :mod:`skalign.shape`,
    "Dask arrays").

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    >>> round(procrustes_score(X, 3 * X @ Q + 1), 12)
    1.0
    """
    if is_dask_array(X) or is_dask_array(Y):
        return _dask_fit((X, Y), float(alpha), center, scale, width=width)[3].score(score_method)
    X, Y, _ = check_representation_xp(X, Y, min_samples=2)
    stats = _fit_pair(X, Y, float(alpha), center, scale, width, get_namespace(X, Y))[3]
    return stats.score(score_method)


@validate_params(SHAPE_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def shape_distance(X, Y, *, alpha=1.0, center=True, scale=True, score_method="angular", width="zero_pad"):
    """Generalized shape distance: :math:`\\theta` in radians, or the Euclidean :math:`d_E`.

    .. math::

        \\theta = \\arccos\\cos\\theta, \\qquad
        d_E = \\min_Q \\|\\phi(X)Q - \\phi(Y)\\|_F / \\sqrt n

    (Williams et al. 2021).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation (row i = stimulus i).
    alpha, center, scale, score_method, width
        As in :func:`procrustes_score`.

    Returns
    -------
    distance : float
        :math:`\\theta \\in [0, \\pi/2]` on the rows given; with ``width='zero_pad'`` it is a
        metric (triangle inequality). Or :math:`d_E \\ge 0`.
    """
    if is_dask_array(X) or is_dask_array(Y):
        return _dask_fit((X, Y), float(alpha), center, scale, width=width)[3].distance(score_method)
    X, Y, _ = check_representation_xp(X, Y, min_samples=2)
    stats = _fit_pair(X, Y, float(alpha), center, scale, width, get_namespace(X, Y))[3]
    return stats.distance(score_method)
