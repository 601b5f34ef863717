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

References
----------
.. [1] Williams, A. H., Kunz, E., Kornblith, S. & Linderman, S. W. (2021). Generalized shape
   metrics on neural representations. NeurIPS 34.
.. [2] Schönemann, P. H. (1966). A generalized solution of the orthogonal Procrustes
   problem. Psychometrika 31, 1-10.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._validation import check_nonconstant, check_representation_xp
from .kernels import _acc_dtype as _acc
from .kernels import _namespace_of as _xp

__all__ = [
    "ShapeTransform",
    "ShapeAlignment",
    "PreparedShape",
    "fit_shape_transform",
    "optimal_rotation",
    "prepare_shape",
    "combine_shape",
    "procrustes_score",
    "shape_distance",
]

_WIDTHS = ("zero_pad", "pca")
_SCORE_METHODS = ("angular", "euclidean")


# --------------------------------------------------------------------------- Array API helpers
def _sq_sum(A, xp, axis=None):
    """Sum of squares (per column with axis=0) accumulated in the widest float."""
    if xp is None:
        spec = "ij,ij->j" if axis == 0 else "ij,ij->"
        return np.einsum(spec, A, A, dtype=np.float64)
    return xp.sum(A * A, axis=axis, dtype=_acc(xp, A))


def _mm(A, B):
    """A @ B; Array API operands of different float dtypes are promoted first (PyTorch's
    ``@`` refuses mixed dtypes, NumPy promotes)."""
    if not isinstance(A, np.ndarray) and A.dtype != B.dtype:
        xp = _xp(A, B)
        t = xp.result_type(A, B)
        A, B = xp.astype(A, t), xp.astype(B, t)
    return A @ B


def _check_nonconstant_any(X, name, xp):
    if xp is None:
        check_nonconstant(X, name)
        return
    # some column with max > min <=> variance > 0, without a float64 copy on the device;
    # the shared check words the (rare) error on a host copy
    if not bool(xp.any(xp.max(X, axis=0) > xp.min(X, axis=0))):
        from sklearn.utils._array_api import _convert_to_numpy

        check_nonconstant(_convert_to_numpy(X, xp), name)


# --------------------------------------------------------------------------- results
class ShapeAlignment(NamedTuple):
    """Sufficient statistics of one comparison ``<Zx Q, Zy>``, ``||Zx||^2``, ``||Zy||^2``."""

    inner: float
    sq_norm_x: float
    sq_norm_y: float
    n_samples: int

    def cosine(self):
        """:math:`\\cos\\theta`, in [-1, 1] (in [0, 1] on the rows the rotation was fitted on)."""
        denom = np.sqrt(self.sq_norm_x * self.sq_norm_y)
        if not denom > 0:
            which = "X" if not self.sq_norm_x > 0 else "Y"
            raise ValueError(
                f"{which} is all zero after the learned centring and whitening (every row equals "
                "the training mean), so its angle to the other representation is undefined."
            )
        return float(np.clip(self.inner / denom, -1.0, 1.0))

    def angle(self):
        """Angular shape distance :math:`\\theta` in radians."""
        return float(np.arccos(self.cosine()))

    def euclidean(self):
        """Root-mean-square distance per sample between the aligned shapes.

        Formed from the three inner products, so near 0 it is accurate to about
        :math:`\\sqrt{\\epsilon}` (1e-8 in float64) rather than to :math:`\\epsilon`.
        """
        # rounding can make the difference of nearly equal terms slightly negative
        sq = max(self.sq_norm_x + self.sq_norm_y - 2.0 * self.inner, 0.0)
        return float(np.sqrt(sq / self.n_samples))

    def distance(self, score_method):
        return self.angle() if score_method == "angular" else self.euclidean()

    def score(self, score_method):
        """Higher-is-better score: :math:`\\cos\\theta`, or :math:`-d_E` for 'euclidean'."""
        return self.cosine() if score_method == "angular" else -self.euclidean()


