"""Seeding a training run so that other threads of the process cannot change it.

Keras seeds every initializer and layer built without an explicit seed from Python's
``random`` module (``keras.src.random.seed_generator.make_default_seed`` calls
``random.randint(1, 10**9)``), and the module-level functions of ``random`` share one
generator across all threads.  In the dashboard server other threads draw from it at any
time — uvicorn's websocket keep-alive ping calls ``random.getrandbits(32)`` in the main
thread — so a run's initial weights depended on whether a ping fell while its model was
being built: a seed-42 fast model4 scored 95.0 % from the page and 95.5 % from the command
line, and a thread drawing ``random.random()`` every millisecond made the same run score 94.0 %.

:func:`private_random` gives the calling thread a generator of its own for the
module-level functions of ``random``; :func:`set_random_seed` seeds it exactly as
``random.seed`` would seed the shared one, so a run gives the same numbers as it did in a
process where nothing else drew.
"""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager

#: Module-level functions of ``random`` that draw from the thread's own generator inside
#: :func:`private_random` (all that draw numbers; ``seed``/``getstate``/``setstate`` are not routed).
ROUTED = ("random", "randint", "randrange", "getrandbits", "randbytes", "uniform", "triangular", "choice",
          "choices", "shuffle", "sample", "gauss", "normalvariate", "lognormvariate", "expovariate",
          "vonmisesvariate", "gammavariate", "betavariate", "paretovariate", "weibullvariate")

_local = threading.local()
_install_lock = threading.Lock()
_installed = False


def _install() -> None:
    """Route ``random.<function>`` through the calling thread's generator when it has one."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in ROUTED:
            shared = getattr(random, name, None)
            if shared is None:
                continue

            def routed(*args, _name=name, _shared=shared, **kwargs):
                own = getattr(_local, "rng", None)
                return getattr(own, _name)(*args, **kwargs) if own is not None else _shared(*args, **kwargs)

            routed.__name__ = routed.__qualname__ = name
            routed.__doc__ = shared.__doc__
            setattr(random, name, routed)
        _installed = True


@contextmanager
def private_random():
    """Within this block, ``random.<function>`` called from this thread uses a generator of its own.

    Other threads keep drawing from the shared generator and cannot move this one; the
    block's generator starts unseeded until :func:`set_random_seed`.  Blocks nest; the
    previous generator (or the shared one) is back after the block.
    """
    _install()
    previous = getattr(_local, "rng", None)
    _local.rng = random.Random()
    try:
        yield
    finally:
        _local.rng = previous


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed(seed)`` (Python, NumPy, TensorFlow, Keras), and the seed of
    this thread's own generator when inside :func:`private_random`.

    Args:
        seed: a non-negative integer.
    """
    import keras

    keras.utils.set_random_seed(seed)
    own = getattr(_local, "rng", None)
    if own is not None:
        own.seed(seed)  # the same state random.seed(seed) gives the shared generator
