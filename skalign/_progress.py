"""Progress reports for long loops: a tqdm bar when tqdm is installed, printed lines otherwise.

:func:`progress` wraps an iterable and yields its items unchanged; whoever
runs a long loop (the layer x layer schedule of :mod:`skalign.matrix`, and any
family that wants a bar) passes its ``verbose`` argument through, so nothing is
reported unless the user asked for it.
"""

from __future__ import annotations

import time

__all__ = ["progress"]


def progress(iterable, total=None, *, verbose=0, desc="skalign", initial=0, unit="it"):
    """Yield the items of ``iterable`` while reporting how many have passed.

    Parameters
    ----------
    iterable : iterable
        The work items (results of a parallel run, loop indices...).
    total : int, default=None
        How many items the whole task has, ``initial`` included; ``None`` reports
        counts without a total.
    verbose : int or bool, default=0
        Nothing is reported when false: ``iterable`` itself is returned. Otherwise
        a tqdm bar is drawn (on stderr) when tqdm can be imported, and about ten
        lines are printed (on stdout) when it cannot.
    desc : str, default="skalign"
        Label of the bar or prefix of the printed lines, e.g. the public function's
        name.
    initial : int, default=0
        Items already done before this call (a resumed run), counted in the report.
    unit : str, default="it"
        What one item is, singular (``"pair"``); printed lines use the plural.

    Returns
    -------
    items : iterable
        The items of ``iterable``, in its order.
    """
    if not verbose:
        return iterable
    try:
        # imported per call: tqdm is optional and may be installed (or removed) late
        from tqdm.auto import tqdm
    except ImportError:
        return _printed(iterable, total, desc, initial, unit)
    return _bar(tqdm, iterable, total, desc, initial, unit)


def _bar(tqdm, iterable, total, desc, initial, unit):
    bar = tqdm(total=total, initial=initial, desc=desc, unit=unit)
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        # also when the loop stops early (an error, a closed generator): a bar
        # left open would garble the next line of the terminal
        bar.close()


def _printed(iterable, total, desc, initial, unit):
    n = initial
    of = "" if total is None else f"/{total}"
    step = max(1, (total or 100) // 10)
    start = time.perf_counter()
    print(f"[{desc}] {n}{of} {unit}s done", flush=True)
    for item in iterable:
        yield item
        before, n = n, n + 1
        if n // step != before // step or n == total:
            elapsed = time.perf_counter() - start
            print(f"[{desc}] {n}{of} {unit}s done ({elapsed:.1f} s)", flush=True)