@dataclass(frozen=True)
class ShapeTransform:
    """The map :math:`\\phi_\\alpha` learned on training rows of one representation.

    Attributes
    ----------
    mean : ndarray of shape (n_features,) or None
        Column means subtracted first (None when ``center=False``).
    matrix : ndarray of shape (n_features, n_components) or None
        Whitening (in principal-component coordinates) times ``factor``; None when the
        map is only a multiplication by ``factor`` (``alpha=1`` without PCA).
    factor : float
        The normalising scale :math:`c` (1 when ``scale=False``).
    """

    mean: np.ndarray | None
    matrix: np.ndarray | None
    factor: float

    @property
    def n_components(self):
        return None if self.matrix is None else self.matrix.shape[1]

    def centred(self, X):
        return X - self.mean if self.mean is not None else X

    def apply(self, X):
        """:math:`\\phi(X)` for already validated rows ``X``."""
        return self.map_centred(self.centred(X))

    def map_centred(self, Xc):
        if self.matrix is None:
            return Xc * self.factor
        return _mm(Xc, self.matrix)

    def project_cross(self, C, side):
        """Map a cross-product of centred data, :math:`A_x^\\top C` (side 0) or :math:`C A_y` (side 1)."""
        if self.matrix is None:
            return C * self.factor
        return _mm(self.matrix.T, C) if side == 0 else _mm(C, self.matrix)

    def sq_norm(self, Xc, gram=None):
        """:math:`\\|\\phi(X)\\|_F^2` from centred rows without forming :math:`\\phi(X)`."""
        xp = _xp(Xc)
        if self.matrix is None:
            return float(_sq_sum(Xc, xp)) * self.factor**2
        if gram is None:
            gram = Xc.T @ Xc
        if xp is not None:
            acc = _acc(xp, Xc)
            A = xp.astype(self.matrix, acc)
            return float(xp.sum(A * (xp.astype(gram, acc) @ A)))
        A = self.matrix.astype(np.float64)
        return float(np.einsum("ij,ij->", A, gram.astype(np.float64) @ A))


@dataclass(frozen=True)
class PreparedShape:
    """One representation prepared for :func:`combine_shape` (see :func:`prepare_shape`).

    ``Z`` holds :math:`\\phi_\\alpha(X)` for ``width='zero_pad'``; for ``width='pca'`` it holds the
    principal-component scores (columns by decreasing variance) and ``eigvals`` their
    variances, because the kept width and hence the whitening depend on the partner.
    """

    Z: np.ndarray
    eigvals: np.ndarray | None
    alpha: float
    scale: bool
    width: str
    n_dof: int
    name: str

    @property
    def n_samples(self):
        return self.Z.shape[0]


# --------------------------------------------------------------------------- the map phi
def _check_options(alpha, score_method=None, width="zero_pad"):
    if isinstance(alpha, (bool, np.bool_)) or not np.isscalar(alpha) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1]; got {alpha!r}.")
    if score_method is not None and score_method not in _SCORE_METHODS:
        raise ValueError(f"score_method must be one of {_SCORE_METHODS}; got {score_method!r}.")
    if width not in _WIDTHS:
        raise ValueError(f"width must be one of {_WIDTHS}; got {width!r}.")
    return float(alpha)


def _spectrum(Xc, n):
    """Eigenvalues (decreasing) and eigenvectors of the covariance of centred rows, and the Gram."""
    gram = Xc.T @ Xc
    xp = _xp(Xc)
    if xp is not None:
        lam, V = xp.linalg.eigh(xp.astype(gram, _acc(xp, Xc)) / n)
        # eigh returns increasing eigenvalues
        lam, V = xp.flip(lam), xp.flip(V, axis=1)
        return xp.where(lam > 0, lam, xp.zeros_like(lam)), V, gram
    lam, V = np.linalg.eigh(gram.astype(np.float64) / n)
    order = np.argsort(lam)[::-1]
    return np.maximum(lam[order], 0.0), V[:, order], gram


