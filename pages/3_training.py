"""Training: pick a model, train it with live curves, keep and compare runs."""

import contextlib
import os
from dataclasses import replace

import streamlit as st

from catdog import augment, charts, reporting, ui
from catdog.config import (ENV_MOBILENET_WEIGHTS, IMAGE_SIZE, RUN_NAME_MAX, DataConfig, TrainConfig,
                           fine_tune_accumulation, run_name, typed_path)
from catdog.errors import CatdogError
from catdog.models import (MOBILENET_INPUT_SIZES, MOBILENET_LAYERS, MODEL_SPECS, build_model, default_input_size,
                           layer_table, parameter_counts, unfreeze_base, weights_file_problem, weights_image_size)
from catdog.training import STOPPED_BY_TEACHER, TRASH_DAYS, TRASH_KEEP, cancelled_configs, curve_colours
from catdog.worker import training_in_server

ui.page_setup()
st.title("Training")
st.caption("Step 3 · train one of the course's four models, watch the training and validation curves epoch by "
           "epoch, then score it on the held-out test split.")

config = ui.data_config()
ui.teacher_controls()
root, splits = ui.prepared_splits(config, stop=False)  # on a dataset error the live job and the runs stay in view
if splits and splits.skipped:
    st.warning(f"{len(splits.skipped)} unreadable file(s) skipped: training uses the other images. "
               "The Data page lists them.", icon=":material/warning:")
jobs = ui.queue()
state = st.session_state


def _job_in_view():
    """The job this tab's live view shows (:meth:`catdog.training.TrainingQueue.job_in_view`): the tab's own (Train,
    Show), but the browser's training rather than its own job waiting behind it."""
    chosen = state.get("job_id")
    return jobs.job_in_view(chosen, ui.owner_id(), keep=chosen is not None and state.get("kept_job") == chosen,
                            prefer_running=ui.is_teacher())


def _queue_cancelled_again() -> None:
    """Button callback: queue again the trainings the last shutdown cancelled while they waited; the live view
    follows the first of them."""
    try:
        if requeued := jobs.requeue_cancelled(ui.owner_id(), priority=ui.is_teacher()):
            state["job_id"] = requeued[0].job_id
    except CatdogError as err:  # the queue is full, or the server is shutting down
        st.toast(ui.plain(str(err)), icon=":material/error:")


if cancelled := jobs.cancelled_for(ui.owner_id()):  # trainings the last server shutdown dropped from the queue
    requeue = any(map(cancelled_configs, cancelled))
    st.warning(ui.plain(reporting.cancelled_text(cancelled, requeue=requeue)), icon=":material/warning:")
    # under the notice, not in a column beside it: a 13th of the page cut the button to "O" at 1024 px (QA)
    with st.container(horizontal=True):
        if requeue:  # one click, instead of setting each training up again by hand
            st.button("Queue again", icon=":material/replay:", key="cancelled_requeue",
                      on_click=_queue_cancelled_again)
        st.button("OK", key="cancelled_ok", on_click=jobs.forget_cancelled, args=(ui.owner_id(),))

# --------------------------------------------------------------------------- settings
defaults, batch_default = TrainConfig(), DataConfig.batch_size
# A reload (F5) is a new session: while this browser's job waits or trains, the form starts from that job's
# settings, which the live view below shows, so that Train on it is caught as "already running" instead of queueing
# the defaults (QA: F5 mid-training brought back 20 epochs and an empty name under a 5-epoch run).
# A job told to stop is no such twin (Stop, then Train, trains again), so the form keeps the defaults then.
if "train_model" not in state and (mine := jobs.job_in_view(None, ui.owner_id())) is not None \
        and mine.owner == ui.owner_id() and not mine.finished and not mine.stop.is_set():
    defaults, batch_default = mine.train_config, mine.data_config.batch_size
    if defaults.model == "model4":
        state["train_image_size"] = mine.data_config.image_size[0]
model4_form = defaults.model == "model4"  # the MobileNetV2 fields of another model's job are its defaults, unused
ui.defaults({
    "train_model": defaults.model, "train_epochs": defaults.epochs, "train_batch": batch_default,
    "train_lr": defaults.learning_rate, "train_seed": defaults.seed, "train_name": defaults.name,
    "train_flip": defaults.flip_mode, "train_rotation": defaults.rotation_factor, "train_fill": defaults.fill_mode,
    # a job's "imagenet" is the empty field; "" (the server's default) never comes from this page
    "train_weights": ("" if defaults.weights == "imagenet" else defaults.weights) if model4_form and defaults.weights
    else os.environ.get(ENV_MOBILENET_WEIGHTS, ""),
    "train_fast": defaults.fast or not model4_form, "train_views": defaults.views,
    "train_ft": defaults.fine_tune_epochs, "train_ft_at": defaults.fine_tune_at,
    "train_ft_lr": defaults.fine_tune_lr_factor, "train_ft_accumulation": defaults.fine_tune_accumulation_steps,
})


def _weights_choice() -> str:
    """The weights field: a path (quoted or a file:// URL too, as the data folder), or empty for Keras's download
    even when $CATDOG_MOBILENET_WEIGHTS is set."""
    return typed_path(st.session_state["train_weights"]) or "imagenet"


def _size_of_weights():
    """model4's input size follows the weights: the size they were trained at (160 for Keras's download), said in a
    toast when it changes; a file name that tells no size leaves a size already set alone (QA: a typo in the path
    set 224 back to 160 without a word)."""
    weights, old = _weights_choice(), st.session_state.get("train_image_size")
    if old is not None and weights != "imagenet" and weights_image_size(weights) is None:
        return
    new = st.session_state["train_image_size"] = default_input_size(weights)
    if old is not None and new != old:
        st.toast(f"Input size set to {new}×{new}: " + (
            "the size this weights file was trained at." if weights_image_size(weights) == new else
            "the course's size (Keras downloads weights trained at the size chosen)." if weights == "imagenet" else
            "the course's size."), icon=":material/info:")


if "train_image_size" not in st.session_state:
    _size_of_weights()
choice = st.radio("Model", list(MODEL_SPECS), horizontal=True, key="train_model", persist_state="session",
                  format_func=lambda name: f"{name} · {MODEL_SPECS[name].title}")
spec = MODEL_SPECS[choice]
st.markdown(spec.description)

left, middle, right = st.columns(3)
problems = []  # out-of-range numbers: said above Train, which stays off until they are fixed
epochs, problem = ui.whole_number(left, "Epochs", 1, 200, key="train_epochs", persist_state="session",
                                  help="One epoch is one pass over every training image. The course trains 20.")
problems.append(problem)
batch_size = middle.selectbox("Batch size", [8, 16, 32, 64, 128], key="train_batch", persist_state="session",
                              help="Images per weight update: 2,000 training images in batches of 32 (the course's) "
                                   "make 63 updates per epoch.")
