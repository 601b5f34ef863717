"""backend='cripser' of the cubical functions gives gudhi's bars and Betti curves.

Skipped without Cubical Ripser (``pip install cripser``). The oracle is the gudhi
path itself, which tests/test_topology.py checks against hand-counted complexes.
"""

import numpy as np
import pytest

from skalign.cubical import betti_curves, cubical_diagrams

pytest.importorskip("cripser")


def _sorted(bars):
    bars = np.asarray(bars, dtype=np.float64).reshape(-1, 2)
    return bars[np.lexsort(bars.T[::-1])]


CASES = [
    ("2-D", (6, 9), (0, 1)),
    ("3-D", (4, 5, 6), (0, 1, 2)),
    ("1-D", (17,), (0, 1)),
    ("2-D, H1 alone", (6, 9), (1,)),  # dimensions skipped: bars of H0 dropped
    ("3-D, H0 and H2", (4, 5, 6), (0, 2)),
]


@pytest.mark.parametrize("construction", ["T", "V"])
@pytest.mark.parametrize(("label", "shape", "dims"), CASES)
@pytest.mark.parametrize("integer", [False, True])  # ties: many equal values
def test_cripser_bars_are_gudhis(construction, label, shape, dims, integer):
    rng = np.random.default_rng(len(shape) + 3 * integer)
    X = rng.normal(size=(7, int(np.prod(shape))))
    if integer:
        X = np.round(2 * X)
    kw = dict(homology_dimensions=dims, construction=construction, grid_shape=shape)
    g = cubical_diagrams(X, **kw)
    c = cubical_diagrams(X, backend="cripser", **kw)
    assert len(g) == len(c) == 7
    for gi, ci in zip(g, c):
        for gb, cb in zip(gi, ci):
            np.testing.assert_array_equal(_sorted(gb), _sorted(cb))
    eta = np.unique(np.quantile(X, np.linspace(0, 1, 9)))
    np.testing.assert_array_equal(
        betti_curves(X, eta, backend="cripser", **kw), betti_curves(X, eta, **kw)
    )


def test_known_betti_numbers_with_cripser():
    # a ring of ones around a zero centre: one component and one hole at eta = 1 in
    # either construction (4-connected ring); nothing at eta above the maximum
    img = np.zeros((5, 5))
    img[1:4, 1:4] = 1.0
    img[2, 2] = 0.0
    for construction in ("T", "V"):
        curves = betti_curves(img.reshape(1, -1), [1.0, 2.0], grid_shape=(5, 5), construction=construction,
                              backend="cripser")
        np.testing.assert_array_equal(curves[0], [[1, 0], [1, 0]])


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        betti_curves(np.zeros((1, 4)), [0.0], grid_shape=(2, 2), backend="ripser")


def test_topological_complexity_is_the_same_with_cripser():
    from skalign.cubical import complexity_decay_interval, topological_complexity

    rng = np.random.default_rng(11)
    layers = {"a": rng.normal(size=(5, 3, 6, 6)), "b": rng.normal(size=(5, 2, 4, 4)) ** 2}
    for kw in ({}, {"convention": "suresh2023", "eta": 0.3}, {"construction": "V", "per_cell": True}):
        g = topological_complexity(layers, **kw)
        c = topological_complexity(layers, backend="cripser", **kw)
        assert g.equals(c)
    g = complexity_decay_interval(layers, n_resamples=20, random_state=0)
    c = complexity_decay_interval(layers, n_resamples=20, random_state=0, backend="cripser")
    assert g.theta == c.theta and g.low == c.low and g.high == c.high