def _component_weights(lam, k, alpha, *, n_dof, dtype, name):
    """Diagonal of :math:`\\alpha I + (1-\\alpha)\\tilde\\Sigma^{-1/2}` on the top ``k`` components."""
    lam = lam[:k]
    xp = _xp(lam)
    if xp is not None:
        return _component_weights_xp(lam, k, alpha, n_dof=n_dof, dtype=dtype, name=name, xp=xp)
    if alpha == 1.0:
        return np.ones(k)
    if n_dof < k:
        raise ValueError(
            f"alpha={alpha} whitens {name} with the inverse square root of its {k}x{k} covariance, "
            f"which needs at least {k} independent training rows, but {name} has only {n_dof} "
            f"(after centring). Regularise the whitening with alpha closer to 1 (alpha=1 is no "
            f"whitening), reduce the width of {name} first (e.g. PCA in a Pipeline), or use more rows."
        )
    # eigenvalues of a covariance formed in this precision are only known to about
    # k * eps * lambda_max; below that the inverse square root amplifies rounding noise
    tol = lam[0] * k * np.finfo(dtype).eps
    if lam[-1] <= tol:
        n_null = int(np.sum(lam <= tol))
        raise ValueError(
            f"alpha={alpha} whitens {name}, but its covariance is singular: {n_null} of its {k} "
            f"eigenvalues are zero at {np.dtype(dtype).name} precision (collinear or constant "
            f"units). Regularise the whitening with alpha closer to 1 (alpha=1 is no whitening), "
            f"remove the redundant directions first (e.g. PCA in a Pipeline), or pass float64 data "
            f"if {name} is float32."
        )
    return alpha + (1.0 - alpha) / np.sqrt(lam / lam.mean())


def _component_weights_xp(lam, k, alpha, *, n_dof, dtype, name, xp):
    """:func:`_component_weights` on a device: the checks read the k eigenvalues on the host."""
    from sklearn.externals.array_api_compat import device

    if alpha == 1.0:
        return xp.ones(k, dtype=lam.dtype, device=device(lam))
    from sklearn.utils._array_api import _convert_to_numpy

    # same checks and messages as the NumPy code; the eigenvalues are only k numbers
    host = _convert_to_numpy(lam, xp)
    eps = float(xp.finfo(dtype).eps)
    _component_weights(host, k, alpha, n_dof=n_dof, dtype=np.float32 if eps > 1e-10 else np.float64, name=name)
    return alpha + (1.0 - alpha) / xp.sqrt(lam / xp.mean(lam))


def _normaliser(variance, scale):
    return 1.0 / np.sqrt(variance) if scale else 1.0


def _fit_transform(X, alpha, center, scale, n_components, name):
    """Learn :math:`\\phi_\\alpha` on validated rows; also return the centred rows and their Gram."""
    xp = _xp(X)
    _check_nonconstant_any(X, name, xp)
    n, d = X.shape
    if xp is None:
        mean = X.mean(axis=0) if center else None
    else:
        mean = xp.mean(X, axis=0) if center else None
    Xc = X - mean if center else X
    k = d if n_components is None else min(int(n_components), d)
    if alpha == 1.0 and k == d:
        variance = float(_sq_sum(Xc, xp)) / n
        return ShapeTransform(mean, None, float(_normaliser(variance, scale))), Xc, None
    lam, V, gram = _spectrum(Xc, n)
    w = _component_weights(lam, k, alpha, n_dof=n - int(center), dtype=X.dtype, name=name)
    if xp is not None:
        factor = float(_normaliser(float(xp.sum(lam[:k] * w**2)), scale))
        matrix = xp.astype(V[:, :k] * (w * factor), X.dtype)
        return ShapeTransform(mean, matrix, factor), Xc, gram
    factor = float(_normaliser(np.sum(lam[:k] * w**2), scale))
    matrix = (V[:, :k] * (w * factor)).astype(X.dtype, copy=False)
    return ShapeTransform(mean, matrix, factor), Xc, gram


def fit_shape_transform(X, *, alpha=1.0, center=True, scale=True, n_components=None, name="X"):
    """Learn the map :math:`\\phi_\\alpha` (centring, partial whitening, scale) on rows of ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    alpha : float in [0, 1]
        1 = no whitening (Procrustes), 0 = full whitening (CCA).
    center : bool
        Subtract the training column means.
    scale : bool
        Scale so that the training rows have mean squared norm 1 after the map.
    n_components : int or None
        Keep only the top principal components (used for ``width='pca'``).
    name : str
        Name used in error messages.

    Returns
    -------
    ShapeTransform

    Raises
    ------
    ValueError
        Zero-variance ``X``; or ``alpha < 1`` with fewer rows than components or a singular
        covariance (the message suggests alpha closer to 1).
    """
    alpha = _check_options(alpha)
    X, _ = check_representation_xp(X, name=name, min_samples=2)
    return _fit_transform(X, alpha, center, scale, n_components, name)[0]


