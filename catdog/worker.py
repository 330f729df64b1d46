"""Training in a child process, one process per training, so that the server's memory stays flat.

Keras 3 on TensorFlow keeps about 88 MB for good after each build, compile and fit of a model in a process
(keras-team/keras#17458, tensorflow/tensorflow#61791; measured by ``bench/server_memory.py``), so a server that
trained in its own thread grew by that much with every training: 30 model1 runs in a day of lessons made it
2.6 GB larger.  :class:`ProcessTrainer` runs each training (:func:`catdog.training.train_run`, unchanged) in a
fresh child process that ends with it, and the memory goes with the process.

The child (``python -c`` calling :func:`main`, with one end of a socket pair) is started before it is needed:
when the trainer is made and again as soon as a training ends, so that a click on Train does not wait for
TensorFlow to load (3.8 s on 2 cores).  It then waits for its one job.  Not ``multiprocessing``'s ``spawn``:
that runs the parent's ``__main__`` again in the child, and in a Streamlit server that is the page script.
Passing the socket needs POSIX (``pass_fds``): on Windows the server trains in its own thread
(:func:`training_in_server`).

What crosses the socket, parent → child: the job (the two configs, the runs folder and the ``CATDOG_*`` and
``KERAS_HOME`` environment variables in force), then ``"stop"`` when Stop is pressed; closing the socket (the
server gone, even killed) stops the training as Stop does.  Child → parent: ``("ready",)`` once TensorFlow is
loaded, the run once its folder exists, copies of :class:`catdog.training.Progress`
(:meth:`~catdog.training.Progress.snapshot`, at most every :data:`PROGRESS_SECONDS` and only when it changed),
then the :class:`catdog.training.TrainResult` or the error.  The child ignores SIGINT and SIGTERM, which a
terminal's Ctrl-C or a service manager sends to the whole process group: the server's shutdown stops the
training itself (:meth:`catdog.training.TrainingQueue.close`), so that the run keeps its model and test score.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable

from catdog.errors import CatdogError

#: How often, in seconds, the child sends the training's progress when it has changed (the live view redraws
#: every 2 s, the sidebar's line every 5 s).
PROGRESS_SECONDS = 0.1
#: Seconds the parent waits for a child to end after its result before it kills it.
EXIT_SECONDS = 10.0


def _passed_on(key: str) -> bool:
    """Whether the environment variable ``key`` goes with a job: those that choose data, weights, caches and runs
    (``CATDOG_*``, ``KERAS_HOME``)."""
    return key.startswith("CATDOG_") or key == "KERAS_HOME"


def _environment() -> dict[str, str]:
    """This process's variables that go with a job (:func:`_passed_on`)."""
    return {key: value for key, value in os.environ.items() if _passed_on(key)}


def _apply_environment(env: dict[str, str]) -> None:
    """Make the child's variables that go with a job those of ``env`` (the parent's at submission)."""
    for key in [key for key in os.environ if _passed_on(key) and key not in env]:
        del os.environ[key]
    os.environ.update(env)


