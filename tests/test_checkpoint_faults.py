"""Checkpoints of alignment_matrix under faults: kills, two writers, torn rows, new parameters.

The runs that are killed or that write concurrently are processes forked from one
server process (see :class:`Server`); their scorer lives in a small module written
to a temporary folder, so that they, their joblib workers and this process all
import the same class (the checkpoint keys rows by the scorer's class and
parameters). Every result is compared with an uninterrupted run in this process.
"""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import skalign
from skalign import alignment_matrix
from skalign._checkpoint import CheckpointWarning, scorer_params_key

SCORERS_MODULE = '''
import os
import time

import numpy as np

from skalign import CKAScorer


class SlowCKA(CKAScorer):
    """Linear CKA that takes a few milliseconds per pair, so a run can be killed midway."""

    delay = float(os.environ.get("FAULT_DELAY", "0"))
    calls = []  # pairs combined in this process

    def combine(self, PX, PY):
        if self.delay:
            time.sleep(self.delay)
        type(self).calls.append(1)
        return super().combine(PX, PY)


def layers():
    rng = np.random.default_rng(7)
    base = rng.normal(size=(60, 5))
    out = {}
    for k in range(10):
        d = 4 + k
        out[f"layer {k}"] = np.tanh(base @ rng.normal(size=(5, d))) + 0.3 * rng.normal(size=(60, d))
    return out


def scorer(which):
    return {"linear": SlowCKA(), "debiased": SlowCKA(debiased=True)}[which]
'''

SERVER = """
import json
import os
import sys
import time
import traceback

import skalign._checkpoint
from skalign import alignment_matrix
from skalign._checkpoint import scorer_params_key

import faultscorers

# write every finished pair at once: many writes, so kills land during them too
skalign._checkpoint.FLUSH_INTERVAL = 0.0
layers = faultscorers.layers()


def run(path, n_jobs, which, go):
    os.setpgid(0, 0)  # its own process group: a kill takes its joblib workers too
    while go and not os.path.exists(go):
        time.sleep(0.005)
    alignment_matrix(layers, scorer=faultscorers.scorer(which), n_jobs=n_jobs, checkpoint=path)


for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "key":
        reply = {"key": scorer_params_key(faultscorers.scorer(cmd["which"]))}
    elif cmd["op"] == "run":
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                run(cmd["path"], cmd["n_jobs"], cmd["which"], cmd.get("go"))
            except BaseException:
                traceback.print_exc()
                status = 1
            sys.stderr.flush()
            os._exit(status)
        reply = {"pid": pid}
    else:  # wait
        reply = {"status": os.waitstatus_to_exitcode(os.waitpid(cmd["pid"], 0)[1])}
    print(json.dumps(reply), flush=True)
"""

N_LAYERS = 10
N_PAIRS = N_LAYERS * (N_LAYERS + 1) // 2  # a symmetric self comparison


class Server:
    """A Python process that imported skalign once and forks the runs to kill.

    Forking from one warm process spares each run the seconds of importing
    scikit-learn; the server itself is a fresh interpreter, so keys it computes
    test that they do not depend on the process.
    """

    def __init__(self, folder):
        root = os.path.dirname(os.path.dirname(skalign.__file__))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(folder), root, env.get("PYTHONPATH", "")])
        env["FAULT_DELAY"] = "0.01"
        # one BLAS thread: the CPUs are shared with the runs' joblib workers
        env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
        self.log = open(folder / "server.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(folder / "faultserver.py")],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.running = set()

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"the fault server died: {self.log.read()}")
        return json.loads(line)

    def start(self, path, n_jobs=1, which="linear", go=None):
        pid = self.ask(op="run", path=str(path), n_jobs=n_jobs, which=which, go=go)["pid"]
        self.running.add(pid)
        return pid

    def wait(self, pid):
        self.running.discard(pid)
        return self.ask(op="wait", pid=pid)["status"]

    def kill(self, pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:  # finished before the kill, or not yet in its group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.wait(pid)

    def errors(self):
        self.log.seek(0)
        return self.log.read()

    def close(self):
        for pid in list(self.running):
            self.kill(pid)
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    (folder / "faultscorers.py").write_text(textwrap.dedent(SCORERS_MODULE))
    (folder / "faultserver.py").write_text(textwrap.dedent(SERVER))
    srv = Server(folder)
    srv.folder = folder
    yield srv
    srv.close()


@pytest.fixture
def faultscorers(server, monkeypatch):
    """The scorer module the server runs, imported here too (same class, same keys)."""
    monkeypatch.syspath_prepend(str(server.folder))
    sys.modules.pop("faultscorers", None)
    import faultscorers

    faultscorers.SlowCKA.calls = []
    yield faultscorers
    sys.modules.pop("faultscorers", None)


def saved_keys(path):
    """Every (a, b, scorer, params, fold) row of a checkpoint file, duplicates kept."""
    if str(path).endswith(".parquet"):
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, dtype=str)
    return list(zip(table.a, table.b, table.scorer, table.params, table.fold.astype(int)))