# --------------------------------------------------------------------------- rotation and scores
def _polar(C):
    """Orthogonal polar factor :math:`UV^\\top` of ``C`` and its singular values."""
    xp = _xp(C)
    if xp is not None:
        U, s, Vt = xp.linalg.svd(xp.astype(C, _acc(xp, C)), full_matrices=False)
        return U @ Vt, s
    U, s, Vt = np.linalg.svd(np.asarray(C, dtype=np.float64), full_matrices=False)
    return U @ Vt, s


def optimal_rotation(Zx, Zy):
    """The orthogonal :math:`Q` maximising :math:`\\langle Z_x Q, Z_y\\rangle_F`.

    :math:`Q = UV^\\top` with :math:`Z_x^\\top Z_y = USV^\\top` (thin SVD). For unequal widths
    :math:`Q` is ``(d_x, d_y)`` with orthonormal columns or rows, the zero-padded solution.
    """
    return _polar(Zx.T @ Zy)[0]


def _fit_pair(X, Y, alpha, center, scale, width):
    """Learn both maps and the rotation on validated rows; also the in-sample alignment.

    Works on cross-products only (``Xc^T Yc`` and, when whitening, the two Grams), so
    no whitened copy of the data is ever formed.
    """
    k = min(X.shape[1], Y.shape[1]) if width == "pca" else None
    tx, Xc, gx = _fit_transform(X, alpha, center, scale, k, "X")
    ty, Yc, gy = _fit_transform(Y, alpha, center, scale, k, "Y")
    C = ty.project_cross(tx.project_cross(_mm(Xc.T, Yc), 0), 1)
    Q, s = _polar(C)
    total = float(s.sum()) if isinstance(s, np.ndarray) else float(_xp(s).sum(s))
    stats = ShapeAlignment(total, tx.sq_norm(Xc, gx), ty.sq_norm(Yc, gy), X.shape[0])
    return tx, ty, Q, stats


def _transfer_alignment(tx, ty, rotation, X, Y):
    """Alignment of new validated rows under maps and a rotation learned on training rows."""
    if isinstance(rotation, np.ndarray) != isinstance(X, np.ndarray):
        raise TypeError(
            f"The shape maps were learned on {type(rotation).__module__}.{type(rotation).__name__} "
            f"arrays but X is a {type(X).__module__}.{type(X).__name__}; score with arrays of the "
            "library (and device) used in fit."
        )
    Xc, Yc = tx.centred(X), ty.centred(Y)
    C = ty.project_cross(tx.project_cross(_mm(Xc.T, Yc), 0), 1)
    xp = _xp(rotation, C)
    if xp is None:
        inner = float(np.einsum("ij,ij->", rotation, C, dtype=np.float64))
    else:
        acc = _acc(xp, C)
        inner = float(xp.sum(xp.astype(rotation, acc) * xp.astype(C, acc)))
    return ShapeAlignment(inner, tx.sq_norm(Xc), ty.sq_norm(Yc), X.shape[0])


# --------------------------------------------------------------------------- prepare / combine
def prepare_shape(X, *, alpha=1.0, center=True, scale=True, width="zero_pad", name="X"):
    """Per-representation work of the shape metric, reusable against any partner.

    For ``width='zero_pad'`` this is :math:`\\phi_\\alpha(X)` itself (centred, partially
    whitened, normalised), so :func:`combine_shape` only forms :math:`Z_x^\\top Z_y` and its
    singular values. For ``width='pca'`` the kept width depends on the partner, so the
    principal-component scores and their variances are kept and the whitening of the top
    components is applied at combination time (a diagonal rescaling).

    Returns
    -------
    PreparedShape
    """
    alpha = _check_options(alpha, width=width)
    X, xp = check_representation_xp(X, name=name, min_samples=2)
    n = X.shape[0]
    if width == "zero_pad":
        t, Xc, _ = _fit_transform(X, alpha, center, scale, None, name)
        return PreparedShape(t.map_centred(Xc), None, alpha, bool(scale), width, n - int(center), name)
    _check_nonconstant_any(X, name, xp)
    if xp is not None:
        Xc = X - xp.mean(X, axis=0) if center else X
        lam, V, _ = _spectrum(Xc, n)
        return PreparedShape(Xc @ xp.astype(V, X.dtype), lam, alpha, bool(scale), width, n - int(center), name)
    Xc = X - X.mean(axis=0) if center else X
    lam, V, _ = _spectrum(Xc, n)
    return PreparedShape(Xc @ V.astype(X.dtype), lam, alpha, bool(scale), width, n - int(center), name)