def main(fd: int) -> None:
    """The child process's entry point: serve one job over the connected socket ``fd`` (:func:`_serve`), then end
    the process."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_IGN)
    _serve(Connection(fd))
    _end()


def _serve(conn: Connection) -> None:
    """Load TensorFlow, wait for one job, train it, send the result or the error."""
    from catdog import training

    importlib.import_module("keras")  # TensorFlow loads while the child waits, not after the click

    with contextlib.suppress(OSError, ValueError):
        conn.send(("ready",))
    try:
        job = conn.recv()
    except (EOFError, OSError):  # the server ended, or has no more use for this child
        return
    train_config, data_config, runs_dir, env = job
    _apply_environment(env)
    stop = threading.Event()
    parent_gone = threading.Event()
    send_lock = threading.Lock()

    def send(message) -> None:
        with send_lock, contextlib.suppress(OSError, ValueError):
            conn.send(message)

    def listen() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the server is gone: end as Stop would, keeping the run's model
                parent_gone.set()
                stop.set()
                return
            if message == "stop":
                stop.set()

    progress = training.Progress()
    last: list[dict] = [{}]

    def report() -> None:
        with send_lock:  # copy and send in one step: an older copy sent after the last one would undo it
            snapshot = progress.snapshot()
            if snapshot != last[0]:
                last[0] = snapshot
                with contextlib.suppress(OSError, ValueError):
                    conn.send(("progress", snapshot))

    done = threading.Event()

    def report_often() -> None:
        while not done.wait(PROGRESS_SECONDS):
            report()

    threading.Thread(target=listen, name="catdog-listen", daemon=True).start()
    threading.Thread(target=report_often, name="catdog-progress", daemon=True).start()
    store = training.RunStore(runs_dir)
    try:
        result = training.train_run(train_config, data_config, store=store, progress=progress, stop=stop,
                                    on_run_created=lambda run: send(("run", run)))
    except BaseException as err:  # every error reaches the page; the child ends anyway
        done.set()
        report()
        if not isinstance(err, CatdogError):
            traceback.print_exc()  # the server's terminal gets the whole story
        folder_gone = isinstance(err, training.RunFolderGone)
        message = str(err) if isinstance(err, CatdogError) else f"{type(err).__name__}: {err}"
        send(("error", message, folder_gone))
        return
    done.set()
    report()
    if parent_gone.is_set() and result.run.status == "stopped":
        with contextlib.suppress(CatdogError, OSError):
            store.update(result.run, stopped_by=training.STOPPED_AT_SHUTDOWN)
    send(("result", result))


def _end() -> None:
    """End the child at once: everything is on disk and sent. The parent waits for its child to end before the job
    ends, and Python's and TensorFlow's tear-down kept the job "training" a while after its run was done (a browser
    test opened its next page meanwhile); without it the job ends 0.05 s after its last progress."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


