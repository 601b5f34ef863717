"""Introspection helpers."""

import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]


def all_estimators():
    """Every public estimator class of skalign, as ``(name, class)`` pairs sorted by name.

    Found by introspection of :mod:`skalign.estimators`, so the common tests cover
    new estimators without being told about them.
    """
    from . import estimators

    found = {}
    for name in estimators.__all__:
        obj = getattr(estimators, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator) and not inspect.isabstract(obj):
            if not name.startswith(("_", "Base")):
                found[name] = obj
    return sorted(found.items())