def _prepared_block(P, k):
    """Columns of ``P.Z`` to use and their per-column weights (None = use as is)."""
    if P.width == "zero_pad":
        return P.Z, None
    w = _component_weights(P.eigvals, k, P.alpha, n_dof=P.n_dof, dtype=P.Z.dtype, name=P.name)
    xp = _xp(w)
    if xp is None:
        factor = _normaliser(np.sum(P.eigvals[:k] * w**2), P.scale)
    else:
        factor = float(_normaliser(float(xp.sum(P.eigvals[:k] * w**2)), P.scale))
    return P.Z[:, :k], w * factor


def combine_shape(PX, PY):
    """In-sample :class:`ShapeAlignment` of two results of :func:`prepare_shape`.

    Costs one product :math:`Z_x^\\top Z_y` and one SVD of its ``(k_x, k_y)`` result.
    """
    for P in (PX, PY):
        if not isinstance(P, PreparedShape):
            raise TypeError(f"combine_shape needs results of prepare_shape; got {type(P).__name__}.")
    if (PX.alpha, PX.scale, PX.width) != (PY.alpha, PY.scale, PY.width):
        raise ValueError(
            "PX and PY were prepared with different settings: "
            f"(alpha, scale, width) = {(PX.alpha, PX.scale, PX.width)} and {(PY.alpha, PY.scale, PY.width)}."
        )
    if PX.n_samples != PY.n_samples:
        raise ValueError(
            f"PX and PY must describe the same samples; got {PX.n_samples} and {PY.n_samples} rows."
        )
    k = min(PX.Z.shape[1], PY.Z.shape[1])
    if isinstance(PX.Z, np.ndarray) != isinstance(PY.Z, np.ndarray):
        raise TypeError(
            "PX and PY were prepared from arrays of different libraries (one NumPy); prepare both "
            "from arrays of the same library and device."
        )
    xp = _xp(PX.Z, PY.Z)
    Zx, wx = _prepared_block(PX, k)
    Zy, wy = _prepared_block(PY, k)
    if xp is None:
        C = (Zx.T @ Zy).astype(np.float64)
    else:
        acc = _acc(xp, Zx)
        C = xp.astype(_mm(Zx.T, Zy), acc)
    sx = _sq_sum(Zx, xp, axis=0)
    sy = _sq_sum(Zy, xp, axis=0)
    if wx is not None:
        # the whitening of the kept components is diagonal in PC coordinates
        C = wx[:, None] * C * wy[None, :]
        sx, sy = sx * wx**2, sy * wy**2
    if xp is None:
        inner = float(np.linalg.svd(C, compute_uv=False).sum())
        return ShapeAlignment(inner, float(sx.sum()), float(sy.sum()), PX.n_samples)
    inner = float(xp.sum(xp.linalg.svdvals(C)))
    return ShapeAlignment(inner, float(xp.sum(sx)), float(xp.sum(sy)), PX.n_samples)


# --------------------------------------------------------------------------- one-call functions
def _in_sample(X, Y, alpha, center, scale, score_method, width):
    alpha = _check_options(alpha, score_method, width)
    X, Y, _ = check_representation_xp(X, Y, min_samples=2)
    return _fit_pair(X, Y, alpha, center, scale, width)[3]


def procrustes_score(X, Y, *, alpha=1.0, center=True, scale=True, score_method="angular", width="zero_pad"):
    """Generalized shape similarity of two representations on the same rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
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

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    >>> round(procrustes_score(X, 3 * X @ Q + 1), 12)
    1.0
    """
    return _in_sample(X, Y, alpha, center, scale, score_method, width).score(score_method)


def shape_distance(X, Y, *, alpha=1.0, center=True, scale=True, score_method="angular", width="zero_pad"):
    """Generalized shape distance: :math:`\\theta` in radians, or the Euclidean :math:`d_E`.

    Parameters are those of :func:`procrustes_score`. :math:`\\theta \\in [0, \\pi/2]` on the
    rows given; with ``width='zero_pad'`` it is a metric (triangle inequality).
    """
    return _in_sample(X, Y, alpha, center, scale, score_method, width).distance(score_method)