def wait_for_growth(path, size, timeout=30.0):
    """Until ``path`` is larger than ``size`` bytes (a pair was saved), or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > size:
            return
        time.sleep(0.005)


needs_fork = pytest.mark.skipif(
    not hasattr(os, "fork") or not hasattr(os, "killpg"), reason="forks runs and kills them"
)


# -- killed runs ------------------------------------------------------------------------
@needs_fork
@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_sigkill_at_random_moments_then_resume(server, faultscorers, tmp_path, ext, n_jobs):
    layers = faultscorers.layers()
    reference = alignment_matrix(layers, scorer=faultscorers.scorer("linear"))
    path = tmp_path / f"killed{ext}"
    moments = random.Random(f"{ext}{n_jobs}")
    for _ in range(2 if n_jobs == 1 else 1):
        size = path.stat().st_size if path.exists() else 0
        pid = server.start(path, n_jobs)
        # a random moment once the run is under way (n_jobs=2 first starts its workers)
        wait_for_growth(path, size)
        time.sleep(moments.uniform(0.0, 0.4))
        assert server.kill(pid) in (0, -signal.SIGKILL), server.errors()

    rows_before = 0
    with warnings.catch_warnings():
        # a kill inside a write leaves a torn row, which is dropped with a warning
        warnings.simplefilter("ignore", CheckpointWarning)
        if path.exists():
            rows_before = len(skalign._checkpoint.Checkpoint(path, list(layers), []).load())
        faultscorers.SlowCKA.calls = []
        resumed = alignment_matrix(layers, scorer=faultscorers.scorer("linear"), checkpoint=path)
    # each pair is computed exactly once over all runs: what was saved is not redone
    assert len(faultscorers.SlowCKA.calls) == N_PAIRS - rows_before
    pd.testing.assert_frame_equal(resumed, reference, check_exact=False, rtol=1e-13, atol=0)
    keys = saved_keys(path)
    assert len(keys) == len(set(keys)) == N_PAIRS


# -- two runs on one file ------------------------------------------------------------------
@needs_fork
@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_two_writers_with_different_scorers_keep_every_row(server, faultscorers, tmp_path, ext):
    path = tmp_path / f"shared{ext}"
    go = tmp_path / "go"
    pids = [server.start(path, 1, which, go=str(go)) for which in ("linear", "debiased")]
    go.touch()  # both start writing at the same moment
    for pid in pids:
        assert server.wait(pid) == 0, server.errors()
    keys = saved_keys(path)
    assert len(keys) == len(set(keys)) == 2 * N_PAIRS
    layers = faultscorers.layers()
    for which in ("linear", "debiased"):
        faultscorers.SlowCKA.calls = []
        again = alignment_matrix(layers, scorer=faultscorers.scorer(which), checkpoint=path)
        assert faultscorers.SlowCKA.calls == []  # all rows of both runs were kept
        expected = alignment_matrix(layers, scorer=faultscorers.scorer(which))
        pd.testing.assert_frame_equal(again, expected, check_exact=False, rtol=1e-13, atol=0)


@needs_fork
def test_params_key_is_the_same_in_another_process(server, faultscorers):
    for which in ("linear", "debiased"):
        here = scorer_params_key(faultscorers.scorer(which))
        assert server.ask(op="key", which=which)["key"] == here
    keys = {scorer_params_key(faultscorers.scorer(w)) for w in ("linear", "debiased")}
    assert len(keys) == 2


# -- torn and damaged rows -----------------------------------------------------------------
def _small_layers(rng):
    base = rng.normal(size=(30, 4))
    return {
        f"l{k}": base @ rng.normal(size=(4, 3 + k)) + rng.normal(size=(30, 3 + k)) for k in range(4)
    }


def test_torn_last_csv_row_is_dropped_and_recomputed(rng, tmp_path):
    layers = _small_layers(rng)
    path = tmp_path / "torn.csv"
    others = {"x": layers["l0"] ** 2, "y": np.sin(layers["l1"])}  # no diagonal cell scoring 1.0
    full = alignment_matrix(layers, others, scorer=skalign.CKAScorer(), checkpoint=path)
    text = path.read_text()
    last = text.rstrip("\n").split("\n")[-1]
    score_field = last.split(",")[skalign._checkpoint.COLUMNS.index("score")]
    assert len(score_field) > 6 and "." in score_field
    # cut inside the number, as a run killed while writing it leaves the file
    cut = len(text) - 1 - len(last) + last.rindex(score_field) + 4
    path.write_text(text[:cut])
    assert path.read_text().endswith(score_field[:4])

    with pytest.warns(CheckpointWarning, match="last row was cut off"):
        resumed = alignment_matrix(layers, others, scorer=skalign.CKAScorer(), checkpoint=path)
    pd.testing.assert_frame_equal(resumed, full)
    # the file was repaired: the torn row replaced by a whole one, each pair once
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)
        again = alignment_matrix(layers, others, scorer=skalign.CKAScorer(), checkpoint=path)
    pd.testing.assert_frame_equal(again, full)
    keys = saved_keys(path)
    assert len(keys) == len(set(keys)) == len(full)


def test_damaged_csv_row_fails_its_checksum(rng, tmp_path):
    layers = _small_layers(rng)
    path = tmp_path / "damaged.csv"
    full = alignment_matrix(layers, scorer=skalign.CKAScorer(), checkpoint=path)
    lines = path.read_text().split("\n")
    fields = lines[3].split(",")
    at = skalign._checkpoint.COLUMNS.index("score")
    value = float(fields[at])
    fields[at] = repr(value + 0.25)  # a plausible score that is not the one computed
    lines[3] = ",".join(fields)
    path.write_text("\n".join(lines))
    with pytest.warns(CheckpointWarning, match=r"line\(s\) \[4\] do not match their checksum"):
        resumed = alignment_matrix(layers, scorer=skalign.CKAScorer(), checkpoint=path)
    pd.testing.assert_frame_equal(resumed, full)


def test_torn_header_is_an_empty_checkpoint(rng, tmp_path):
    layers = _small_layers(rng)
    path = tmp_path / "header.csv"
    path.write_text("a,b,sco")
    full = alignment_matrix(layers, scorer=skalign.CKAScorer())
    resumed = alignment_matrix(layers, scorer=skalign.CKAScorer(), checkpoint=path)
    pd.testing.assert_frame_equal(resumed, full)
    assert len(saved_keys(path)) == len(full)


# -- scorer parameters ----------------------------------------------------------------------
class CountingCKA(skalign.CKAScorer):
    calls = []

    def combine(self, PX, PY):
        type(self).calls.append(1)
        return super().combine(PX, PY)


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_changed_parameters_are_not_served_old_scores(rng, tmp_path, ext):
    layers = _small_layers(rng)
    path = tmp_path / f"params{ext}"
    n_pairs = 4 * 5 // 2
    # the same name in the table, so only the parameters tell the two runs apart
    biased = alignment_matrix(layers, scorer={"cka": CountingCKA()}, checkpoint=path)
    CountingCKA.calls = []
    debiased = alignment_matrix(layers, scorer={"cka": CountingCKA(debiased=True)}, checkpoint=path)
    assert len(CountingCKA.calls) == n_pairs
    fresh = alignment_matrix(layers, scorer={"cka": CountingCKA(debiased=True)})
    pd.testing.assert_frame_equal(debiased, fresh)
    assert not np.allclose(debiased.score, biased.score)
    # equal parameters in a new instance reuse the rows of both earlier runs
    CountingCKA.calls = []
    for params, expected in (({}, biased), ({"debiased": True}, debiased)):
        again = alignment_matrix(layers, scorer={"cka": CountingCKA(**params)}, checkpoint=path)
        pd.testing.assert_frame_equal(again, expected)
    assert CountingCKA.calls == []


def test_checkpoint_of_an_older_version_is_refused(rng, tmp_path):
    layers = _small_layers(rng)
    path = tmp_path / "old.csv"
    pd.DataFrame(
        {"a": ["l0"], "b": ["l0"], "scorer": ["CKAScorer"], "fold": [-1], "score": [1.0]}
    ).to_csv(path, index=False)
    with pytest.raises(ValueError, match="keyed rows by scorer class only"):
        alignment_matrix(layers, scorer=skalign.CKAScorer(), checkpoint=path)


def test_params_text_has_no_memory_addresses():
    from skalign._checkpoint import _canonical

    class Opaque:
        pass

    a, b = Opaque(), Opaque()
    assert " at 0x" in repr(a) and repr(a) != repr(b)
    assert _canonical(a) == _canonical(b)  # equal in every process, unlike the repr
    assert _canonical(np.int64(5)) == _canonical(5)
    assert _canonical(np.arange(3)) != _canonical(np.arange(3.0))  # dtype counts
    assert _canonical(np.arange(3)) != _canonical(np.array([0, 1, 3]))


def test_parquet_leftovers_of_a_killed_write_are_removed(rng, tmp_path):
    layers = _small_layers(rng)
    path = tmp_path / "left.parquet"
    stale = tmp_path / "left.parquet.tmp-999999"
    stale.write_bytes(b"PAR1 half a file")
    alignment_matrix(layers, scorer=skalign.CKAScorer(), checkpoint=path)
    assert not stale.exists()
    assert len(saved_keys(path)) == 10


def test_names_with_line_breaks_are_refused_before_the_work(rng, tmp_path):
    layers = _small_layers(rng)
    layers["two\nlines"] = layers.pop("l3")
    with pytest.raises(ValueError, match=r"name 'two\\nlines' in reps_a holds a line break"):
        alignment_matrix(layers, scorer=skalign.CKAScorer(), checkpoint=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