# one notation: "1e-05 … 0.001 … 0.01" mixed two (QA)
learning_rate = right.select_slider("Learning rate", [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
                                    key="train_lr", persist_state="session",
                                    format_func=lambda v: f"{v:.5f}".rstrip("0"),
                                    help="Adam's step size: how far each update moves the weights (the course's and "
                                         "Keras's default: 0.001).")
left, middle, right = st.columns(3)
seed, problem = ui.whole_number(left, "Training seed", 0, 2**31 - 1, key="train_seed", persist_state="session",
                                help="Draws the starting weights, the order of the images, dropout and augmentation: "
                                     "the same training seed gives the same run on this machine. Which images are "
                                     "test images is the split seed's work (sidebar).")
problems.append(problem)
name_typed = ui.run_name_input(middle, "Run name (optional)", key="train_name", persist_state="session")

options = {}
weights_problem = None  # what is wrong with model4's weights file, found once per run of the page
side = IMAGE_SIZE[0]
if spec.augmentation:
    with st.expander("Augmentation (model2–4)", key="augmentation_expander"):
        a, b, c = st.columns(3)
        options["flip_mode"] = a.selectbox("RandomFlip mode", augment.FLIP_MODES, key="train_flip",
                                           persist_state="session",
                                           help=augment.FLIP_HELP)
        options["rotation_factor"] = b.slider("RandomRotation factor", 0.0, augment.MAX_ROTATION_FACTOR, step=0.01,
                                              key="train_rotation", persist_state="session",
                                              help=augment.ROTATION_HELP)
        options["fill_mode"] = c.selectbox("Fill mode", augment.FILL_MODES, key="train_fill", persist_state="session",
                                           help=augment.FILL_HELP)
        st.caption("The Augmentation page previews these layers; its settings there are its own, with the same "
                   "defaults.")
        if idle := reporting.augmentation_idle_note(choice, st.session_state.get("train_fast"),
                                                    st.session_state.get("train_views"),
                                                    st.session_state.get("train_ft")):
            st.caption(idle)
if spec.mobilenet:
    with st.expander("MobileNetV2 (model4)", expanded=True, key="mobilenet_expander"):
        st.text_input(
            "MobileNetV2 weights file (.h5)", key="train_weights", persist_state="session", on_change=_size_of_weights,
            help="Empty: download Keras's ImageNet weights (needs network). Offline: the path of "
                 "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5 or similar "
                 f"(the server's default comes from ${ENV_MOBILENET_WEIGHTS}).",
        )
        options["weights"] = _weights_choice()
        if weights_problem := weights_file_problem(options["weights"]):  # said now, not after Train
            st.error(ui.plain(weights_problem), icon=":material/error:")
        if options["weights"] == "imagenet":
            st.caption("Empty: Keras's ImageNet weights for this input size, downloaded once (needs the network).")
        side = st.selectbox(
            "Input size (pixels)", MOBILENET_INPUT_SIZES, key="train_image_size", persist_state="session",
            format_func=lambda s: f"{s}×{s}" + (" (the course)" if s == IMAGE_SIZE[0] else ""),
            help="Pretrained weights work best on images of the size they were trained at. Keras's download "
                 "for a 160×160 model holds weights trained at 160; the offline file …_1.0_224_no_top.h5 was "
                 "trained at 224, so it is the default when that file is used. Measured here with that file "
                 "(fast mode, 20 epochs, training seed 0): 160 → 93.0% test (96.9% on all 1,000 validation "
                 "images), 224 → 97.0% test (98.7%). At 224 the frozen base does about 2× the work per image: "
                 "feature extraction and fine-tuning epochs take longer.")
        trained = weights_image_size(options["weights"])
        if trained and trained != side:
            st.caption(f"This weights file was trained on {trained}×{trained} images; at {side}×{side} its "
                       f"features are a little less accurate. Choose {trained} to match it.")
        elif weights_problem:  # a refused file: not "its name tells no size" beside the error (QA N)
            pass
        elif side != IMAGE_SIZE[0] and not trained and options["weights"] != "imagenet":  # kept from before
            st.caption(f"This file's name tells no size: {side}×{side} is the size chosen before. Choose the size "
                       "it was trained at (Keras names such files …_224_no_top.h5).")
        elif side != IMAGE_SIZE[0]:  # why not the course's size, said where it is chosen (QA)
            st.caption(f"The course uses {IMAGE_SIZE[0]}×{IMAGE_SIZE[1]}; {side}×{side} is the size this weights "
                       "file was trained at: more accurate features, about twice the work per image.")
        a, b = st.columns(2)
        options["fast"] = a.toggle("Fast mode", key="train_fast", persist_state="session",
                                   help="The frozen MobileNetV2 gives the same output for the same input image, "
                                        "so fast mode runs it once per image (or per augmented view), keeps its "
                                        "outputs (features) on disk and trains only the head on them, many times "
                                        "faster. The saved file is an ordinary model4, but its head trains on these "
                                        "fixed versions instead of new random flips and turns every epoch: with 1 "
                                        "view on the images as they are, with more views on K fixed versions.")
        options["views"], problem = ui.whole_number(
            b, "Augmented views per training image (fast mode)", 1, 20, key="train_views", persist_state="session",
            disabled=not options["fast"],
            help="K: features are cached for the image itself plus K − 1 versions through the augmentation layers "
                 "above; each epoch uses one of them per image. 1 = no augmentation. Each extra view costs one "
                 "more MobileNetV2 pass over the 2,000 training images (here ≈ 10–25 s at 160×160, "
                 "≈ 20–45 s at 224).")
        problems.append(problem if options["fast"] else None)
        if options["fast"] and options["views"] == 1:
            b.caption("1 view: the head trains on the images as they are, without augmentation "
                      "(fine-tuning, if any, augments).")
        (a, b), (c, d) = st.columns(2), st.columns(2)  # four in a row wrapped each label to 2–3 lines at 1024 px
        options["fine_tune_epochs"], problem = ui.whole_number(
            a, "Fine-tuning epochs (0 = none)", 0, 50, key="train_ft", persist_state="session",
            help="Epochs after the frozen ones in which the top of MobileNetV2 trains too (fine-tuning); the "
                 "curves go on, with a marker where it starts. The TensorFlow tutorial trains 10. Measured here at "
                 "224×224: validation accuracy dips in the first fine-tuning epoch, while the newly unfrozen "
                 "layers start to change, and climbs back over the next ones; after 10 it was higher than after 2 "
                 "with 2 of 3 training seeds, in about 9 minutes instead of 2–3. The best epoch's checkpoint is kept "
                 "and scored too.")
        problems.append(problem)
        options["fine_tune_at"], problem = ui.whole_number(
            b, "Unfreeze from layer", 0, MOBILENET_LAYERS, key="train_ft_at", persist_state="session",
            disabled=not options["fine_tune_epochs"],
            help=f"MobileNetV2 has {MOBILENET_LAYERS} layers: those from this one on train during fine-tuning, "
                 "the earlier, more general ones stay frozen (the TensorFlow tutorial: 100).")
        problems.append(problem if options["fine_tune_epochs"] else None)
        options["fine_tune_lr_factor"] = c.select_slider(
            "Fine-tuning learning rate factor", [0.01, 0.1, 1.0], key="train_ft_lr", persist_state="session",
            disabled=not options["fine_tune_epochs"],  # as the other fine-tuning settings (QA)
            help="Fine-tuning's learning rate is the learning rate above times this factor: small steps, so that "
                 "the pretrained weights are adjusted, not overwritten (the TensorFlow tutorial: 0.1).")
        auto = fine_tune_accumulation(0, (side, side))
        options["fine_tune_accumulation_steps"] = d.select_slider(
            "Gradient accumulation steps", [0, 1, 2, 4], key="train_ft_accumulation", persist_state="session",
            format_func=lambda steps: f"auto ({auto})" if steps == 0 else str(steps),
            disabled=not options["fine_tune_epochs"],
            # the measurements behind "auto" are in fine_tune_accumulation's docstring and the README (QA: the
            # help was "full of GB and benchmark figures")
            help="Fine-tuning can run each batch through the network in this many smaller pieces, average "
                 "their gradients and update the weights once per batch (gradient accumulation): the same updates "
                 "as whole batches, with less memory. 1 = whole batches. Auto: 4 above 160×160, where whole batches "
                 "need the most memory, else 1.")

train_config = TrainConfig(model=choice, epochs=int(epochs), learning_rate=float(learning_rate), seed=int(seed),
                           name=run_name(name_typed), **options)


@st.cache_resource(show_spinner=False, max_entries=8)
def _summary(model_name: str, side: int):
    model = build_model(TrainConfig(model=model_name), image_size=(side, side), compile=False, pretrained=False)
    return layer_table(model), parameter_counts(model)


@st.cache_resource(show_spinner=False, max_entries=8)
def _fine_tuning_counts(side: int, fine_tune_at: int):
    """model4's parameter counts while it fine-tunes from MobileNetV2's layer ``fine_tune_at`` on."""
    model = build_model(TrainConfig(model="model4"), image_size=(side, side), compile=False, pretrained=False)
    unfreeze_base(model, fine_tune_at)
    return parameter_counts(model)


with st.expander(f"Layers of {choice}", key="layers_expander"):
    table, counts = _summary(choice, side)
    # every row in view, counts with thousands separators: at 1024 px the last row hid behind the table's own
    # scroll bar and 5308480 was hard to read (QA)
    st.dataframe(table, hide_index=True, placeholder="–", height=35 * (len(table) + 1) + 3, column_config={
        # widths that fit the expander's 530 px at 1024 px: "non-trainable" and 2,257,984 were cut (QA), then with
        # two count columns "GlobalMaxPooling2D" was; one count and a trainable column, as Keras's summary has
        "layer": st.column_config.TextColumn(width=122),
        "type": st.column_config.TextColumn(width=140),
        "output shape": st.column_config.TextColumn(
            width=122,
            help="(batch, height, width, channels) or (batch, values): None is the batch size, any number of "
                 "images."),
        "params": st.column_config.NumberColumn(format="%,d", width=78, help="The layer's weights (scalars)."),
        "trainable": st.column_config.TextColumn(
            width=68,
            help="Whether training changes the layer's weights: no for model4's frozen MobileNetV2 (the caption "
                 "below says what fine-tuning unfreezes); – for a layer without weights."),
    })
    st.caption(f"Trainable parameters: {counts['trainable']:,} · non-trainable: {counts['non_trainable']:,} · "
               f"total: {counts['total']:,}")
    # the table shows the frozen phase only (QA)
    if choice == "model4" and options.get("fine_tune_epochs") and 0 <= options["fine_tune_at"] <= MOBILENET_LAYERS:
        tuned = _fine_tuning_counts(side, options["fine_tune_at"])
        st.caption(f"While it fine-tunes, MobileNetV2's layers from {options['fine_tune_at']} on train too: "
                   f"{tuned['trainable']:,} trainable parameters, {tuned['non_trainable']:,} non-trainable "
                   "(the BatchNormalization layers stay frozen: they keep the image statistics they learned on "
                   "ImageNet)."
                   if tuned["trainable"] > counts["trainable"] else  # from 152 on: none that trains (QA)
                   f"MobileNetV2's layers from {options['fine_tune_at']} on hold no weights that fine-tuning trains "
                   "(BatchNormalization stays frozen): it would train the head only, as the frozen epochs do.")

problems = [problem for problem in problems if problem]
for problem in problems:
    st.error(ui.plain(problem), icon=":material/error:")
train_row = st.container(horizontal=True, vertical_alignment="center", gap="medium")  # each as wide as it needs
if train_row.button("Train", type="primary", icon=":material/play_arrow:",
                       disabled=root is None or bool(weights_problem) or bool(problems),
                       help="Fix the dataset settings in the sidebar first (see the error above)." if root is None else
                       "Fix the MobileNetV2 weights file first (see the error above)." if weights_problem else
                       "Fix the settings named above first." if problems else None):
    run_data = ui.data_config_for(root, config, batch_size=int(batch_size), image_size=(side, side))
    if twin := jobs.unfinished_twin(train_config, run_data, owner=ui.owner_id()):
        # what happened first: after a long unbroken name, "shown below" hid behind the toast's "view more" (QA)
        twin_name = ui.short_name(twin.train_config.name or twin.train_config.model)
        state["job_id"] = twin.job_id
        where = "shown below" if _job_in_view() is twin else "under Your other trainings, below"
        st.toast(f"Already {twin.state}, {where}: “{twin_name}” with these settings.", icon=":material/info:")
    else:
        try:
            # the teacher's demo is never refused for a queue the class filled (teacher mode)
            teacher = ui.is_teacher()
            submitted = jobs.submit(train_config, run_data, owner=ui.owner_id(), priority=teacher, limits=not teacher)
        except CatdogError as err:  # the queue is full, or the server is shutting down
            st.error(ui.plain(str(err)), icon=":material/error:")
        else:
            state["job_id"] = submitted.job_id
            if (shown := _job_in_view()) is not submitted and shown is not None:
                # the live view stays on the training: it had gone to "waiting in the queue" (QA)
                st.toast(f"Queued: “{ui.short_name(jobs.job_name(submitted))}” trains when "
                         f"“{ui.short_name(jobs.job_name(shown))}” has ended; the live view shows that one until "
                         "then.", icon=":material/queue:")


# --------------------------------------------------------------------------- live job
#: Seconds between redraws of the live view while a job is queued or running.  Each redraw costs the job
#: CPU on a 2-core machine (the server's rerun and the browser re-rendering two Plotly charts): model1,
#: 2 epochs, two tabs open: 49.9–58.2 s at 1 s, 41.9–44.4 s at 2 s, 33.9–40.4 s with no page
#: (bench/page_training.py, README).
LIVE_REFRESH_SECONDS = 2.0
#: … while nothing trains: only to notice a job started in another tab or by another user.  Two idle tabs
#: showing a finished run cost 13.7 % of a core at 2 s (bench/page_training.py --idle, README).
IDLE_REFRESH_SECONDS = 10.0
#: Runs that Compare runs holds at most as new runs join it by themselves (a user may choose more): in a tab left
#: open through a lesson every new run joined, and 12 runs made the comparison unreadable (QA).
COMPARE_JOINED = 5
#: Runs Compare runs takes at most, chosen or joined: its "Select all" put 149 runs in one chart, with a legend of
#: 75 rows and 1.2 s per rerun after it (QA 17).
COMPARE_MAX = 10


def _jobs_seen() -> list[tuple[str, bool, bool]]:
    """The server's jobs as (id, has its run folder, finished): when this changes, a job was submitted, has
    made its run (which the runs table then lists) or has ended."""
    return [(job.job_id, job.run_id is not None, job.finished) for job in jobs.jobs()]


jobs_drawn = _jobs_seen()
listing_drawn = jobs.store.listing_key()  # runs and deleted runs: another browser's Rename, Delete or Restore
busy = not all(finished for _, _, finished in jobs_drawn)


def _retry_with_next_seed(job) -> None:
    """Button callback: stop ``job`` and queue it again with the next seed (a named run's name says which, so the
    two runs are told apart), which the Seed field then shows if the form holds that job's other settings (else
    the form would mix two trainings: this seed, another job's epochs and name)."""
    if job.stop.is_set():  # a second click before the redraw: the retry is queued already
        return
    cfg, seed = job.train_config, job.train_config.seed + 1
    suffix = f" (seed {seed})"
    name = f"{reporting.without_seed(cfg.name)[:RUN_NAME_MAX - len(suffix)]}{suffix}" if cfg.name else ""
    try:
        state["job_id"] = jobs.retry(job, owner=ui.owner_id(), priority=ui.is_teacher(), seed=seed, name=name).job_id
    except CatdogError as err:  # the server is shutting down
        _toast_in_live_view(ui.plain(str(err)), icon=":material/error:")
        return
    if replace(train_config, seed=cfg.seed) == cfg:  # the form as it was drawn (this run of the page's globals)
        state["train_seed"], state["train_name"] = seed, name


def _stop_job(job) -> None:
    """Button callback: stop ``job``, the one drawn beside the button (training: after its current batch; waiting:
    at once); only this browser's own, or any for the teacher (teacher mode)."""
    if not ui.may_stop(job):  # locked in another tab since the button was drawn
        _toast_in_live_view("Only the teacher, or the browser that started it, can stop this training.",
                            icon=":material/lock:")
        return
    jobs.stop(job, by="" if job.owner == ui.owner_id() else STOPPED_BY_TEACHER)
    _toast_in_live_view("Stopping after the current batch…" if job.state == "running" else "Cancelled.")


def _toast_in_live_view(text: str, icon: str | None = None) -> None:
    """Toast ``text`` when the live view is drawn next: a callback of a button inside that fragment must not draw
    (Streamlit logged "A fragment rerun was triggered with a callback that displays one or more elements" on every
    Stop, QA)."""
    state.setdefault("live_toasts", []).append((text, icon))


def _show_job(job) -> None:
    """Button callback: the live view follows ``job`` from now on; one that waits or has ended stays in view even
    while another of this browser's trains (:meth:`catdog.training.TrainingQueue.job_in_view`'s ``keep``); one
    that trains is followed until it ends, and then the view goes on to the browser's next training (QA)."""
    state["job_id"] = job.job_id
    state["kept_job"] = None if job.state == "running" else job.job_id


def _other_jobs_of_mine(shown) -> None:
    """One line per other queued or running job of this browser, each with Show and Stop: queueing model1 and
    then model2 must not leave model1 out of sight and out of reach. Above them, the browser's trainings that
    ended while the one shown waited or trained, or since it ended (one chosen with Show), with their result: the
    view moves on to the next training, and the class never saw model4's 97.0% (QA)."""
    mine = [job for job in jobs.active() if job.owner == ui.owner_id() and job is not shown]
    ended = [job for job in jobs.jobs() if job.owner == ui.owner_id() and job is not shown and job.ended
             and job.ended >= (shown.ended if shown.finished and shown.ended else shown.submitted)
             and not jobs.run_deleted(job)]
    if not mine and not ended:
        return
    st.caption("Your other trainings")
    for job in ended + mine:
        _job_row(job)


def _job_row(job, *, with_model: bool = False) -> None:
    """A line on ``job``: its name, where it stands or how it ended, Show, and Stop while it may be stopped."""
    text, show, stop = st.columns([6, 1, 1], vertical_alignment="center")
    # an error message as typed (file names hold "*" or "$"), cut to its line
    where = (ui.short_name(reporting.ended_text(job.state, job.result, job.error), 90) if job.finished
             else reporting.stopping_text(job.progress.snapshot()) if job.stop.is_set()  # not "training" (QA)
             else reporting.phase_text(job.progress.snapshot()) if job.state == "running"
             else jobs.queue_text(job))
    text.markdown(f"{ui.plain(jobs.job_name(job, with_model=with_model))} · {where}")
    show.button("Show", key=f"show_{job.job_id}", on_click=_show_job, args=(job,))
    if not job.finished and not job.stop.is_set() and reporting.offers_stop(job.progress.snapshot()):
        stop.button("Stop", key=f"stop_{job.job_id}", on_click=_stop_job, args=(job,))


def _others_jobs(shown) -> None:
    """For the teacher (teacher mode): one line per queued or running job of other browsers, each with Show and
    Stop, so that the trainings students queued can be cancelled before the lesson's demo."""
    if not ui.is_teacher():
        return
    others = [job for job in jobs.active() if job.owner != ui.owner_id() and job is not shown]
    if not others:
        return
    st.caption("Other browsers' trainings (you may stop them: teacher mode)")
    for job in others:
        _job_row(job, with_model=True)


@st.fragment(run_every=LIVE_REFRESH_SECONDS if busy else None)
def train_status():
    """One line beside Train on this browser's job while it waits or runs: on a projector the live view below
    starts under the fold (1280×720, 1024×768), so a click on Train showed nothing happening."""
    job = _job_in_view()
    if job is None or job.finished or job.owner != ui.owner_id():
        return
    snap = job.progress.snapshot()
    where = (reporting.stopping_text(snap) if job.stop.is_set()  # not "… left" above "stopping" (QA)
             else jobs.queue_text(job) if job.state == "queued"
             else reporting.progress_text(snap, short=True))
    below = "its network collapsed: see the note below ↓" if snap["collapsed"] else "live view below ↓"  # QA
    st.caption(f"{ui.short_name(jobs.job_name(job))} · {where} · {below}")


with train_row:
    train_status()


def _other_dataset_note(data_dir: str | None) -> None:
    """A caption when a run trained on another dataset folder than the sidebar's: a teacher's own 10 test images
    scored "100.0%" in a student's tab on the course data (QA 14)."""
    if root is not None and data_dir not in (None, str(root)):
        st.caption(f"Trained on the dataset folder {ui.plain(data_dir)}, not the one in the sidebar: its scores are "
                   "not comparable with those of the sidebar's dataset.")


def _curves(history, cfg, marker: int | None, side: int, cut: dict | None, *, key: str) -> None:
    """A run's training and validation curves (accuracy, loss) and the notes that help read them, the same for the
    live job and a run chosen under "Training and validation curves of a run".

    Args:
        history: its per-epoch rows (:meth:`catdog.training.RunInfo.history`).
        cfg: its :class:`catdog.config.TrainConfig`.
        marker: the first fine-tuning epoch to mark, or ``None``.
        side: its input size (pixels, square).
        cut: the epoch Stop cut short (``{"epoch", "batch", "batches"}``), or ``None``.
        key: prefix of the charts' widget keys.
    """
    a, b = st.columns(2)
    a.plotly_chart(charts.history_figure(history, "accuracy", fine_tune_start=marker), key=f"{key}_accuracy",
                   config=ui.PLOTLY_CONFIG)
    b.plotly_chart(charts.history_figure(history, "loss", fine_tune_start=marker), key=f"{key}_loss",
                   config=ui.PLOTLY_CONFIG)
    st.caption(reporting.curves_help(cfg))
    if off := charts.first_loss_off_top(history):  # a loss of 50 beside "0.693 is a 50/50 guess" (QA M)
        st.caption(reporting.first_loss_note(cfg.model, off[0], int(history[0]["epoch"])))
    if marker and len(history) >= marker and (drop := reporting.fine_tune_drop_note(
            history, marker, frozen_on_plain_images=cfg.fast and cfg.views == 1,
            layers_unfrozen=_fine_tuning_counts(side, cfg.fine_tune_at)["trainable"]
            > _summary("model4", side)[1]["trainable"])):
        st.caption(drop)
    if cut:
        st.caption(f"Open circle: Stop ended epoch {cut['epoch']} after batch {cut['batch']} of {cut['batches']}; "
                   "Keras still validated that partial epoch and logged it.")
    if hint := reporting.overfitting_hint(cfg.model, history):
        st.info(hint, icon=":material/school:")


@st.fragment(run_every=LIVE_REFRESH_SECONDS if busy else IDLE_REFRESH_SECONDS)
def live_job():
    """The job of this session, else the newest job of the server that did not fail; redrawn every
    :data:`LIVE_REFRESH_SECONDS` while a job is queued or running, every :data:`IDLE_REFRESH_SECONDS` otherwise."""
    for text, icon in state.pop("live_toasts", []):  # from this fragment's buttons (_toast_in_live_view)
        st.toast(text, icon=icon)
    followed = jobs.get(state.get("job_id"))
    job = _job_in_view()
    if followed is not None and jobs.run_deleted(followed):
        # another tab or browser deleted it: the view went on to another job without a word (QA), and then, under
        # this note alone, the other job read as the deleted one (QA)
        st.info(f"The run “{ui.short_name(jobs.job_name(followed, with_model=True), 60)}” you were following has "
                "been deleted (Rename or delete a run, in another tab or browser)."
                + (f" Below: “{ui.short_name(jobs.job_name(job, with_model=True), 60)}”, another training." if job
                   else ""), icon=":material/info:")
    if job is None:
        st.info("Nothing is training on this server now. Choose a model and press Train.")
        _redraw_if_jobs_changed()  # a job whose run was deleted ended unseen: the line beside Train went stale (QA)
        return
    snap = job.progress.snapshot()
    cfg = job.train_config
    shown_state = ("stopping" if job.stop.is_set() and not job.finished  # until its batch ends
                   else "cancelled" if job.state == "stopped" and not job.run_id  # in the queue: not "stopped" (QA)
                   else "starting" if jobs.starting(job)
                   else job.state)
    # cut as beside Train, a little longer: an 80-character name without spaces took three lines here (QA)
    st.subheader(f"{ui.short_name(jobs.job_name(job, with_model=True), 60)} · {shown_state}", anchor=False)
    _other_dataset_note(job.data_config.data_dir)
    if job.state == "queued":
        if jobs.starting(job):
            st.info("Starting…")
        else:
            ahead = any(other.priority and other.state == "queued" and jobs.position(other) < jobs.position(job)
                        for other in jobs.active()) and not job.priority
            st.info(f"Waiting in the queue: position {jobs.position(job)}. One training runs at a time on this server"
                    + ("; the teacher's trainings go first (teacher mode)." if ahead else "."))
    elif job.state == "running":
        st.progress(reporting.fraction_done(snap), text=reporting.progress_text(snap))
        if snap["batches"] and snap["phase"] == "training":
            st.progress(min(snap["batch"] / snap["batches"], 1.0), text=f"batch {snap['batch']}/{snap['batches']}")
    if job.owner != ui.owner_id() and ui.is_teacher() and not job.finished:  # taken for the demo (QA)
        st.caption("Another browser's training: your Stop ends it (teacher mode).")
    # not once told to stop: a second Stop did nothing, and the list's rows had none then (QA)
    if not job.finished and not job.stop.is_set() and ui.may_stop(job) and reporting.offers_stop(snap):
        # a callback with the job drawn: the job in view is worked out again on the click's rerun, and when another
        # tab had queued a job meanwhile, Stop cancelled that one instead of the training shown (QA)
        st.button("Stop", icon=":material/stop:", key="stop_job", on_click=_stop_job, args=(job,))
    teacher_stopped = job.stopped_by == STOPPED_BY_TEACHER
    if teacher_stopped:  # students read it as their own Stop, and pressed Train again (QA)
        st.info("The teacher " + ("cancelled this training before it started: it made no run." if not job.run_id
                                  else "stopped this training." if job.finished else "is stopping this training."),
                icon=":material/school:")
    if job.state == "failed":
        st.error(f"Training failed: {ui.plain(job.error or '')}", icon=":material/error:")
    for notice in snap["notices"]:
        st.warning(ui.plain(notice), icon=":material/warning:")
    history = snap["history"]
    # above the curves; not under a failure, whose message says why it ended (QA: "ended at chance level after only
    # 1 epoch" under "its run folder has been deleted")
    if job.state != "failed" and (hint := reporting.chance_hint(cfg.model, history, job.finished, snap["collapsed"],
                                                                stopped=job.state == "stopped",
                                                                one_class=snap["one_class"])):
        st.info(hint, icon=":material/lightbulb:")
        if not job.finished and job.owner == ui.owner_id() and reporting.offers_retry(cfg.model, history,
                                                                                       snap["collapsed"]):
            st.button(f"Stop and train again with seed {cfg.seed + 1}", icon=":material/replay:", key="retry_seed",
                      on_click=_retry_with_next_seed, args=(job,))
    if history:
        _curves(history, cfg, reporting.live_fine_tune_start(cfg, len(history), job.finished),
                job.data_config.image_size[0], snap["partial_epoch"], key="live")
    if job.result:
        a, b = st.columns(2)
        a.metric("Test accuracy", f"{job.result['accuracy']:.1%}",
                 help=f"The final model on the {job.result['images']} held-out test images, never seen in training. "
                      f"95% interval (Wilson): {reporting.interval_text(job.result)}: the accuracies consistent "
                      "with this score on this many images.")
        if job.result_best and job.result_best == {**job.result, "epoch": len(history)}:  # one model: said once (QA)
            b.caption(f"The last epoch ({len(history)}) had the best validation accuracy, so the best epoch's "
                      "checkpoint (best.keras: what stopping at the best epoch, early stopping, would have kept) "
                      "is this same model.")
        elif job.result_best:
            b.metric(f"Test accuracy, best epoch ({job.result_best['epoch']})", f"{job.result_best['accuracy']:.1%}",
                     help="The model as it was after the epoch with the best validation accuracy (best.keras): "
                          "what stopping there, early stopping, would have kept. 95% interval (Wilson): "
                          f"{reporting.interval_text(job.result_best)}.")
        with contextlib.suppress(CatdogError):  # the run deleted meanwhile
            if note := reporting.run_baseline_note(jobs.store.get(job.run_id)):  # model2's 51.0% read as learning
                st.info(note, icon=":material/school:")
    if job.state == "stopped" and not history and not (teacher_stopped and not job.run_id):  # said once (QA)
        st.warning("Stopped before the first epoch finished: nothing to score." if job.run_id else
                   "Cancelled before it started: it made no run.")
    _other_jobs_of_mine(job)
    _others_jobs(job)
    _redraw_if_jobs_changed()


def _redraw_if_jobs_changed() -> None:
    """A job was submitted or has ended since the page was drawn (in any tab, however short the job), or a run was
    renamed, deleted or restored (in another tab or browser: the runs table, Compare and Recently deleted stayed as
    they were, QA): redraw the whole page, which sets the live view's pace anew and lists the runs below in every
    open tab. (Only then: a full rerun while a user types would race with the typing.)"""
    if _jobs_seen() != jobs_drawn or jobs.store.listing_key() != listing_drawn:
        st.rerun()


with st.container():  # one slot, whatever the live view draws: the page below keeps its place (see Runs)
    live_job()

# --------------------------------------------------------------------------- runs
st.divider()
st.subheader("Runs", anchor=False)
if memory := reporting.memory_note(*reporting.process_memory(), trains_here=training_in_server()):
    st.warning(memory, icon=":material/memory:")
runs, unreadable = jobs.store.scan()
# One slot for the listing and the comparison, whose parts come and go (a note, a caption, the chart): when
# they shifted the expander below, a job started or ended anywhere folded it and dropped a half-typed name (QA).
with st.container():
    ui.unreadable_runs_note(unreadable)
    if not runs:
        st.caption(f"No runs yet in {reporting.code_span(jobs.store.root)}.")
        st.stop()
    rows = reporting.run_rows(runs)
    st.dataframe(
        ui.percent_table(rows, ("best validation accuracy", "test accuracy", "test accuracy (best epoch)")),
        hide_index=True,
        placeholder="–",  # not Streamlit's grey "None" in a cell with no value: a run not (yet) scored, say
        column_order=[k for k in rows[0] if k != "id"],
        column_config={
            # pinned: at 1024 px the status and later columns need scrolling sideways, and the name stays in view
            # 130 px: "3 Dec 00:48:14" fits; 200 px ("medium") took a third of the table at 1024 px (QA), longer
            # names are cut and shown whole on hover
            # 170 px since QA 17: at 130 "course model4-finetu" ×4 hid the "(seed n)" that tells such rows apart
            "run": st.column_config.TextColumn(pinned=True, width=170),
            # fixed: sized by itself, it showed "model4 (" while a model4 run trained (QA)
            "model": st.column_config.TextColumn(
                width=145, help="fast: fast mode (cached MobileNetV2 features), ×K with K augmented views of each "
                                "training image; FT n: n fine-tuning epochs after the frozen ones."),
            "best validation accuracy": st.column_config.NumberColumn(
                help="The highest validation accuracy of any epoch: that epoch's checkpoint (best.keras), not the "
                     "final model the test accuracy scores. The best of many noisy epochs, so a little optimistic."),
            # after the course's columns, which fit the 820 px of a table at 1280 px only without it
            "status": st.column_config.TextColumn(width=270),  # "stopped: epoch 2, batch 30/63 · collapsed"
            "dataset": st.column_config.TextColumn(
                help="The dataset folder the run trained on, and its classes: scores on different datasets do not "
                     "compare."),
            "test accuracy": st.column_config.NumberColumn(
                help="The final model (after the last epoch) on the held-out test split."),
            "test 95% interval": st.column_config.TextColumn(
                help="The accuracies consistent with this score on this many test images (95% Wilson score "
                     "interval): on 200 images each image is 0.5%. It covers the luck of which images were drawn, "
                     "not the spread between training seeds; when two runs' intervals overlap, their difference "
                     "may be chance."),
            "test accuracy (best epoch)": st.column_config.NumberColumn(
                help="The model as it was after the epoch with the best validation accuracy (best.keras), on the "
                     "test split: what stopping there, early stopping, would have kept."),
            "wall time (s)": st.column_config.NumberColumn(
                format="%,.0f", help="Seconds from the start of the training (after any wait in the queue) to its test "
                                     "score."),
            "params": st.column_config.NumberColumn(
                format="%,d", help="All of the model's weights (scalars); model4's frozen MobileNetV2 included."),
            "trainable params": st.column_config.NumberColumn(
                format="%,d", help="The weights that training changes: model4's head, and the MobileNetV2 layers a "
                                   "fine-tuned run unfroze."),
        },
    )
    if training := [run for run in runs if run.status == "running"]:  # its status column: off-screen at 1280 px
        st.caption(f"“{ui.short_name(training[0].name)}” is training: its row fills in when it ends.")
    by_id = {run.run_id: run for run in runs}
    with_curves = [run.run_id for run in runs if run.has_epochs]  # a run joins once its first epoch has ended
    labels = reporting.distinct_labels(runs)
    ui.ids_from_labels("compare_runs", labels)  # a run that finished or was renamed stays compared
    # at first the best run of each model (a fine-tuned model4 apart), as the course compares them; then new runs
    # join the comparison, up to COMPARE_JOINED runs
    # teacher mode: the teacher's runs, those of no browser (prepared) and this browser's own (ui.shared_runs)
    shared = [run.run_id for run in ui.shared_runs([by_id[rid] for rid in with_curves])]

    def best_of_each_model() -> list[str]:  # runs that ended with a test score before running or interrupted ones
        classes, scored = splits and tuple(splits.class_names), ("done", "stopped")
        ranked = [run for ended in (True, False) for run in reporting.rank_runs(
            [by_id[rid] for rid in shared or with_curves if (by_id[rid].status in scored) == ended], classes)]
        return [run.run_id for run in reporting.best_per_model(ranked, fine_tuned_apart=True)]

    # runs restored since this session last drew the page: old runs come back, not new ones (QA)
    restored, state["_trash_drawn"] = state.get("_trash_drawn", frozenset()) - listing_drawn[1], listing_drawn[1]
    pushed_out, gone = ui.keep_selection("compare_runs", with_curves, first=best_of_each_model, limit=COMPARE_JOINED,
                                         returning=restored, joining=shared)
    # said while in the trash, restorable; not for a run this tab deleted, which Restore still brings back
    gone = [rid for rid in gone if rid in listing_drawn[1] and rid not in state.get("deleted_here", ())]
    picked = st.multiselect("Compare runs", with_curves, key="compare_runs", format_func=labels.get,
                            max_selections=COMPARE_MAX, select_all=False, placeholder="Choose runs to compare",
                            on_change=ui.forget_gone, args=("compare_runs",),
                            help="Runs with at least one finished epoch; a run failed or stopped before that has no "
                                 "curves to compare. At first the best run of each model (by validation accuracy, "
                                 "as the Classifier picks them; fine-tuned model4 runs count as a model of their "
                                 "own); new runs join by "
                                 f"themselves, up to {COMPARE_JOINED} runs in all; you may choose more, up to "
                                 f"{COMPARE_MAX}.")
    if gone:  # a run compared left without a word when someone deleted it (QA)
        st.info(f"{len(gone)} of the runs you compared {'has' if len(gone) == 1 else 'have'} been deleted (Rename or "
                "delete a run, perhaps by someone else): Recently deleted, below, restores "
                f"{'it' if len(gone) == 1 else 'them'}, back into this comparison.", icon=":material/info:")
    if pushed_out:  # the best run left without a word (QA)
        them = "it" if len(pushed_out) == 1 else "them"
        left = ", ".join(f"“{ui.plain(labels[r])}”" for r in pushed_out)
        st.caption(f"New runs joined the comparison and {left} left it, which keeps {COMPARE_JOINED} runs at most "
                   f"by itself: choose {them} again above to compare {them} too.")
    # not the one training its first epoch: it joins when that ends, and the note came with every Train (QA)
    if without := sum(1 for run in runs if not run.has_epochs and run.status != "running"):
        st.caption(f"Not offered: {without} run{'s' if without > 1 else ''} that ended before "
                   f"{'their' if without > 1 else 'its'} first epoch did (failed or stopped), so with no curves.")
    if picked:
        # a colour per run, kept in its run.json: by its place among those compared, a run changed colour when
        # another joined or left, and "the orange line" was another run in each tab (QA)
        colours = curve_colours(runs)
        curves = {labels[rid]: by_id[rid].history() for rid in sorted(picked, key=colours.get)}
        # A diamond on each fine-tuned run's first fine-tuning epoch: the live chart's dashed line, once per run.
        # Only where that epoch was logged: a run that failed as fine-tuning began has none, nor a diamond (QA).
        tuned = {labels[rid]: start for rid in picked if (start := by_id[rid].fine_tune_start)
                 and any(row["epoch"] == start for row in curves[labels[rid]])}
        st.plotly_chart(charts.compare_figure(curves, styles={labels[rid]: colours[rid] for rid in picked},
                                              fine_tune_starts=tuned),
                        key="compare_curves", config=ui.PLOTLY_CONFIG)
        if tuned:
            st.caption("Diamond: the first fine-tuning epoch, where MobileNetV2's top layers start to train with "
                       "the head.")
        if hidden := charts.hidden_runs(curves):  # a legend entry with no line to be seen (QA)
            under = "; ".join(f"“{ui.plain(low)}” lies under “{ui.plain(top)}”" for low, top in hidden.items())
            st.caption(f"{under}: the same validation accuracy and loss in each of its epochs (the same data, "
                       "settings and seed train alike, and a fine-tuned run begins with its frozen phase). Click a "
                       "run in the legend to hide its lines.")
        datasets = sorted({reporting.dataset_text(by_id[rid].record.get("data_config"), by_id[rid].class_names)
                           or "unknown" for rid in picked})
        if len(datasets) > 1:  # a teacher's own 10 images beside the course's 800 on the same axes (QA 14)
            st.warning(f"These runs trained on {len(datasets)} different datasets ({ui.plain('; '.join(datasets))}): "
                       "their curves and scores do not compare. The runs table's dataset column says which is "
                       "which.", icon=":material/warning:")
        if any(by_id[rid].record.get("partial_epoch") for rid in picked):
            st.caption("Open marker (a circle, or a diamond on a first fine-tuning epoch): the last epoch of a run "
                       "stopped mid-epoch, validated after the batches it ran (the status column says how many).")

# The course's lesson on model1, overfitting, is its training curve pulling away from its validation curve, which
# only the live view drew: a run trained before class, or before a restart, showed its validation curves alone (QA M)
with st.expander("Training and validation curves of a run", key="curves_expander"):
    ui.ids_from_labels("curves_run", labels)
    if state.get("curves_run") not in with_curves:  # not chosen yet, or deleted meanwhile: the newest
        state["curves_run"] = with_curves[0] if with_curves else None
    if with_curves:
        curves_run = by_id[st.selectbox("Run", with_curves, format_func=labels.get, key="curves_run",
                                        help="Any run with a finished epoch; the live view above shows the "
                                             "training under way.")]
        _other_dataset_note((curves_run.record.get("data_config") or {}).get("data_dir"))  # as the live view (QA N)
        cut = curves_run.record.get("partial_epoch")
        _curves(curves_run.history(), curves_run.train_config, curves_run.fine_tune_start, curves_run.image_size[0],
                cut if isinstance(cut, dict) and {"epoch", "batch", "batches"} <= cut.keys() else None, key="run")
    else:
        st.caption("No run has finished an epoch yet.")


#: Why a student's browser may not rename, delete or restore a run (teacher mode, :mod:`catdog.teacher`).
_NOT_YOURS = ("Teacher mode is on: only the teacher, or the browser whose training made a run, can rename, delete "
              "or restore it.")


def _manage(action: str) -> None:
    """Rename/Delete callback: runs before the page is drawn again, so every list already shows the change."""
    try:
        try:
            run = jobs.store.get(state.get("manage_run"))
        except CatdogError:  # deleted since this page was drawn (another tab, another user)
            state["manage_run"] = None  # said by this error, not once more by the expander's note
            raise CatdogError("The run you had chosen has been deleted meanwhile (in another tab, or by someone "
                              "else): nothing was renamed or deleted. Choose a run again.") from None
        if not ui.may_manage(run.run_id):  # locked in another tab since the buttons were drawn
            raise CatdogError(f"{_NOT_YOURS} “{run.name}” was not {'renamed' if action == 'rename' else 'deleted'}.")
        if action == "rename":
            run = jobs.store.rename(run.run_id, state.get("manage_name", ""))
            state["manage_name"] = run.name  # as it is now (cut to the longest name kept, say)
            state["manage_run"] = run.run_id  # set anew, so that the browser shows the run's new label
            twins = sum(1 for other in jobs.store.list() if other.name == run.name and other.run_id != run.run_id)
            st.toast(f"Renamed to “{ui.short_name(run.name)}”." + (  # legends then told them apart by score (QA)
                f" {twins} other run{'s have' if twins > 1 else ' has'} this name too: the lists add when each "
                "started." if twins else ""), icon=":material/edit:")
        else:
            state["delete_popover"] = False  # closed, also on an error: it stayed open and empty, or over it (QA)
            purged = jobs.store.delete(run.run_id)
            state["manage_run"], state["manage_name"] = None, ""  # not "the run you had chosen has been deleted"
            if (followed := jobs.get(state.get("job_id"))) is not None and followed.run_id == run.run_id:
                state["job_id"] = None  # deleted here: not "… you were following has been deleted" below
            state["restore_run"] = run.run_id  # ready to be restored at once
            state.setdefault("deleted_here", set()).add(run.run_id)  # no "… has been deleted" note for it
            name = ui.short_name(run.name)
            # short: a longer toast hid the run lost for good under "view more" (QA)
            st.toast(f"Deleted “{name}”; " + ", ".join(f"“{ui.short_name(lost)}”" for lost in purged)
                     + f" left the full trash for good. Recently deleted restores “{name}”." if purged else
                     f"Deleted “{name}”. Restore brings it back: Rename or delete a run, Recently deleted.",
                     icon=":material/delete:")
    except CatdogError as err:
        state["manage_error"] = str(err)


def _restore() -> None:
    """Restore callback: bring the deleted run chosen under "Recently deleted" back, before the page is drawn
    again, so that every list shows it."""
    run_id, state["restore_run"] = state.get("restore_run") or "", None
    if not ui.may_manage(run_id):  # locked in another tab since the button was drawn
        state["manage_error"] = f"{_NOT_YOURS} Nothing was restored."
        return
    try:
        run = jobs.store.restore(run_id)
    except CatdogError as err:
        try:
            back = jobs.store.get(run_id)
        except CatdogError:
            state["manage_error"] = str(err)
        else:  # the run's id in a message, and "restored or removed" as if either could be (QA)
            state["manage_error"] = (f"“{back.name}” has been restored already (in another tab, or by someone "
                                     "else): it is in the lists again.")
    else:
        state.get("deleted_here", set()).discard(run.run_id)  # deleted elsewhere next time: said
        st.toast(f"Restored “{ui.short_name(run.name)}”.", icon=":material/restore_from_trash:")


def _fill_in_name() -> None:
    """The run picker's ``on_change``: "New name" starts from the chosen run's name, to be edited (it started
    empty, QA); a run without a name of its own gives an empty field."""
    try:
        state["manage_name"] = jobs.store.get(state.get("manage_run")).record.get("name") or ""
    except CatdogError:  # none chosen, or deleted meanwhile: the page says so when it is drawn
        state["manage_name"] = ""


# keyed, as the page's other expanders: an expander without a key is told apart by its place, and it folded shut
# (hiding what was typed in it) whenever a message above it came or went, e.g. an error on the form (QA)
with st.expander("Rename or delete a run", key="manage_expander"):
    ui.ids_from_labels("manage_run", labels)  # renamed, finished or scored since it was chosen: still chosen
    if (chosen := state.get("manage_run")) is not None and chosen not in by_id:
        # Streamlit would quietly choose the newest run instead, and the next Delete removed that one (QA)
        state["manage_run"] = None
        st.info("The run you had chosen has been deleted (in another tab, or by someone else): Recently deleted, "
                "below, restores it. Choose a run again.", icon=":material/info:")
    deleted = jobs.store.deleted()  # newest first, as Recently deleted lists them
    # teacher mode: a student's own runs only; choosing each run to find the Rename that is on was guesswork (QA)
    yours = ui.manageable(list(by_id))
    if state.get("manage_run") not in (None, *yours):  # locked since, in another tab
        state["manage_run"], state["manage_name"] = None, ""
    if len(yours) < len(by_id):
        st.caption(f"{_NOT_YOURS} " + (f"Listed: the {len(yours)} run{'' if len(yours) == 1 else 's'} of your own "
                                       f"trainings, of {len(by_id)}." if yours else
                                       "You have no runs of your own yet: they appear here once you train one."),
                   help="The teacher unlocks teacher mode in the sidebar.")
    picked_run = st.selectbox("Run", yours, format_func=labels.get, key="manage_run", index=None,
                              placeholder="Choose a run", on_change=_fill_in_name)
    ui.run_name_input(st, "New name", key="manage_name")
    a, b = st.columns(2)
    a.button("Rename", key="rename_run", on_click=_manage, args=("rename",), disabled=picked_run is None)
    with b.popover("Delete", icon=":material/delete:", disabled=picked_run is None, key="delete_popover",
                   on_change="rerun"):
        if picked_run is not None and by_id[picked_run].status == "running":  # refused by RunStore.delete (QA)
            st.markdown(f"**{ui.plain(by_id[picked_run].name)}** is training now: it can be deleted once its "
                        "training has ended (at its last epoch, or with Stop by whoever started it).")
        elif picked_run is not None:
            st.markdown(f"Delete **{ui.plain(by_id[picked_run].name)}** with its models, curves and test "
                        f"scores? It can be restored for {TRASH_DAYS} days under Recently deleted, below (the "
                        f"{TRASH_KEEP} runs deleted last).")
            if dropped := jobs.store.next_removed(deleted):  # ten throwaway deletes took a teacher's run unsaid (QA)
                oldest, when = dropped
                st.markdown(f"The trash is full: **{ui.plain(oldest.name)}**, deleted "
                            f"{reporting.time_text(when)}, will be removed for good.")
            st.button("Delete", key="delete_run", type="primary", on_click=_manage, args=("delete",))
    # a Delete on a class's shared server, by anyone, undone (QA H: a student's Delete took the teacher's runs)
    yours_deleted = set(ui.manageable([run.run_id for run, _ in deleted]))
    if deleted_yours := [(run, when) for run, when in deleted if run.run_id in yours_deleted]:
        restorable = reporting.deleted_labels(deleted_yours)
        if state.get("restore_run") not in restorable:  # restored or removed for good meanwhile
            state["restore_run"] = None
        st.markdown("**Recently deleted**")
        c, d = st.columns([3, 1], vertical_alignment="bottom")
        c.selectbox("Deleted run", list(restorable), format_func=restorable.get, key="restore_run", index=None,
                    placeholder="Choose a deleted run",
                    help=f"Deleted runs are kept for {TRASH_DAYS} days, the {TRASH_KEEP} deleted last; then they are "
                         "removed for good.")
        d.button("Restore", key="restore_button", icon=":material/restore_from_trash:", on_click=_restore,
                 disabled=state.get("restore_run") is None)
if error := state.pop("manage_error", None):  # under the expander, seen even if it is folded
    st.error(ui.plain(error), icon=":material/error:")
