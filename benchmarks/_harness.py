"""What every benchmark script shares: a machine report, a best-of timer, peak memory.

Timings on a shared machine are read against its load, so each script prints
:func:`machine_report` at the start and :func:`load` at the end (and around long
timings). :func:`best_of` keeps the fastest of a few runs, the one least disturbed
by other work on the machine; :func:`interleaved_best_of` runs several cases in
turn so that a change of load hits all of them alike. :func:`peak_rss_mib` is the
whole process's peak resident set, which also covers buffers that tracemalloc
cannot see (scikit-learn's C++ chunks, BLAS workspaces).

The scripts import it as ``from _harness import ...``: Python puts the directory
of the script it runs first on ``sys.path``.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time


def load():
    """The 1-, 5- and 15-minute load averages, as text."""
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # not available on this platform
        return "load average unknown"


def blas_threads():
    """BLAS / OpenMP libraries in use and their thread counts, as text (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    return ", ".join(f"{i['internal_api']}:{i['num_threads']}" for i in threadpool_info()) or "none loaded"


def versions(*modules):
    """``name version`` of Python, numpy, scikit-learn, skalign and the modules named."""
    out = [f"python {platform.python_version()}"]
    for name in ("numpy", "scipy", "sklearn", "skalign", *modules):
        try:
            module = __import__(name)
        except ImportError:
            continue
        out.append(f"{name} {getattr(module, '__version__', '?')}")
    return ", ".join(out)


def machine_report(*modules, file=None):
    """Print cores, load average, BLAS threads and versions; return the text.

    Call it after importing numpy (so that its BLAS is loaded and shows up).
    """
    import numpy  # noqa: F401  (loads the BLAS that blas_threads reports)

    text = (
        f"machine: {platform.node()} ({platform.machine()}), {os.cpu_count()} cores, {load()}\n"
        f"BLAS threads: {blas_threads()}\n"
        f"versions: {versions(*modules)}"
    )
    print(text, file=file or sys.stdout, flush=True)
    return text


def best_of(fn, repeat=3):
    """``(fastest wall time in seconds, result of the last call)`` of ``repeat`` calls of ``fn()``."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def interleaved_best_of(cases, repeat=3):
    """Best time of each ``{label: fn}`` case, running the cases in turn ``repeat`` times.

    Returns ``(best, results)``, two dicts keyed by label (results of the last round).
    """
    best = dict.fromkeys(cases, float("inf"))
    results = {}
    for _ in range(max(1, repeat)):
        for label, fn in cases.items():
            t, results[label] = best_of(fn, 1)
            best[label] = min(best[label], t)
    return best, results


def timed(label, fn, file=None):
    """Run ``fn()`` once, print its time with the load before and after; return ``(seconds, result)``."""
    before = load()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"{label:<58s} {dt:9.2f} s   ({before} -> {load()})", file=file or sys.stdout, flush=True)
    return dt, out


class Timer:
    """Context manager measuring wall and CPU seconds of this process (``.wall``, ``.cpu``).

    CPU time is steadier than wall time on a shared machine, but misses the work
    of other threads' idle waits; report both.
    """

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0
        return False


def peak_rss_mib():
    """Peak resident set of this whole process so far, in MiB (it never decreases).

    Run each measurement in its own process when the peak must belong to it.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and in bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
