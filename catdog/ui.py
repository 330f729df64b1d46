"""Streamlit pieces used by more than one page; the only module that imports Streamlit.

Holds the sidebar data settings, the cached per-process resources (prepared
splits, the training queue, loaded models) and small drawing helpers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Callable, Collection, Mapping

import streamlit as st

from catdog.config import (BROWSER_SETTINGS, ENV_DATA_DIR, RUN_NAME_MAX, SETTINGS_FILE, SPLIT_SEEDS, SPLIT_SIZES,
                           DataConfig, default_runs_dir, range_problem, read_browser_settings, split_settings_problem,
                           write_browser_settings)
from catdog.errors import CatdogError


#: ``st.plotly_chart`` settings of every chart: the toolbar keeps zoom, pan, reset and download only, so that on
#: a 1024-px projector it no longer covers the charts' titles when the mouse is over them (QA).
PLOTLY_CONFIG = {"displaylogo": False,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]}


def page_setup(*, status: bool = True) -> None:
    """First call of every page: make sure the dashboard's navigation is in force, and draw the sidebar's line on
    a training that runs or waits (:func:`training_status`); with ``status=False`` the page draws that line itself,
    after its own sidebar controls (the Augmentation page: at 1024×768 the line pushed them below the fold, QA H).

    Streamlit 1.67 decides once per server process whether the app uses the
    legacy ``pages/`` folder; when the first visit after a start is a deep link
    (``/training``), it runs the page without ``dashboard.py`` and shows
    file-name navigation until someone opens ``/``.  Turning that mode off and
    rerunning goes through ``dashboard.py``'s ``st.navigation`` at once.
    """
    from streamlit.runtime.pages_manager import PagesManager

    keep_keras_state_between_reruns()
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    if status:
        training_status()


def keep_keras_state_between_reruns() -> None:
    """Stop Streamlit from calling ``keras.backend.clear_session()`` after every script run.

    Streamlit 1.67 ends every run of every session with ``_clean_problem_modules``
    (``streamlit/runtime/scriptrunner/script_runner.py``), which calls
    ``keras.backend.clear_session()``: that replaces Keras's per-thread state for
    *all* threads, resets TensorFlow's default graph, clears the kernel cache and
    runs a full garbage collection.  The Training page reruns its live view every 1–2 s per
    open tab while a job trains in catdog's training thread, so each rerun pulled the
    ground from under the job's ``tf.function`` tracing: with two tabs open a 1-epoch
    model1 run on 36 tiny images stayed at batch 0 for over 3 minutes at 100 % CPU
    (tests/browser/test_training_browser.py, 1 Dec 2026; py-spy showed the training
    thread re-tracing while the script thread ran ``clear_session``).  With one tab
    open, model1's 2 epochs on the real data took 72.0 s instead of 47.1 s (45.0 s
    with no tab); fast model4 with two tabs 116.1 s instead of 50.8 s (55.7 s with
    no tab; ``bench/page_reruns.py``, 1 Dec 2026).  catdog keeps no
    Keras state that needs clearing between reruns (models live in Streamlit's
    resource cache or in the job), so Keras is left alone; matplotlib figures are
    still closed as Streamlit does.  Idempotent; does nothing if a later Streamlit
    drops the hook.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner, "_clean_problem_modules", None) in (None, _clean_without_keras):
        return
    script_runner._clean_problem_modules = _clean_without_keras


