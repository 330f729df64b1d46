"""Teacher mode: on a class's shared server, one password gives the teacher's browser the say over trainings and runs.

Off unless ``$CATDOG_TEACHER_PASSWORD`` (:data:`catdog.config.ENV_TEACHER_PASSWORD`) is set in the dashboard
server's environment, and then everything works as before for everyone. On, the browser that unlocks it with that
password (the Training page's sidebar) may stop or cancel any training, its trainings wait ahead of everyone else's,
and it may rename, delete and restore any run; every other browser may do so only with its own trainings and runs.
Without it, a student's queued trainings held up the teacher's demo and anyone could rename any run (QA M).

The page keeps which browsers have unlocked it (:func:`catdog.ui.is_teacher`); this module holds the rules.
"""

from __future__ import annotations

import hmac
import os

from catdog.config import ENV_TEACHER_PASSWORD


def password() -> str | None:
    """The teacher's password, ``$CATDOG_TEACHER_PASSWORD`` as set; ``None`` when it is unset, empty or only spaces
    (teacher mode off)."""
    typed = os.environ.get(ENV_TEACHER_PASSWORD, "")
    return typed if typed.strip() else None


def enabled() -> bool:
    """Whether teacher mode is on (:func:`password` is set)."""
    return password() is not None


def password_matches(typed: str) -> bool:
    """Whether ``typed`` is the teacher's password, in constant time (:func:`hmac.compare_digest`): exactly, but
    for spaces at either end (a password copied with a trailing space was refused, QA); always False while
    teacher mode is off."""
    expected = password()
    return expected is not None and hmac.compare_digest(typed.strip().encode("utf-8"),
                                                        expected.strip().encode("utf-8"))


def may_stop(job_owner: str, owner: str, *, teacher: bool) -> bool:
    """Whether browser ``owner`` may stop (or cancel) a training of browser ``job_owner``: its own, or any when
    ``teacher`` (it has unlocked teacher mode)."""
    return job_owner == owner or teacher


def may_manage(run_owner: str, owner: str, *, teacher: bool) -> bool:
    """Whether browser ``owner`` may rename, delete or restore a run made by browser ``run_owner`` (``""``: not
    known, e.g. made before run owners were kept, or by the command line): anyone while teacher mode is off, else
    the teacher and the run's own browser."""
    return not enabled() or teacher or (bool(run_owner) and run_owner == owner)
