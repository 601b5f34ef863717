"""Checkpoint files of :func:`skalign.alignment_matrix`: finished pairs on disk.

A checkpoint holds one row per finished cell, keyed by
``(a, b, scorer, params, fold)``: the two layer names, the scorer's name in the
output table, a digest of the scorer's class and parameters
(:func:`scorer_params_key`, followed by the inference settings when the cell
carries a p-value or an interval) and the fold (-1 without ``cv``, -2 for the
cross-validated mean that carries the inference columns), all stored as text so
that a later run can match them. Each row holds the ``score`` and the inference
columns ``pvalue``, ``pvalue_se``, ``ci_low``, ``ci_high`` (empty, i.e. NaN, when
not computed). Files written before the inference columns existed (six columns)
are read as rows without inference and upgraded in place at the next write.

Safety against the ways a run ends
----------------------------------
* *Killed at any moment.* CSV rows are appended; each row ends with a CRC-32 of
  its fields and a newline, so a row cut off by a kill (no newline, or a
  checksum that does not match) is recognised, dropped on resume with a warning,
  and recomputed. Parquet cannot be appended to (its footer describes the whole
  file), so a Parquet checkpoint is rewritten through a temporary file and an
  atomic rename: a kill leaves the previous or the new complete file.
* *Several runs on one file.* Every write happens under an exclusive
  ``fcntl.flock`` on a sidecar file ``<checkpoint>.lock`` and starts from what is
  on disk, so two runs (e.g. with different scorers) add their rows to each other's
  instead of overwriting them. The lock is released by the operating system when
  its holder dies, so a killed run never leaves it held. The sidecar is not
  deleted afterwards: removing a lock file while another process waits on it
  would let two writers in at once. Where ``fcntl`` does not exist (Windows) the
  writes are not locked.
* *Changed parameters.* The key holds the scorer's parameters, so
  ``k=5`` and ``k=100`` are two different rows and never reuse each other's score.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import glob
import hashlib
import io
import os
import re
import time
import warnings
import zlib

import numpy as np
import pandas as pd

__all__ = ["Checkpoint", "CheckpointWarning", "scorer_params_key"]

#: Pending rows are written at most this often (seconds) while a run goes on,
#: and always when it stops, normally or not.
FLUSH_INTERVAL = 1.0

#: The columns of a checkpoint; a CSV file adds ``crc`` after them.
COLUMNS = ["a", "b", "scorer", "params", "fold", "score", "pvalue", "pvalue_se", "ci_low", "ci_high"]

#: The values a row stores after its key.
VALUE_COLUMNS = COLUMNS[5:]

#: The columns written before the inference columns existed (still read).
_SCORE_COLUMNS = COLUMNS[:6]

#: The columns written before scorer parameters were part of the key.
_UNKEYED_COLUMNS = ["a", "b", "scorer", "fold", "score"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class CheckpointWarning(UserWarning):
    """Rows of a checkpoint file were damaged and are recomputed."""


# -- keys ---------------------------------------------------------------------------
def scorer_params_key(scorer):
    """A digest of a scorer's class and parameters, equal across processes and runs.

    Parameters
    ----------
    scorer : estimator
        An object with ``get_params(deep=True)``.

    Returns
    -------
    key : str
        16 hexadecimal digits of the SHA-256 of a canonical text of the class and
        every parameter: floats by their shortest exact repr, arrays by dtype,
        shape and content, nested estimators by class (their parameters are in the
        deep parameter list), functions by module and qualified name, and any other
        object by its repr with memory addresses removed.
    """
    cls = type(scorer)
    params = scorer.get_params(deep=True)
    text = f"{cls.__module__}.{cls.__qualname__}(" + ", ".join(
        f"{name}={_canonical(params[name])}" for name in sorted(params)
    ) + ")"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _canonical(value, depth=0):
    """Text of a parameter value that does not depend on the process it was made in."""
    if isinstance(value, np.generic):
        # k=np.int64(5) and k=5 score the same: one key
        value = value.item()
    if value is None or isinstance(value, (bool, str, int, float)):
        return repr(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return f"ndarray(object, {_canonical(value.tolist(), depth + 1)})"
        data = np.ascontiguousarray(value)
        digest = hashlib.sha256(data.tobytes()).hexdigest()[:16]
        return f"ndarray({data.dtype.str}, {data.shape}, {digest})"
    if depth < 4 and isinstance(value, (list, tuple)):
        inner = ", ".join(_canonical(v, depth + 1) for v in value)
        return f"{type(value).__name__}[{inner}]"
    if depth < 4 and isinstance(value, dict):
        items = sorted((repr(k), _canonical(v, depth + 1)) for k, v in value.items())
        return "dict{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if hasattr(value, "get_params") and not isinstance(value, type):
        # its parameters are listed separately by get_params(deep=True)
        return f"{type(value).__module__}.{type(value).__qualname__}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return _ADDRESS.sub("", repr(value))


# -- the file -----------------------------------------------------------------------
@dataclasses.dataclass
class Checkpoint:
    """One checkpoint file: what it held when the run started, and rows to add.

    Parameters
    ----------
    path : str
        A ``.csv``, ``.parquet`` or ``.pq`` file; it need not exist.
    names_a, names_b : list
        The layer names of the run, which must be distinct as text.
    scorer_names : list, default=()
        The scorers' names in the output table.
    """

    path: str
    names_a: list
    names_b: list
    scorer_names: list = ()
    format: str = dataclasses.field(init=False)
    pending: list = dataclasses.field(init=False, default_factory=list)
    last_flush: float = dataclasses.field(init=False, default_factory=time.monotonic)

    def __post_init__(self):
        self.path = os.fspath(self.path)
        ext = os.path.splitext(self.path)[1].lower()
        if ext in (".parquet", ".pq"):
            self.format = "parquet"
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise ImportError(
                    f"checkpoint={self.path!r} needs pyarrow to write Parquet; install it "
                    "(`pip install pyarrow`) or use a '.csv' checkpoint."
                ) from exc
        elif ext == ".csv":
            self.format = "csv"
        else:
            raise ValueError(
                f"checkpoint must end in '.parquet' or '.csv' (the format is chosen by "
                f"extension); got {self.path!r}."
            )
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise ValueError(
                f"checkpoint={self.path!r} is in a folder that does not exist ({folder!r}); "
                "create it first."
            )
        for arg, names in (("reps_a", self.names_a), ("reps_b", self.names_b)):
            as_str = [str(n) for n in names]
            if len(set(as_str)) < len(as_str):
                raise ValueError(
                    f"the layer names of {arg} are not distinct as strings ({names}); a "
                    "checkpoint stores names as text, so rename them."
                )
        named = (("reps_a", self.names_a), ("reps_b", self.names_b), ("scorer", self.scorer_names))
        for arg, names in named:
            for name in names:
                if "\n" in str(name) or "\r" in str(name):
                    raise ValueError(
                        f"the name {name!r} in {arg} holds a line break, which a checkpoint "
                        "cannot store (one line per row); rename it."
                    )

    @property
    def lock_path(self):
        return self.path + ".lock"

    # -- reading ----------------------------------------------------------------
    def load(self):
        """The finished cells on disk, as ``{(a, b, scorer, params, fold): values}``.

        ``values`` is the tuple of floats ``(score, pvalue, pvalue_se, ci_low,
        ci_high)``, NaN where not computed.

        Rows that were cut off or do not match their checksum are dropped with a
        warning (their cells are recomputed); when a key appears twice (two runs
        that computed the same cell), the first row is kept.

        Raises
        ------
        ValueError
            When the file exists but is not a checkpoint of this version.
        """
        with self._locked():
            if self.format == "parquet":
                # under the lock no run is writing one now: every temporary file
                # is what a killed run left behind
                for stale in glob.glob(glob.escape(self.path) + ".tmp-*"):
                    with contextlib.suppress(OSError):
                        os.remove(stale)
            if not os.path.exists(self.path):
                return {}
            rows = self._read_csv() if self.format == "csv" else self._read_parquet()
        done = {}
        for a, b, scorer, params, fold, *values in rows:
            if np.isnan(values[0]):
                continue  # nothing learnt: recompute
            done.setdefault((a, b, scorer, params, fold), tuple(values))
        return done

    def _read_parquet(self):
        try:
            table = pd.read_parquet(self.path)
        except Exception as exc:
            raise ValueError(
                f"checkpoint {self.path!r} exists but could not be read: {exc}"
            ) from exc
        self._check_columns(list(table.columns), COLUMNS)
        table = _with_value_columns(table)
        return [
            (str(a), str(b), str(s), str(p), int(f), *(float(v) for v in values))
            for a, b, s, p, f, *values in table[COLUMNS].itertuples(index=False, name=None)
        ]

    def _read_csv(self):
        with open(self.path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8", errors="replace")
        lines = text.split("\n")
        # a complete file ends with the terminator of its last row, leaving "" here
        torn_tail = lines.pop()
        header_line = _format_line(COLUMNS + ["crc"])[:-1]
        if not lines:
            if header_line.startswith(torn_tail):
                return []  # empty, or killed while writing the header: no row was lost
            lines = [torn_tail]
        header = next(csv.reader([lines[0]]), [])
        self._check_columns(header, COLUMNS + ["crc"])
        n_fields = len(header) - 1
        rows, bad = [], []
        for number, line in enumerate(lines[1:], start=2):
            row = _parse_row(line, n_fields)
            if row is None:
                bad.append(number)
            else:
                rows.append(row)
        if lines and torn_tail:
            warnings.warn(
                f"checkpoint {self.path!r}: its last row was cut off (a run was stopped while "
                f"writing it: {torn_tail[:60]!r}); it is ignored and that pair is recomputed.",
                CheckpointWarning,
                stacklevel=2,
            )
        if bad:
            warnings.warn(
                f"checkpoint {self.path!r}: line(s) {bad[:10]} do not match their checksum "
                "(damaged); they are ignored and those pairs are recomputed.",
                CheckpointWarning,
                stacklevel=2,
            )
        return rows

    def _check_columns(self, got, expected):
        if got == expected or [c for c in got if c != "crc"] == _SCORE_COLUMNS:
            return
        if [c for c in got if c != "crc"] == _UNKEYED_COLUMNS:
            raise ValueError(
                f"checkpoint {self.path!r} was written by an older skalign that keyed rows by "
                "scorer class only, so its scores cannot be matched to scorer parameters; "
                "delete it or pass another checkpoint path."
            )
        raise ValueError(
            f"checkpoint {self.path!r} is not an alignment_matrix checkpoint: expected columns "
            f"{expected}, got {got}."
        )

    # -- writing ----------------------------------------------------------------
    def add(self, key, value):
        """Queue one finished cell; written at the next :meth:`flush` (at most ~1 s later).

        ``value`` is the score, or the tuple ``(score, pvalue, pvalue_se, ci_low,
        ci_high)``.
        """
        values = np.full(len(VALUE_COLUMNS), np.nan)
        given = np.atleast_1d(np.asarray(value, dtype=np.float64))
        values[: given.size] = given
        self.pending.append((*key, *(float(v) for v in values)))
        if time.monotonic() - self.last_flush >= FLUSH_INTERVAL:
            self.flush()

    def flush(self):
        """Write the queued rows, under the lock, keeping every row already on disk."""
        if not self.pending:
            return
        with self._locked():
            if self.format == "csv":
                self._append_csv(self.pending)
            else:
                self._rewrite_parquet(self.pending)
        self.pending, self.last_flush = [], time.monotonic()

    def _append_csv(self, rows):
        data = "".join(_format_row(row) for row in rows).encode("utf-8")
        # "a+b": reads anywhere, every write goes to the end (a kill tears only the
        # last row, which the CRC and the missing newline give away)
        if self._has_score_only_header():
            self._upgrade_csv()
        with open(self.path, "a+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size:
                size = _cut_torn_tail(fh, size)
            if not size:
                data = _format_line(COLUMNS + ["crc"]).encode("utf-8") + data
            fh.write(data)

    def _has_score_only_header(self):
        """Whether the CSV file starts with the header of a version without inference columns."""
        if not os.path.exists(self.path):
            return False
        with open(self.path, "rb") as fh:
            first = fh.readline().decode("utf-8", errors="replace")
        return first.endswith("\n") and next(csv.reader([first]), []) == _SCORE_COLUMNS + ["crc"]

    def _upgrade_csv(self):
        """Rewrite a score-only CSV file in the current layout (under the lock, atomically)."""
        with warnings.catch_warnings():
            # load() has already said which rows were damaged
            warnings.simplefilter("ignore", CheckpointWarning)
            rows = self._read_csv()
        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(_format_line(COLUMNS + ["crc"]).encode("utf-8"))
            fh.write("".join(_format_row(row) for row in rows).encode("utf-8"))
        os.replace(tmp, self.path)

    def _rewrite_parquet(self, rows):
        new = pd.DataFrame(rows, columns=COLUMNS)
        if os.path.exists(self.path):
            old = pd.read_parquet(self.path)
            self._check_columns(list(old.columns), COLUMNS)
            new = pd.concat([_with_value_columns(old)[COLUMNS], new], ignore_index=True)
        text = {"a": str, "b": str, "scorer": str, "params": str}
        new = new.astype({**text, "fold": np.int64, **dict.fromkeys(VALUE_COLUMNS, np.float64)})
        tmp = f"{self.path}.tmp-{os.getpid()}"
        new.to_parquet(tmp, index=False)
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _locked(self):
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; single-writer use only
            yield
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:
            # a folder we may only read (finished results shared read-only): nobody
            # can be writing there through us, and reading needs no lock
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _with_value_columns(table):
    """``table`` with the inference columns a score-only file lacks, as NaN."""
    missing = [c for c in VALUE_COLUMNS if c not in table.columns]
    return table.assign(**dict.fromkeys(missing, np.nan)) if missing else table


def _fields_text(fields):
    # the unit separator cannot be typed into a layer name by accident
    return "\x1f".join(fields)


def _crc(fields):
    return format(zlib.crc32(_fields_text(fields).encode("utf-8")), "08x")


def _format_line(fields):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


def _format_row(row):
    a, b, scorer, params, fold, *values = row
    # repr gives the shortest text that reads back as the same float
    fields = [str(a), str(b), str(scorer), str(params), str(int(fold))]
    fields += [repr(float(v)) for v in values]
    return _format_line(fields + [_crc(fields)])


def _parse_row(line, n_fields=len(COLUMNS)):
    """The row of one CSV line (``n_fields`` before the checksum), or None when it is damaged.

    Rows of a score-only file get NaN inference values.
    """
    try:
        fields = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return None
    if len(fields) != n_fields + 1 or fields[-1] != _crc(fields[:-1]):
        return None
    a, b, scorer, params, fold, *values = fields[:-1]
    try:
        values = [float(v) for v in values]
        values += [float("nan")] * (len(VALUE_COLUMNS) - len(values))
        return (a, b, scorer, params, int(fold), *values)
    except ValueError:
        return None


def _cut_torn_tail(fh, size):
    """Truncate a row left without its terminator by a killed writer; return the new size.

    Called under the lock before appending, so that new rows start on a line of
    their own instead of being glued to the torn one. The reader has already
    warned about the torn row, so this repair is silent.
    """
    fh.seek(size - 1)
    if fh.read(1) == b"\n":
        return size
    start = max(0, size - 65536)
    while True:
        fh.seek(start)
        chunk = fh.read(size - start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            new_size = start + cut + 1
            break
        if start == 0:
            new_size = 0
            break
        start = max(0, start - 65536)
    fh.truncate(new_size)
    return new_size