def _clean_without_keras() -> None:
    """Streamlit's ``_clean_problem_modules`` without its ``keras.backend.clear_session()``."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        with contextlib.suppress(Exception):
            plt.close("all")


def defaults(values: dict) -> None:
    """Give widget keys their first value; widgets then take it from session state.

    Widgets keyed this way are created without a ``value``/``index`` argument, so that session state is the
    only source.  The pages' settings widgets also pass ``persist_state="session"`` (Streamlit 1.67): their
    values then outlive a visit to another page.  Before, catdog wrote each value back at the start of every page,
    which failed once the Training page's live view had redrawn itself (a fragment run): leaving the page then
    reset every setting of the browser to its default (QA: a student came back to 20 epochs and seed 42).
    """
    for key, value in values.items():
        st.session_state.setdefault(key, value)


def whole_number(container, label: str, low: int, high: int, *, key: str, **kwargs) -> tuple[int, str | None]:
    """An integer ``st.number_input`` whose range ``low`` … ``high`` catdog checks, not the widget.

    With ``min_value``/``max_value`` Streamlit keeps a typed 0 or 999 in the field in red with only a small icon,
    and the script goes on with the last value in range: a student typed 999 epochs and Train started 20 (QA). Here
    the typed value stays the value, and an out-of-range one gets a message for the page to show (and to keep Train
    off until it is fixed).

    Args:
        container: where to draw it (``st``, a column).
        label: the field's label, also named in the message.
        low, high: the values accepted, both included.
        key: the widget's session-state key (its value set with :func:`defaults`).
        kwargs: further ``st.number_input`` arguments (``help``, ``disabled``).

    An emptied field is said too (with Streamlit's default it went back to 0 without a word: "Unfreeze from layer"
    emptied unfroze all of MobileNetV2, "Fine-tuning epochs" emptied turned fine-tuning off, QA), and shows the
    range accepted as its placeholder.

    Returns:
        ``(value, problem)``: the field's value as an ``int`` (``low`` when it is empty), and ``None`` or the message.
    """
    value = container.number_input(label, value=None, step=1, key=key, placeholder=f"{low:,} to {high:,}", **kwargs)
    value = None if value is None else int(value)
    return (low if value is None else value), range_problem(label, value, low, high)


def run_name_input(container, label: str, *, key: str, **kwargs) -> str:
    """A run name field, and under it, for a name past :data:`~catdog.config.RUN_NAME_MAX` characters, a line that
    says it will be cut (:func:`catdog.config.run_name`). No ``max_chars``: Streamlit drops a paste past it whole,
    without a word (QA; streamlit/streamlit#9221).

    Args:
        container: where to draw it (``st``, a column).
        label: the field's label.
        key: the widget's session-state key.
        kwargs: further ``st.text_input`` arguments.

    Returns:
        The field's text as typed.
    """
    text = container.text_input(label, key=key, **kwargs)
    if len(text.strip()) > RUN_NAME_MAX:  # no count: an emoji is several code points, and was counted as such (QA)
        container.caption(f"This name is longer than the {RUN_NAME_MAX} characters a run name keeps: its end is cut.")
    return text


def ids_from_labels(key: str, labels: Mapping[str, str]) -> None:
    """Before the select box or multiselect ``key`` over the ids of ``labels`` (``{id: label}``) is drawn: turn
    chosen labels the browser sent back into ids again, and have it show their labels of now.

    Streamlit's select widgets send the browser's choice back as the *label* of each chosen option and turn it
    into the option only while that label is still offered; otherwise the label string itself becomes the value.
    The browser keeps showing the label the run had when it was chosen, and a run's label changes when it is
    renamed, finishes or is scored ("x · model1 · running" → "x · model1 · test 62.0%"): after a rename,
    Rename/Delete said the chosen run had been deleted, and a run that finished while compared left the
    comparison (QA). Every label this session has drawn is kept with its id (in ``_labels_<key>``, the latest id
    for a label) to map such values back; setting the value anew makes the browser show the new label. The id of
    a run that is gone stays as it is, for the page to say so.

    Args:
        key: the widget's key.
        labels: ``{option id: label}`` of this draw (:func:`catdog.reporting.distinct_labels`).
    """
    state = st.session_state
    back = {**(state.get(f"_labels_{key}") or {}), **{label: rid for rid, label in labels.items()}}
    value = state.get(key)
    if isinstance(value, list) and any(v not in labels and v in back for v in value):
        state[key] = [back.get(v, v) if v not in labels else v for v in value]
    elif isinstance(value, str) and value not in labels and value in back:
        state[key] = back[value]
    state[f"_labels_{key}"] = back
    # A chosen run renamed in another tab: this browser sends nothing back, and a select box went on showing the old
    # name after every rerun (QA). Setting the same value anew makes Streamlit send it, with its label of now.
    value = state.get(key)
    chosen = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v in labels]
    drawn = state.get(f"_drawn_{key}") or {}  # every label of the last draw (the widget's value is set after it)
    if any(rid in drawn and drawn[rid] != labels[rid] for rid in chosen):
        state[key] = list(value) if isinstance(value, list) else value
    state[f"_drawn_{key}"] = dict(labels)


def keep_selection(key: str, options: list[str], first: list[str] | Callable[[], list[str]],
                   limit: int = 5, *, returning: Collection[str] = (),
                   joining: Collection[str] | None = None) -> tuple[list[str], list[str]]:
    """Session state of the multiselect ``key`` before it is drawn: valid, and following new options.

    The first time this session draws it, the selection is ``first``.  Later, options that
    have appeared since the session last drew it (a run another tab or the training queue
    has just added) are put in front of the user's selection, which then keeps its first ``limit`` options,
    and options that have gone (a deleted run) are dropped, so the widget never holds a value it cannot show.
    An option of the selection that went and comes back (a run deleted, then restored) returns to the selection,
    and an option seen before is never new again: restored runs joined as new ones and pushed the best runs out
    (QA). A selection left empty by options that went (every run compared deleted) starts again from ``first``,
    not from Streamlit's blank "Choose options" (QA). Create the widget with ``key`` and no ``default``.

    Args:
        key: the widget's key.
        options: the options it is drawn with now (hashable strings).
        first: the selection the first time, or a function that gives it (called only then: the Training page
            ranks every run for it).
        limit: most options in the selection after new ones joined it: in a tab left open through a lesson every
            new run joined, and 12 runs made the comparison unreadable (QA).  The user may choose more.
        returning: options that are old ones come back, never new even if this session has not seen them (runs
            restored since the page was last drawn, which a tab opened while they were deleted never saw).
        joining: the options that may join by themselves when new (``None``: all); the others are offered only
            (teacher mode: a student's runs in the projector's comparison, :func:`shared_runs`).

    Returns:
        ``(pushed out, gone)``: the options of the user's selection that new ones pushed out past ``limit`` (QA:
        the best run left the comparison without a word), and those of it that have gone and not come back (a
        deleted run), until the user changes the selection (:func:`forget_gone`, the widget's ``on_change``), for
        the page to say so: said only on the draw that found them gone, the note went at the next redraw (QA).
    """
    seen_key, gone_key = f"_seen_{key}", f"_gone_{key}"
    start = lambda: list(first() if callable(first) else first)  # noqa: E731
    seen = st.session_state.get(seen_key)
    missing = st.session_state.get(gone_key, [])
    dropped = []
    if seen is None or key not in st.session_state:
        selection, seen = start(), set()
    else:
        previous = st.session_state[key]
        back = [option for option in missing if option in options and option not in previous]
        kept = [option for option in previous if option in options] + back
        gone = [option for option in previous if option not in options]
        missing = [option for option in missing if option not in options] + gone
        added = [option for option in options if option not in seen and option not in kept
                 and option not in returning and (joining is None or option in joining)]
        selection = (added + kept)[:limit] if added else kept
        dropped = [option for option in kept if option not in selection]
        if not selection and gone:
            selection = start()
    st.session_state[key] = selection
    st.session_state[seen_key] = seen | set(options)
    st.session_state[gone_key] = missing = missing[-50:]  # a few: runs deleted while compared
    return dropped, missing


def forget_gone(key: str) -> None:
    """``on_change`` of a multiselect that :func:`keep_selection` keeps: the user has chosen anew, so the options
    of the selection that went (deleted runs) are no longer said, nor put back when they return."""
    st.session_state.pop(f"_gone_{key}", None)


def follow_default(key: str, options: list[str], default: list[str]) -> list[str]:
    """Session state of the multiselect ``key`` before it is drawn: ``default`` until the user changes the
    selection (:func:`mark_own_choice`, the widget's ``on_change``), and the new ``default`` whenever it changes
    meanwhile (a better run has been trained); once changed, the user's selection without the options that have
    gone (a deleted run). Create the widget with ``key``, no ``default`` and
    ``on_change=mark_own_choice, args=(key,)``.

    Whether the user has changed it is remembered, not inferred: told by the selection being other than the last
    default, a selection left equal to the default by a deletion went back to following it (QA).

    Args:
        key: the widget's key.
        options: the options it is drawn with now (hashable strings).
        default: the selection while the user keeps it, a subset of ``options``.

    Returns:
        The options of the user's own selection that have gone, for the page to say so.
    """
    current = st.session_state.get(key)
    if current is None or not st.session_state.get(f"_own_{key}"):
        st.session_state[key] = list(default)
        return []
    st.session_state[key] = [option for option in current if option in options]
    return [option for option in current if option not in options]


def mark_own_choice(key: str) -> None:
    """``on_change`` of a multiselect that :func:`follow_default` keeps: the user has made the choice their own."""
    st.session_state[f"_own_{key}"] = True


@contextlib.contextmanager
def user_errors():
    """Show a :class:`CatdogError` as ``st.error`` (as plain text: file names hold ``*`` or ``$``) and stop the
    page, instead of a traceback."""
    try:
        yield
    except CatdogError as err:
        st.error(plain(str(err)), icon=":material/error:")
        st.stop()


_SETTINGS_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False)
def _browser_settings(runs_root: str) -> dict[str, dict]:
    """``{owner id: {setting: (value, when)}}``: the dataset settings each browser changed last, server-wide, with
    when (``time.time_ns()``), so that the browser's other tabs take them (:func:`data_config`): a new tab
    opened with the defaults, and on a small dataset folder showed a split-size error above the running job; a tab
    already open kept its own settings, and a Train there used another split than the one just set (QA).  Kept in
    the runs folder's :data:`catdog.config.SETTINGS_FILE` too, so that a server restart keeps them: a teacher's
    test split of 500 went back to 200 after a restart, and the next run was scored on another split (QA)."""
    return read_browser_settings(Path(runs_root) / SETTINGS_FILE)


def _runs_root() -> str:
    return str(default_runs_dir().resolve())


def _keep_setting(key: str) -> None:
    """``on_change`` of the dataset settings: remember the new value beyond the page, for the browser's
    other tabs and beyond a restart (:func:`_browser_settings`)."""
    change = (st.session_state[key], time.time_ns())
    st.session_state[f"_kept_{key}"], st.session_state[f"_kept_at_{key}"] = change
    root = _runs_root()
    settings = _browser_settings(root)
    with _SETTINGS_LOCK:  # two browsers at once: the file is written from one whole dict at a time
        settings.setdefault(owner_id(), {})[key] = change
        write_browser_settings(Path(root) / SETTINGS_FILE, settings)


def data_config() -> DataConfig:
    """The sidebar's dataset settings, shared by every page through ``st.session_state``, and by a browser's tabs.

    Widgets: data folder (default ``$CATDOG_DATA_DIR``; empty → Keras cache or
    download), validation and test split sizes, split seed.  Each setting is the one changed last in any tab of the
    browser (:func:`_browser_settings`; an open tab takes another's change at its next rerun), else the default.
    """
    state = st.session_state
    defaults = {"data_dir": os.environ.get(ENV_DATA_DIR, ""), "validation_size": DataConfig.validation_size,
                "test_size": DataConfig.test_size, "split_seed": DataConfig.seed}
    shared = _browser_settings(_runs_root()).get(owner_id(), {})
    # A widget's id depends on its page, so Streamlit resets these sidebar widgets on every page switch
    # (and drops their values on pages without them). Their values are kept under "_kept_<key>" and put back.
    for key in BROWSER_SETTINGS:  # the settings kept for a browser are these (a name missing above: KeyError)
        default = defaults[key]
        if f"_kept_{key}" not in state:  # a new session: a value set before its first run counts as its own change
            preset = key in state
            state[f"_kept_{key}"] = state.get(key, default)
            state[f"_kept_at_{key}"] = time.time_ns() if preset else 0
        if key in shared and shared[key][1] > state[f"_kept_at_{key}"]:  # changed in another tab since
            state[f"_kept_{key}"], state[f"_kept_at_{key}"] = shared[key]
        state[key] = state[f"_kept_{key}"]
    with st.sidebar.expander("Dataset settings", expanded=False):
        server_default = os.environ.get(ENV_DATA_DIR)
        st.text_input(
            "Data folder", key="data_dir", on_change=_keep_setting, args=("data_dir",),
            help="Folder holding train/ and validation/, on the computer the dashboard runs on (a relative path "
                 f"starts from its folder `{os.getcwd()}`). Empty: "
                 + (f"the server's folder, `{server_default}` (${ENV_DATA_DIR})." if server_default else
                    "use the Keras cache, or download cats_and_dogs_filtered.zip (68 MB) if there is no copy "
                    "yet."),
        )
        # No min_value/max_value: the pages say what is out of range (config.split_settings_problem), or empty
        # (value=None: with Streamlit's default an emptied Split seed became 0, another test split, without a word)
        sizes, seeds = f"at least {SPLIT_SIZES[0]}", "{:,} to {:,}".format(*SPLIT_SEEDS)
        st.number_input("Validation images", value=None, step=50, key="validation_size", placeholder=sizes,
                        on_change=_keep_setting, args=("validation_size",),
                        help="Images of validation/ that score every epoch (the curves); the model never trains "
                             "on them, but you choose epochs and settings by them.")
        st.number_input("Test images", value=None, step=50, key="test_size", placeholder=sizes,
                        on_change=_keep_setting, args=("test_size",),
                        help="Images of validation/ held out for the final score only: a fair estimate of "
                             "accuracy on other photos like these, give or take a few points on 200 images (the "
                             "runs table's 95% interval), since nothing is chosen by them.")
        st.number_input("Split seed", value=None, step=1, key="split_seed", placeholder=seeds,
                        on_change=_keep_setting, args=("split_seed",),
                        help="Which images go to the test split (drawn once, per class): the same seed gives "
                             "the same split. Compare runs only on the same split.")
    def whole(key: str) -> int | None:  # an emptied field: None, said by prepared_splits
        return None if state[key] is None else int(state[key])

    return DataConfig(data_dir=state["data_dir"].strip() or None, validation_size=whole("validation_size"),
                      test_size=whole("test_size"), seed=whole("split_seed"))


@st.cache_resource(show_spinner=False, max_entries=8)
def _prepared(data_dir: str | None, validation_size: int, test_size: int, seed: int, stamp: tuple):
    """:func:`catdog.training.prepare_splits`, once per settings and state of the folder (``stamp``:
    :func:`catdog.data.dataset_stamp`, so that files added or removed are read at the next rerun)."""
    from catdog.training import prepare_splits

    config = DataConfig(data_dir=data_dir, validation_size=validation_size, test_size=test_size, seed=seed)
    return prepare_splits(config)


def prepared_splits(config: DataConfig, *, stop: bool = True):
    """``(root, splits)`` for the settings, computed once per server process.

    Shows a spinner (naming the 68 MB download when there is no local copy) and
    turns problems (split settings out of range, :func:`catdog.config.split_settings_problem`, and the dataset
    errors of :func:`catdog.training.prepare_splits`) into an error message on the page, which then stops there; with
    ``stop=False`` the page goes on and gets ``(None, None)`` (the Training page keeps its
    running job and its runs in view while the dataset settings are being fixed).  Split sizes that leave images of
    ``validation/`` in neither split get a warning (:attr:`catdog.data.Splits.unused`).
    """
    if problem := split_settings_problem(config.validation_size, config.test_size, config.seed):
        st.error(plain(problem), icon=":material/error:")
        if stop:
            st.stop()
        return None, None
    note = ("Downloading cats_and_dogs_filtered.zip (68 MB) through keras.utils.get_file…" if _downloads(config)
            else "Reading the dataset folder…")
    try:
        with st.spinner(note):
            root, splits = _prepared(*_split_key(config))
    except (CatdogError, OSError) as err:  # OSError: a folder inside it cannot be listed (no permission)
        st.error(plain(str(err) if isinstance(err, CatdogError) else
                       f"The data folder cannot be read: '{err.filename or config.data_dir}' ({err.strerror or err})."),
                 icon=":material/error:")
        if stop:
            st.stop()
        return None, None
    if splits.unused:  # a teacher's own folder's small sizes stayed when the course's came back (QA 14)
        total = splits.unused + len(splits.validation) + len(splits.test)
        st.warning(f"{splits.unused:,} of the {total:,} readable images of validation/ are in neither split: the "
                   f"sidebar's split sizes ({len(splits.validation):,} validation + {len(splits.test):,} test) use "
                   f"only {total - splits.unused:,}. Raise them in Dataset settings to use them all.",
                   icon=":material/warning:")
    return root, splits


def _split_key(config: DataConfig) -> tuple:
    """:func:`_prepared`'s arguments for ``config``: its folder, split sizes and split seed, and the folder's
    :func:`catdog.data.dataset_stamp`."""
    from catdog.data import dataset_stamp

    return config.data_dir, config.validation_size, config.test_size, config.seed, dataset_stamp(config.data_dir)


def _downloads(config: DataConfig) -> bool:
    """Whether reading the dataset of ``config`` downloads it first: no folder given and no copy in Keras's cache."""
    from catdog.data import keras_cache_candidates

    return not config.data_dir and not os.environ.get(ENV_DATA_DIR) and not any(
        (c / "train").is_dir() for c in keras_cache_candidates())


def quiet_splits(config: DataConfig):
    """:func:`prepared_splits` without a word on the page: ``(None, None)`` when they cannot be read now (settings
    out of range, a dataset problem, or no local copy yet: this never starts the download)."""
    if split_settings_problem(config.validation_size, config.test_size, config.seed) or _downloads(config):
        return None, None
    try:
        return _prepared(*_split_key(config))
    except (CatdogError, OSError):
        return None, None


def dataset_class_names(config: DataConfig) -> tuple[str, ...] | None:
    """The class names of the sidebar's dataset in label order, without a word on the page (:func:`quiet_splits`),
    else ``None``. The Classifier uses them to put the runs of this dataset first, whatever else it can classify."""
    splits = quiet_splits(config)[1]
    return None if splits is None else tuple(splits.class_names)


def data_config_for(root, config: DataConfig, **changes) -> DataConfig:
    """``config`` pointing at the located ``root``, with ``changes`` applied."""
    return replace(config, data_dir=str(root), **changes)


#: Seconds between redraws of the sidebar's training line while a job waits or trains (only that line reruns).
STATUS_REFRESH_SECONDS = 5.0


def training_status() -> None:
    """A line at the top of the sidebar, on every page, while a training runs or waits on this server: whose it
    is, its phase and epoch (the time left is the live view's) and where its live view and Stop are. On a
    projector at 125 % the Training page's live view and Stop sit under the fold, and the other pages showed no
    sign of a training at all (QA 16).

    Redrawn every :data:`STATUS_REFRESH_SECONDS` while there is such a job, and the whole page once when it has
    ended; with none when the page is drawn, nothing is drawn (a training started meanwhile in another tab shows
    with the page's next rerun).
    """
    if queue().active():
        with st.sidebar:
            _training_status_line()


@st.fragment(run_every=STATUS_REFRESH_SECONDS)
def _training_status_line() -> None:
    from catdog import reporting

    jobs = queue()
    if not (active := jobs.active()):
        # ended since: redraw the page, whose next run draws no line, so this fragment stops polling (an idle Data
        # tab polled every 5 s for good, review)
        st.rerun()
    running = [job for job in active if job.state == "running"]
    job = (running or active)[0]
    snap = job.progress.snapshot()
    # the phase and epoch, not the time left, which the live view updates more often (the two differed, QA 18), nor
    # the feature extraction's batch, a few a second ("batch 62/95" here, "74/95" in the live view, QA)
    where = (reporting.stopping_text(snap) if job.stop.is_set() else "waiting" if job.state == "queued"
             else "extracting features through MobileNetV2" if snap.get("phase") == "extracting features"
             else reporting.phase_text({**snap, "message": ""}))
    name, model = jobs.job_name(job), job.train_config.model
    title = model if name == model else f"{model} “{short_name(name, 24)}”"
    mine = job.owner == owner_id()
    more = f" · {len(active) - 1} more waiting" if len(active) > 1 else ""
    # where exactly: on the Training page itself "Live view: Training page" sent its reader nowhere (QA 18)
    st.info(f"**Training now**, {'yours' if mine else 'from another browser'}: {title} · {plain(where)}{more}. "
            f"{'Live view and Stop' if may_stop(job) else 'Live view'}: Training page, under Train.",
            icon=":material/model_training:")


@st.cache_resource(show_spinner=False)
def training_queue(runs_dir: str | None = None):
    """The server process's one :class:`catdog.training.TrainingQueue`: each training runs in a child process of its
    own (:class:`catdog.worker.ProcessTrainer`), so the server's memory does not grow with every training, unless
    ``$CATDOG_TRAIN_IN_SERVER`` asks for the server's own training thread (:func:`catdog.worker.training_in_server`)."""
    from catdog.training import TrainingQueue
    from catdog.worker import ProcessTrainer, training_in_server

    return TrainingQueue(runs_dir or default_runs_dir(), trainer=None if training_in_server() else ProcessTrainer())


def queue():
    """The training queue for the runs folder in force (``$CATDOG_RUNS_DIR`` or ``runs/``)."""
    return training_queue(_runs_root())


# --------------------------------------------------------------------------- teacher mode
#: Seconds a wrong teacher's password holds its browser's page: guessing it from a class's browsers takes long.
WRONG_PASSWORD_PAUSE = 1.0


@st.cache_resource(show_spinner=False)
def _teachers() -> set[str]:
    """The owner ids (:func:`owner_id`) of the browsers that have unlocked teacher mode in this server process
    (until Lock or a restart); a browser's tabs share one."""
    return set()


def is_teacher() -> bool:
    """Whether this browser has unlocked teacher mode (:mod:`catdog.teacher`), and it is still on."""
    from catdog import teacher

    return teacher.enabled() and owner_id() in _teachers()


def may_stop(job) -> bool:
    """Whether this browser may stop or cancel ``job`` (a :class:`catdog.training.TrainingJob`): its own, or any
    for the teacher (:func:`catdog.teacher.may_stop`)."""
    from catdog import teacher

    return teacher.may_stop(job.owner, owner_id(), teacher=is_teacher())


def may_manage(run_id: str | None) -> bool:
    """Whether this browser may rename, delete or restore run ``run_id``: always while teacher mode is off, else
    the teacher and the browser whose training made it (:func:`catdog.teacher.may_manage`)."""
    return bool(run_id) and run_id in manageable([run_id])


def manageable(run_ids) -> list[str]:
    """Those of ``run_ids`` this browser may rename, delete or restore (:func:`may_manage`), in their order; the
    run owners' file is read once."""
    from catdog import teacher

    if not teacher.enabled() or is_teacher():
        return list(run_ids)
    owners, me = queue().run_owners(), owner_id()
    return [run_id for run_id in run_ids if teacher.may_manage(owners.get(run_id, ""), me, teacher=False)]


def shared_runs(runs) -> list:
    """Teacher mode: those of ``runs`` (:class:`catdog.training.RunInfo`) that a browser's comparison starts from
    and takes in as they come: the teacher's (:attr:`~catdog.training.RunInfo.by_teacher`), those of no known browser
    (prepared by the command line, or before run owners were kept) and this browser's own. A student's 2-epoch try
    took the place of the teacher's prepared model1 in every new tab, and the students' runs pushed the prepared ones
    out of the projector's comparison (QA). All of ``runs`` while teacher mode is off."""
    from catdog import teacher

    if not teacher.enabled():
        return list(runs)
    owners, me = queue().run_owners(), owner_id()
    training = {job.run_id for job in queue().jobs() if job.priority and job.run_id}  # flagged when it ends
    return [run for run in runs if run.by_teacher or run.run_id in training or owners.get(run.run_id, "") in ("", me)]


def _unlock_teacher() -> None:
    """Unlock's callback: this browser becomes the teacher when the password field holds the password; the field is
    emptied either way (a password left in the field showed as dots in every rerun)."""
    from catdog import teacher

    state = st.session_state
    typed, state["teacher_password"] = state.get("teacher_password") or "", ""
    if teacher.password_matches(typed):
        _teachers().add(owner_id())
        moved = queue().promote(owner_id())  # queued before the unlock: ahead now
        st.toast("Teacher mode unlocked in this browser." + (
            f" Your {moved} waiting training{'s wait' if moved > 1 else ' waits'} ahead of the others' now."
            if moved else ""), icon=":material/school:")
    else:
        time.sleep(WRONG_PASSWORD_PAUSE)
        state["teacher_error"] = ("That is not the teacher's password: nothing changed." if typed else
                                  "Type the teacher's password first.")


def _lock_teacher() -> None:
    """Lock's callback: this browser (all its tabs) is a student's again."""
    _teachers().discard(owner_id())
    st.toast("Teacher mode locked in this browser: a student's rights again.", icon=":material/lock:")


#: Seconds between checks, in each open Training page in teacher mode, that this browser is still (or has become)
#: the teacher: a Lock or Unlock in another tab left this one's buttons and label as they were (QA).
TEACHER_CHECK_SECONDS = 5.0


@st.fragment(run_every=TEACHER_CHECK_SECONDS)
def _teacher_watch(drawn: bool) -> None:
    """Redraw the page once this browser's teacher mode differs from ``drawn``, the state the page was drawn in
    (draws nothing)."""
    if is_teacher() != drawn:
        st.rerun()


def teacher_controls() -> None:
    """The sidebar's "Teacher mode" expander, while teacher mode is on (``$CATDOG_TEACHER_PASSWORD``, else nothing
    is drawn): what it allows, and a password field with Unlock, or Lock once unlocked."""
    from catdog import teacher

    if not teacher.enabled():
        return
    unlocked = is_teacher()
    # the state in the label: on a projector the expander is shut
    with st.sidebar.expander("Teacher mode: unlocked" if unlocked else "Teacher mode", icon=":material/school:",
                             key="teacher_expander"):
        _teacher_watch(unlocked)
        if unlocked:
            st.caption("Unlocked in this browser: you may stop or cancel any training, yours wait ahead of the "
                       "others' in the queue, and you may rename, delete and restore any run.")
            st.button("Lock", key="teacher_lock", icon=":material/lock:", on_click=_lock_teacher,
                      help="This browser goes back to a student's rights (all its tabs).")
            return
        st.caption("On this server the teacher may stop or cancel any training, and rename, delete or restore any "
                   "run; the teacher's trainings wait ahead of the others'. Everyone else: their own trainings and "
                   "runs.")
        with st.form("teacher_form", border=False, enter_to_submit=True):
            st.text_input("Teacher's password", type="password", key="teacher_password")
            st.form_submit_button("Unlock", icon=":material/lock_open:", on_click=_unlock_teacher)
        if error := st.session_state.pop("teacher_error", None):
            st.error(error, icon=":material/error:")


@st.cache_resource(show_spinner="Loading the model…", max_entries=7)  # the Classifier compares 5, + 2
def cached_model(path: str, mtime: float):
    """A ``.keras`` model loaded once per file version (``mtime``, the file's modification time in seconds since
    the epoch as :func:`model_version` gives it, keys the cache); at most 7 kept: the Classifier compares 5 models.

    Raises:
        CatdogError: the file is missing or not a Keras model (:func:`catdog.models.load_model`; not cached).
    """
    from catdog.models import load_model

    return load_model(path)


@st.cache_data(show_spinner="Scoring the test split…", max_entries=8)
def cached_evaluation(model_path: str, mtime: float, items: tuple, class_names: tuple):
    """:func:`catdog.explain.evaluate_split` of a saved model, once per model file and split.

    Args:
        model_path, mtime: the ``.keras`` file and its modification time (:func:`model_version`).
        items: the split's ``(path, label)`` pairs, as a tuple (hashable, for the cache key).
        class_names: the run's class names, in logit order.

    Returns:
        The :class:`catdog.explain.Evaluation`.  A :class:`CatdogError` is shown in the page, which then stops
        (:func:`user_errors`).
    """
    from catdog.explain import evaluate_split

    with user_errors():
        return evaluate_split(cached_model(model_path, mtime), items, class_names)


@st.cache_data(show_spinner=False, max_entries=64)  # ≈ 0.8 MB each at 224×224: ≤ 50 MB
def cached_grad_cam(model_path: str, mtime: float, image_bytes: bytes):
    """:func:`catdog.explain.grad_cam` of an uploaded image for the model at ``model_path`` (``mtime`` keys the
    file version), cached: a rerun (say, moving the opacity slider) recomputes none.  Measured: 30 photos and a
    224×224 model4 took 10 s per slider step before.

    Returns:
        ``(pixels, heatmap)``: the model's input, float32 (H, W, 3) in [0, 255], and the heatmap, float32 (H, W)
        in [0, 1]; (H, W) is the model's input size in pixels.

    Raises:
        CatdogError: the bytes are not an image (:func:`catdog.images.decode_image`), the model file cannot be
            loaded (:func:`cached_model`), or the model cannot be explained (:func:`catdog.explain.grad_cam`).
    """
    from catdog.explain import grad_cam
    from catdog.images import decode_image, to_model_input
    from catdog.models import input_size

    model = cached_model(model_path, mtime)
    pixels = to_model_input(decode_image(image_bytes), input_size(model))
    return pixels, grad_cam(model, pixels)


@st.cache_data(show_spinner=False, max_entries=256)
def cached_image(path: str):
    """:func:`catdog.data.load_image` of a dataset file at the course's 160×160, cached (at most 256 images,
    ≈ 300 KB each).

    Returns:
        float32 (160, 160, 3), values in [0, 255].

    Raises:
        CatdogError: the file is gone or cannot be decoded (:func:`catdog.data.load_image`).
    """
    from catdog.data import load_image

    return load_image(path)


def model_version(run) -> float:
    """The modification time of a run's final model file (seconds since the epoch, ``st_mtime``), which keys the
    caches.

    Raises:
        CatdogError: the run has no saved model.
    """
    try:
        return run.model_path.stat().st_mtime
    except OSError:
        raise CatdogError(f"Run '{run.name}' has no saved model (deleted, or not trained yet).") from None


def run_model(run):
    """The final model of a run, from the cache.

    Raises:
        CatdogError: the run has no saved model, or its file is not a Keras model.
    """
    return cached_model(str(run.model_path), model_version(run))


@st.cache_data(show_spinner="Classifying the images…", max_entries=32)  # 20 large PNGs took a minute (QA)
def cached_verdicts(model_path: str, mtime: float, files: tuple, class_names: tuple, sizes: tuple):
    """:func:`catdog.predict.classify_uploads` of uploads with a saved model (``mtime`` keys the file version),
    without the display copies: a rerun (the opacity slider, a change of the compared models) decodes and
    predicts nothing again. Uncached, 4 compared models decoded every photo 4 times per rerun: 11 photos took
    0.05–0.23 s per model at 500×375 pixels, and a phone's 12-megapixel photo takes about 0.1 s to decode alone.

    Args:
        files: ``(name, bytes)`` pairs.
        sizes: the input sizes (height, width) of all the models the page may use, so that each file is decoded
            once for all of them (:func:`cached_upload`); the model's own size is added when missing.

    Returns:
        One :class:`catdog.predict.Prediction` per file, in ``files`` order, with ``image`` set to ``None``.

    Raises:
        CatdogError: the file is not a Keras model, or not an image → logits model of these classes.
    """
    from catdog.models import input_size
    from catdog.predict import classify_uploads

    model = cached_model(model_path, mtime)
    size = input_size(model)
    sizes = sizes if size in sizes else tuple(sorted({*sizes, size}))
    uploads = [cached_upload(name, data, sizes) for name, data in files]
    return [replace(p, image=None) for p in classify_uploads(model, uploads, class_names, size)]


@st.cache_data(show_spinner=False, max_entries=64)  # ≤ 1.9 MB for display + 0.3/0.6 MB per input: ≤ 180 MB
def cached_upload(name: str, data: bytes, sizes: tuple):
    """:func:`catdog.predict.decode_upload`, cached: the display copy (at most
    :data:`catdog.predict.DISPLAY_MAX_SIDE` pixels a side) and one model input per size in ``sizes``, from a
    single decode. A rerun (the opacity slider) decodes nothing; with 18 phone photos every step of the slider
    decoded and classified them all again: 4.3–6.5 s (QA, 2 Dec 2026)."""
    from catdog.predict import decode_upload

    return decode_upload(name, data, sizes)


#: Bytes of uploads a browser tab keeps for its next visit to a page, at most: a class of 30 each keeping 30 phone
#: photos of 3 MB would hold 2.7 GB of the server's memory.
KEPT_UPLOADS_MAX_BYTES = 32 * 2**20


def _as_files(uploads) -> list[tuple[str, bytes]]:
    """What a file uploader returned (an ``UploadedFile``, a list of them, or ``None``) as ``(name, bytes)``."""
    uploads = uploads if isinstance(uploads, list) else [uploads] if uploads else []
    return [(upload.name, upload.getvalue()) for upload in uploads]


def keep_uploads(key: str) -> None:
    """``on_change`` of the file uploader ``key``: keep its files, as ``(name, bytes)``, for :func:`uploaded_files`
    on the tab's next visit to the page; an uploader left empty, or holding more than
    :data:`KEPT_UPLOADS_MAX_BYTES` in all, keeps none (the latter's size is kept, for :func:`uploaded_files` to say
    why)."""
    files = _as_files(st.session_state.get(key))
    total = sum(len(data) for _, data in files)
    st.session_state.pop(f"_uploads_{key}", None)
    st.session_state.pop(f"_uploads_over_{key}", None)
    if files and total <= KEPT_UPLOADS_MAX_BYTES:
        st.session_state[f"_uploads_{key}"] = files
    elif files:
        st.session_state[f"_uploads_over_{key}"] = total


def uploaded_files(key: str, uploads) -> list[tuple[str, bytes]]:
    """The files of the file uploader ``key`` (created with ``on_change=keep_uploads, args=(key,)``) as
    ``(name, bytes)``; while it is empty, those it held when the tab last left the page, with a line that says so
    and a Clear button.

    Streamlit's uploader starts empty on every visit (it has no ``persist_state``): a student who dropped 30
    photos, looked at the Training page and came back had lost them all (QA).

    Args:
        key: the uploader's key.
        uploads: what it returned: an ``UploadedFile``, a list of them, or ``None``.
    """
    # files past the cap, not kept: said while they are in the box, and on the next visit (QA L: 58 MB of photos
    # were gone without a word, and the files kept before them too)
    megabytes = lambda n: f"{n / 2**20:.{0 if n >= 10 * 2**20 else 1}f} MB"  # noqa: E731
    over, most = st.session_state.get(f"_uploads_over_{key}"), megabytes(KEPT_UPLOADS_MAX_BYTES)
    if files := _as_files(uploads):
        if over:
            st.caption(f"These files ({megabytes(over)}) are more than a tab keeps for its next visit to this page "
                       f"({most}): come back later, and the box will be empty.")
        return files
    kept = st.session_state.get(f"_uploads_{key}") or []
    if over:  # with Clear, as the files kept: it stayed on every visit until files were dropped (QA N)
        _caption_with_clear(f"The files of your last visit ({megabytes(over)}) were more than a tab keeps ({most}), "
                            "so they are not kept: drop them again.", f"clear_over_{key}", f"_uploads_over_{key}")
    if kept:
        _caption_with_clear(f"{len(kept)} file{'s' if len(kept) > 1 else ''} from your last visit to this page, kept "
                            "(the box above starts empty on each visit): drop new ones to replace them.",
                            f"clear_{key}", f"_uploads_{key}")
    return list(kept)  # a copy: the Classifier appends its camera shot, which went into the kept files each rerun


def _caption_with_clear(text: str, button_key: str, state_key: str) -> None:
    """A caption with a Clear button beside it that drops ``state_key`` from the session state."""
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.caption(text)
    right.button("Clear", key=button_key, icon=":material/close:", on_click=st.session_state.pop,
                 args=(state_key, None))


def distinct_names(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` uploads with repeated names told apart: the second "IMG_0001.jpg" becomes
    "IMG_0001.jpg (2)", and so on, in upload order; the bytes are unchanged."""
    seen: dict[str, int] = {}
    named = []
    for name, data in files:
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name} ({seen[name]})", data))
    return named


def input_sizes(runs) -> tuple[tuple[int, int], ...]:
    """The distinct input sizes (height, width) of ``runs`` (:attr:`catdog.training.RunInfo.image_size`),
    sorted: the key under which :func:`cached_upload` decodes every file once for all of them."""
    return tuple(sorted({run.image_size for run in runs}))


def run_verdicts(run, files: list[tuple[str, bytes]], sizes: tuple = ()):
    """:func:`cached_verdicts` of ``(name, bytes)`` uploads with a run's final model and class names.

    Args:
        sizes: :func:`input_sizes` of the runs the page may compare, so that a file is decoded once for all.

    Raises:
        CatdogError: the run has no saved model, or its file is not a Keras model.
    """
    return cached_verdicts(str(run.model_path), model_version(run), tuple(files), tuple(run.class_names),
                           tuple(sizes))


def unreadable_runs_note(unreadable: list[tuple[str, str]]) -> None:
    """A warning naming the run folders whose ``run.json`` cannot be used (``(folder name, why)`` pairs of
    :meth:`catdog.training.RunStore.scan`), at most 5, with why: a hand-edited record that broke left its run out
    of every list without a word (QA). Nothing when there are none."""
    if not unreadable:
        return
    listed = "; ".join(f"{plain(name)} ({plain(why)})" for name, why in unreadable[:5])
    many = len(unreadable) > 1
    st.warning(f"{len(unreadable)} run folder{'s' if many else ''} in the runs folder could not be read and "
               f"{'are' if many else 'is'} not listed: {listed}{'; …' if len(unreadable) > 5 else ''}. Fix the "
               f"run.json in {'them' if many else 'it'}, or delete the folder{'s' if many else ''}.",
               icon=":material/warning:")


def load_run_model(run, *, others: int = 0):
    """:func:`run_model`, with an error shown in the page, which then stops: the error, then what to do (with
    ``others`` other runs to choose from, to choose one; the page had said only why the file failed, QA)."""
    try:
        return run_model(run)
    except CatdogError as err:
        instead = "Choose another run in the list above, or delete" if others else "Train a model again, or delete"
        st.error(plain(f"{run_error_text(run, err)} {instead} this run on the Training page (Rename or delete a "
                       "run)."), icon=":material/error:")
        st.stop()


def run_error_text(run, err: Exception) -> str:
    """A run's model error (:func:`catdog.models.load_model`) as a sentence about "the run's model file", not the
    server's absolute path to it, which a student never sees (QA: "'/tmp/…/20261204-234350-model4-3905f3/
    model.keras' is not a Keras model file"); ends with a full stop."""
    text = str(err)
    for path in (f"The model file '{run.model_path}'", f"'{run.model_path}'"):
        text = text.replace(path, "The run's model file (model.keras)")
    return text if text.endswith((".", "?", "!")) else f"{text}."


def percent_table(rows: list[dict], percent_columns):
    """``rows`` as a table for ``st.dataframe`` whose ``percent_columns`` (fractions in [0, 1]) all read
    with one decimal, e.g. ``83.3%`` next to ``50.0%`` (``NumberColumn(format="percent")`` drops trailing
    zeros and shows ``83.33%`` next to ``50%``).  A pandas ``Styler``: the values stay numbers, so columns
    still sort by value.  The other number columns read as whole numbers with thousands separators, or with one
    decimal when they have a fraction: a column with an empty cell holds floats, which a Styler shows with six
    decimals ("3.000000" epochs, "5337250.000000" parameters next to a failed run).
    """
    import pandas as pd

    frame = pd.DataFrame(rows)
    formats = {c: _number_text for c in frame.select_dtypes("number").columns}
    formats.update({c: "{:.1%}" for c in percent_columns if c in frame})
    return frame.style.format(formats, na_rep="–")


def _number_text(value) -> str:
    """``5337250.0`` → ``"5,337,250"``, ``12.34`` → ``"12.3"``."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def plain(text: str) -> str:
    """``text`` escaped for Streamlit Markdown, so that a run name such as ``**z** $y$ `x``` shows as typed.

    Every ASCII punctuation character gets a backslash (CommonMark lets any of them be escaped; Streamlit
    reads ``\\$`` as a dollar, not maths, and ``\\:`` as a colon, not an emoji or colour code).
    """
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def short_name(name: str, most: int = 32) -> str:
    """A run name for a toast or the line beside Train: :func:`plain`, and cut to ``most`` characters with "…", so
    that the rest of the message stays in view (an 80-character name left "“AAAA…AAAA” with the…" and a "view
    more" in a toast, and took four lines beside Train, QA)."""
    return plain(name if len(name) <= most else f"{name[:most - 1]}…")


def xsrf_token(cookie: str) -> bytes | None:
    """The browser's secret token inside a ``_streamlit_xsrf`` cookie value, or ``None`` if it is not one.

    Streamlit (as Tornado did before it) writes the cookie as ``2|<mask>|<masked token>|<timestamp>``
    (hex; the token XOR the 4-byte mask, repeated) and masks it anew on every page load, so the
    cookie's text changes with each load or new tab while the token stays the browser's.  A version-1
    cookie is the token itself, in hex.
    """
    parts = cookie.split("|")
    try:
        if len(parts) == 4 and parts[0] == "2":
            mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
            if len(mask) != 4 or not masked:
                return None
            return bytes(byte ^ mask[i % 4] for i, byte in enumerate(masked))
        return bytes.fromhex(cookie) or None
    except ValueError:
        return None


def owner_id() -> str:
    """Who owns the jobs this browser submits: 16 hex characters.

    From the token of the browser's ``_streamlit_xsrf`` cookie (:func:`xsrf_token`), which all its tabs
    share and a reload keeps, so a job started in one tab can be stopped from another or after a reload
    (hashing the cookie's text gave a new owner on every load).  Without such a cookie (AppTest, bare
    mode) a per-session id.
    """
    try:
        cookie = st.context.cookies.get("_streamlit_xsrf")
    except Exception:  # no browser behind this session (AppTest, bare mode)
        cookie = None
    token = xsrf_token(cookie) if isinstance(cookie, str) and cookie else None
    if token:
        return hashlib.sha256(token).hexdigest()[:16]
    return st.session_state.setdefault("_catdog_owner", uuid.uuid4().hex[:16])


def image_grid(images, captions, columns: int) -> None:
    """Draw images in rows of ``columns`` with a caption under each (shown as typed: file names are no Markdown)."""
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        for col, image, caption in zip(cols, images[start:start + columns], captions[start:start + columns]):
            col.image(image, caption=plain(caption), width="stretch")


def as_display(array):
    """float [0, 255] (h, w, 3) array → uint8 (h, w, 3) for ``st.image``; values are clipped, then truncated."""
    import numpy as np

    return np.clip(np.asarray(array), 0, 255).astype("uint8")