class ProcessTrainer:
    """A ``trainer`` for :class:`catdog.training.TrainingQueue` that trains each job in a child process of its own.

    Called like :func:`catdog.training.train_run` (the same arguments, the same :class:`~catdog.training.TrainResult`,
    the same errors with the same messages); ``progress`` is updated from the child's copies, ``stop`` is passed
    on, and ``on_run_created`` is called in the calling thread.  A training whose child dies (killed, out of
    memory) raises :class:`CatdogError` saying so; its run folder, if any, is then left ``running`` and listed as
    interrupted.  POSIX only (:func:`training_in_server`).

    Args:
        start: start the first child now (else at the first call).
        keep_warm: start the next child as soon as a training ends (else at the next call, which then waits
            for TensorFlow to load).

    Attributes:
        waiting: the child that waits for the next job (a ``subprocess.Popen``), or ``None``.
        training: the child of the training under way, or ``None``.
    """

    def __init__(self, *, start: bool = True, keep_warm: bool = True):
        self.keep_warm = keep_warm
        self.waiting: subprocess.Popen | None = None
        self.training: subprocess.Popen | None = None
        self._conn: Connection | None = None  # the waiting child's
        self._lock = threading.Lock()
        self._closed = False
        if start:
            self.warm()

    def warm(self) -> None:
        """Start a child to wait for the next job, unless one is waiting or the trainer is closed."""
        with self._lock:
            if self._closed or (self.waiting is not None and self.waiting.poll() is None):
                return
            self._drop_waiting()
            self.waiting, self._conn = _start_child()

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Start a child if none waits, and wait at most ``timeout`` seconds until it has loaded TensorFlow (the
        benchmarks time a click on a server that has been up a while).

        Returns:
            True when the waiting child is ready.
        """
        self.warm()
        with self._lock:
            conn = self._conn
        return conn is not None and conn.poll(timeout)  # its ("ready",) stays for the job's loop to skip

    def _drop_waiting(self) -> None:
        """Let the waiting child go (under the lock): it reads end-of-file and ends."""
        if self._conn is not None:
            self._conn.close()
        self.waiting = self._conn = None

    def _take(self) -> tuple[subprocess.Popen, Connection]:
        """The waiting child (started now if there is none or it has died)."""
        with self._lock:
            if self._closed:
                raise CatdogError("The server is shutting down: start the dashboard again, then press Train.")
            if self.waiting is None or self.waiting.poll() is not None:
                self._drop_waiting()
                self.waiting, self._conn = _start_child()
            taken = self.waiting, self._conn
            self.waiting = self._conn = None
            self.training = taken[0]
            return taken

    def close(self) -> None:
        """Start no more children and end the waiting one (a training under way ends with its job)."""
        with self._lock:
            self._closed = True
            process = self.waiting
            self._drop_waiting()
        if process is not None:
            _reap(process)

    def __call__(self, train_config, data_config, *, store, progress=None, stop=None,
                 on_run_created: Callable | None = None):
        from catdog.training import RunFolderGone, TrainResult

        process, conn = self._take()
        try:
            try:
                conn.send((train_config, data_config, str(store.root), _environment()))
            except OSError:  # it ended before its job came (it could not start: the server's terminal says why)
                raise _ended(process) from None
            stop_sent = False
            while True:
                if stop is not None and stop.is_set() and not stop_sent:
                    with contextlib.suppress(OSError):
                        conn.send("stop")
                    stop_sent = True
                try:
                    message = conn.recv() if conn.poll(PROGRESS_SECONDS) else None
                except (EOFError, OSError):  # the child is gone
                    raise _ended(process) from None
                if message is None:
                    continue
                kind = message[0]
                if kind == "progress" and progress is not None:
                    progress.set(**message[1])
                elif kind == "run" and on_run_created is not None:
                    on_run_created(message[1])
                elif kind == "result":
                    assert isinstance(message[1], TrainResult)
                    return message[1]
                elif kind == "error":
                    _, text, folder_gone = message
                    raise (RunFolderGone if folder_gone else CatdogError)(text)  # the training thread's message
        finally:
            conn.close()
            _reap(process)
            with self._lock:
                self.training = None
            if self.keep_warm:
                self.warm()


def _ended(process: subprocess.Popen) -> CatdogError:
    """The error of a training whose child ended without a result (killed, out of memory, or unable to start)."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(EXIT_SECONDS)
    code = process.returncode
    why = (" It was killed, often for lack of memory: try a smaller batch size or image size." if code and code < 0
           else " The server's terminal shows why.")
    return CatdogError(f"The training process ended unexpectedly (exit code {code}).{why} Its run, if it had started "
                       "one, is listed as interrupted. Press Train to try again.")


def _start_child() -> tuple[subprocess.Popen, Connection]:
    """Start a child (:func:`main`) with one end of a socket pair; return it and the other end."""
    ours, theirs = socket.socketpair()
    with theirs:
        package_root = str(Path(__file__).resolve().parents[1])  # the folder holding catdog/
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from catdog.worker import main; main(int(sys.argv[1]))",
             str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
    return process, Connection(ours.detach())


def _reap(process: subprocess.Popen) -> None:
    """Wait at most :data:`EXIT_SECONDS` for ``process`` to end, then kill it."""
    try:
        process.wait(EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(EXIT_SECONDS)


def training_in_server() -> bool:
    """Whether the server trains in its own thread instead of child processes (:class:`ProcessTrainer`): when
    ``$CATDOG_TRAIN_IN_SERVER`` asks for it (``1``, ``true``, ``yes``; the page tests do, to save a 3.8-s TensorFlow
    start per queue), and on Windows, which cannot pass a socket to a child this way."""
    return os.name == "nt" or os.environ.get("CATDOG_TRAIN_IN_SERVER", "").strip().lower() in ("1", "true", "yes")
