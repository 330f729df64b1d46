"""Classifier: drop images, see each verdict, and let the model explain itself."""

from pathlib import Path

import streamlit as st

from catdog import data, explain, reporting, teacher, ui
from catdog.charts_explain import confusion_figure
from catdog.errors import CatdogError
from catdog.images import UPLOAD_HELP, UPLOAD_TYPES
from catdog.predict import predictions_csv, probability_text, verdict_rows

COMPARE_MAX = 5  # models compared at once: each is held in memory (ui.cached_model keeps 7)
#: Seconds between looks for runs that have finished or gone since the page was drawn (the Training page's idle pace).
NEW_RUNS_SECONDS = 10.0

ui.page_setup()
st.title("Classifier")
st.caption("Step 4 · drop your own cat and dog photos: a trained model gives its verdict and the softmax "
           "probability of each class, and Grad-CAM shows which regions raised the score of its answer most.")



def trained_runs():
    """The runs with a model to use, and the unreadable run folders: runs that trained at least one epoch (a model4
    stopped during feature extraction has an untrained head)."""
    found, unreadable = ui.queue().store.scan()
    return [r for r in found if r.model_path.is_file() and r.status in ("done", "stopped") and r.has_epochs], unreadable


config = ui.data_config()  # the sidebar's dataset settings, on this page too before a model exists (QA)
runs, unreadable = trained_runs()


@st.fragment(run_every=NEW_RUNS_SECONDS)
def notice_new_runs():
    """Draw the page again when a run has finished, gone or been renamed since it was drawn: a student waiting here
    for their model saw nothing happen until they reloaded (QA), and a column kept a run's old name (QA)."""
    if {(r.run_id, r.name) for r in trained_runs()[0]} != {(r.run_id, r.name) for r in runs}:
        st.rerun()


notice_new_runs()
ui.unreadable_runs_note(unreadable)
if not runs:
    if training := [job for job in ui.queue().active() if job.state == "running"]:  # not "Train one" then (QA)
        st.info(f"No trained model yet: {ui.plain(ui.queue().job_name(training[0], with_model=True))} is training "
                "now (Training page). Its model appears here when the training ends.", icon=":material/hourglass:")
    else:
        st.info("No trained model yet. Train one on the Training page first.")
    st.stop()
# runs of the sidebar's dataset first, then the best validation accuracy (on few images: further down), guessers last
dataset_classes = ui.dataset_class_names(config)
runs = reporting.rank_runs(runs, dataset_classes)
by_id = {run.run_id: run for run in runs}
# teacher mode: the class's runs (the teacher's, the prepared ones) and the browser's own come first by default; a
# student's 2-epoch try took the place of the prepared model in every new tab (QA)
shared = ui.shared_runs(runs)
if teacher.enabled() and shared and st.session_state.get("classifier_run") is None:
    st.session_state["classifier_run"] = shared[0].run_id
# the order's score, then the test score; "· classes …" after a run of other classes
labels = reporting.distinct_labels(runs, validation=True, class_names=dataset_classes)
ui.ids_from_labels("classifier_run", labels)  # renamed or scored meanwhile: still the chosen run
ui.ids_from_labels("classifier_compare", labels)
if (chosen := st.session_state.get("classifier_run")) is not None and chosen not in by_id:
    # set, not removed: the select box would switch models without a word, and the browser, told nothing, sent the
    # deleted run's label back on the next page switch, which brought this notice back on the next visit (QA)
    st.session_state["classifier_run"] = next(iter(by_id))
    st.info("The run you had chosen has been deleted (on the Training page, perhaps by someone else; Recently "
            "deleted there restores it): the verdicts below come from the first run of the list.",
            icon=":material/info:")
# the picker as wide as a short button allows: at [2, 1] labels lost their test score at 1024 px (QA 16)
left, right = st.columns([5, 1])
run = by_id[left.selectbox("Model (trained run)", list(by_id), format_func=labels.get,
                           key="classifier_run", persist_state="session",
                           help="Runs trained on the classes of the dataset in the sidebar first (others end "
                                "in their classes), each group by the final model's validation accuracy (\"final "
                                "val\": this page uses the model after the last epoch, whose score may be below the "
                                "runs table's best validation accuracy, another epoch's), ranked by the lower end of "
                                "its 95% interval, so a score measured on few images ranks lower; runs that stayed "
                                "at chance level last; the first is chosen. Not by test accuracy: a test split that "
                                "picks the model no longer measures it on unseen images.")]
right.download_button(".keras", data=run.model_path.read_bytes, file_name=f"{run.run_id}.keras",
                      mime="application/octet-stream", icon=":material/download:",
                      help="Download the run's final model as a .keras file (Keras 3: keras.models.load_model).")
ui.load_run_model(run, others=len(runs) - 1)  # a damaged file: said, with what to do
class_names = run.class_names  # those of the dataset the run trained on, in the order of its two logits
if dataset_classes is not None and class_names != dataset_classes:
    st.info(f"This model was trained on another dataset, with the classes {' and '.join(map(ui.plain, class_names))}: "
            f"its verdicts name those, not {' and '.join(map(ui.plain, dataset_classes))} (the dataset in the "
            "sidebar).", icon=":material/info:")
if reporting.guesses(run.history(), run.record.get("collapsed")):
    # two cases: the Training page told a run that did not collapse that it "gave different answers" (QA 15)
    st.warning(("This model collapsed while it trained (its network was seen giving one answer to every image it "
                "was checked on): it answers the same class for almost every image"
                if run.record.get("collapsed") else
                "This model stayed at chance level while it trained (validation accuracy never above 52%): its "
                "answers are no better than guessing")
               + ", so its verdicts are guesses (and its Grad-CAM maps show nothing it learned). Pick another run, "
               "or see the Training page for why model1/model2 can get stuck.", icon=":material/warning:")

ui.defaults({"classifier_alpha": 0.45})
# keyed, so the open tab stays open when a note above the tabs comes or goes (another model chosen: QA)
classify_tab, evaluate_tab = st.tabs(["Classify images", "Test-split evaluation"], key="classifier_tab",
                                     on_change="rerun")

with classify_tab:
    uploads = st.file_uploader(
        "Drop images here", type=UPLOAD_TYPES, accept_multiple_files=True,
        key="classifier_uploads", help=UPLOAD_HELP,
        on_change=ui.keep_uploads, args=("classifier_uploads",),
    )
    files = ui.uploaded_files("classifier_uploads", uploads)  # also those of the last visit
    sizes = ui.input_sizes(runs)  # models at 160 and 224 px: each file decoded once for both
    a, b, c = st.columns(3)
    if a.toggle("Use the camera", key="classifier_camera_on", persist_state="session"):
        shot = st.camera_input("Take a picture", key="classifier_camera")
        if shot is not None:
            files.append(("camera.jpg", shot.getvalue()))
    files = ui.distinct_names(files)  # two "IMG_0001.jpg" from two folders gave rows no one could tell apart (QA)
    show_cam = b.toggle("Show Grad-CAM", key="classifier_gradcam", persist_state="session",
                        help="Grad-CAM colours the regions that raised the predicted class's logit the most: "
                             "red most, then yellow and green, cyan and blue little or not at all. Its map is as "
                             "coarse as the last convolution layer's grid (model4: 5×5 at 160 px, 7×7 at 224), "
                             "hence the blobs. Each map is scaled to its own strongest region, so even a blank "
                             "picture usually gets red somewhere: red marks what raised the answer's score most, "
                             "not that it found a cat or dog.")
    alpha = c.slider("Heatmap opacity", 0.0, 1.0, step=0.05, key="classifier_alpha", persist_state="session",
                     disabled=not show_cam)
    if files:
        with ui.user_errors():
            predictions = ui.run_verdicts(run, files, sizes)  # cached: the opacity slider classifies nothing again
        # which uploads are images of the dataset the run trained on (the one in the sidebar)
        root, splits = ui.quiet_splits(config)  # its problems are said on the evaluation tab
        trained_here = root is not None and str(root) == (run.record.get("data_config") or {}).get("data_dir")
        copies = data.find_copies([content for _, content in files], splits) if trained_here else [None] * len(files)
        trained_on = run.record.get("data_config") or {}
        same_split = trained_here and all(trained_on.get(key) == getattr(config, key)
                                          for key in ("validation_size", "test_size", "seed"))
        for i, prediction in enumerate(predictions):
            if i % 3 == 0:  # a row of three: the cards of a row start level (a tall photo pushed the next ones down)
                columns = st.columns(3)
            with columns[i % 3]:
                if prediction.error:
                    st.error(ui.plain(prediction.error), icon=":material/error:")
                    continue
                with ui.user_errors():
                    # cut: a 200-character name took ten lines under its picture (QA)
                    upload = ui.cached_upload(*files[i], sizes)
                    shown, caption = upload.image, ui.short_name(prediction.name, 48)
                if show_cam:
                    try:  # per picture: one failed map must not hide the table and the comparison below (review)
                        pixels, heatmap = ui.cached_grad_cam(str(run.model_path), ui.model_version(run), files[i][1])
                    except CatdogError as err:
                        st.warning(ui.plain(str(err)), icon=":material/warning:")
                    else:
                        shown = explain.overlay(pixels, heatmap, alpha)
                        caption += f" · on the model's {pixels.shape[1]}×{pixels.shape[0]} input"  # why it is square
                st.image(shown, caption=caption, width="stretch")
                st.subheader(f"{ui.plain(prediction.label)} · "  # no anchor link beside the verdict (QA)
                             f"{probability_text(prediction.probabilities[prediction.label])}", anchor=False)
                for name, probability in prediction.probabilities.items():
                    st.progress(probability, text=f"{ui.plain(name)}: {probability_text(probability)}")
                if copies[i]:  # which split, where the run's split is the sidebar's (QA M)
                    split = data.split_of(copies[i], splits) if same_split else None
                    st.caption(reporting.copy_note(copies[i], root, split, split and len(getattr(splits, split))))
                if note := reporting.tiny_note(upload.size, run.image_size):
                    st.caption(note)
        # probabilities as the verdicts above give them (">99.9%", never a certain "100.0%": a progress column's
        # printf format rounded 0.9999999 up, QA); the message without the file name that begins it, which the
        # first column gives (cut off at 1024 px, QA)
        table = [{"file": p.name, "verdict": p.label or "—",  # "label" read as the true class (QA 16)
                  **{c: probability_text(p.probabilities[c]) if c in p.probabilities else None for c in class_names},
                  "message": (p.error or "").removeprefix(f"{p.name}: ")} for p in predictions]
        st.dataframe(table, hide_index=True, placeholder="–", column_config={
            **{c: st.column_config.TextColumn(c, width="small", help=f"Softmax probability of {ui.plain(c)}.")
               for c in class_names},
            "file": st.column_config.TextColumn(width="medium"),  # a long name pushed the bars off at 1024 px
            "message": st.column_config.TextColumn(width="large"),
        })
        if any(p.label for p in predictions):  # a 1×1 image or a test pattern got a confident "cats" (QA)
            st.caption(f"The model can only answer {' or '.join(map(ui.plain, class_names))}: every picture gets one "
                       "of them, even one that shows neither, because its two probabilities always add up to 100% "
                       "(they are the softmax of the model's two outputs, its logits). A softmax probability is not "
                       "the chance that the verdict is right: a model right on 55% of the test images can still "
                       "say >99.9%. Judge a model by its test accuracy.")
        st.download_button("Download results (CSV)", predictions_csv(predictions, class_names, run),
                           file_name="catdog_predictions.csv", mime="text/csv", icon=":material/download:")
        if len(runs) > 1:
            st.subheader("Every model's verdict", anchor=False)
            if gone := ui.follow_default("classifier_compare", list(by_id),
                                         [r.run_id for r in reporting.best_per_model(
                                             shared or runs, dataset_classes, fine_tuned_apart=True)]):
                st.info(f"{len(gone)} of the runs you compared {'has' if len(gone) == 1 else 'have'} been deleted (on "
                        "the Training page, perhaps by someone else; Recently deleted there restores "
                        f"{'it' if len(gone) == 1 else 'them'}).", icon=":material/info:")
            compared = st.multiselect(
                "Models to compare", list(by_id), format_func=labels.get, key="classifier_compare",
                persist_state="session", on_change=ui.mark_own_choice, args=("classifier_compare",),
                max_selections=COMPARE_MAX, select_all=False, placeholder="Choose trained runs",
                help="At first, the best run of each model (model1 … model4, and a fine-tuned model4 as a model of its "
                     "own, as on the Training page), following newer and better runs until "
                     f"you change the choice; at most {COMPARE_MAX} (each is loaded into memory).",
            )
            titles, verdicts = reporting.verdict_titles(runs), {}
            for rid in compared:
                try:
                    verdicts[titles[rid]] = ui.run_verdicts(by_id[rid], files, sizes)
                except CatdogError as err:  # one broken run must not hide the others' verdicts
                    st.warning(f"{ui.plain(labels[rid])}: {ui.plain(ui.run_error_text(by_id[rid], err))} Take it "
                               "out of the comparison, or delete it on the Training page.", icon=":material/warning:")
            if verdicts:
                st.dataframe(
                    verdict_rows([name for name, _ in files], verdicts), hide_index=True, placeholder="–",
                    column_config={
                        # widths that show the file and the four models compared at first without fine-tuning
                        # (the best of model1 … model4) in the 564 px of a table at 1024 px: at 140 px the fourth,
                        # model4, often the best, was off screen (QA 18); a fine-tuned model4, fifth, scrolls into
                        # view there (whole at 1280 px); a verdict ("dogs · 98.4%") fits 105 px, a longer title is
                        # cut and shown whole on hover
                        "file": st.column_config.TextColumn(pinned=True, width=110),  # long names hid the rest
                        **{titles[rid]: st.column_config.TextColumn(help=labels[rid], width=105) for rid in compared
                           if titles[rid] in verdicts}})
                if note := reporting.verdict_titles_note([by_id[rid] for rid in compared]):
                    st.caption(note)
            elif not compared:
                st.caption("Choose trained runs above to see their verdicts side by side.")
with evaluate_tab:
    root, splits = ui.prepared_splits(config)
    st.caption(f"The {len(splits.test)} test images of the split in the sidebar (split seed {splits.seed}). No "
               "model trains on test images. For a run made with other split settings some of them were its "
               "validation images: it never trained on them either, but if the run (or its epoch) was chosen by "
               "its validation score, its score here may be a little optimistic.")
    if tuple(splits.class_names) != class_names:
        st.error(f"This run was trained on the classes {', '.join(map(ui.plain, class_names))} (its two outputs, in "
                 f"that order), the dataset in the sidebar has {', '.join(map(ui.plain, splits.class_names))}: its "
                 "test split cannot score this model. Pick a run trained on this dataset, or change the dataset "
                 "folder in the sidebar.", icon=":material/error:")
        st.stop()
    # once pressed, each model chosen is evaluated too: comparing two models took a click on Evaluate each (QA)
    if st.button("Evaluate on the test split", icon=":material/fact_check:", key="evaluate") or \
            st.session_state.get("evaluated") == splits.test:
        st.session_state["evaluated"] = splits.test
        with ui.user_errors():  # the run deleted meanwhile
            evaluation = ui.cached_evaluation(str(run.model_path), ui.model_version(run), splits.test,
                                              splits.class_names)
        correct = int(evaluation.confusion.trace())
        a, b = st.columns(2)  # at 1024 px two fifths cut the per-class table's "support" column
        a.metric("Test accuracy", f"{evaluation.accuracy:.1%}")
        a.caption(f"{correct} of {evaluation.size} test images correct.")
        if note := reporting.baseline_note(evaluation.accuracy, evaluation.size, data.majority_baseline(splits)[1]):
            a.info(note, icon=":material/school:")
        a.dataframe(ui.percent_table([{"class": name, **stats} for name, stats in evaluation.per_class.items()],
                                     ("precision", "recall")), hide_index=True, column_config={
            "precision": st.column_config.NumberColumn(
                help="Of the test images the model called this class, the share that are of it."),
            "recall": st.column_config.NumberColumn(
                help="Of the test images of this class, the share the model found."),
            "support": st.column_config.NumberColumn(help="Test images of this class.")})
        b.plotly_chart(confusion_figure(evaluation), key="confusion", config=ui.PLOTLY_CONFIG)
        wrong = evaluation.misclassified()
        st.subheader(f"Misclassified test images ({len(wrong)})", anchor=False)
        names = evaluation.class_names
        with ui.user_errors():  # a file moved or deleted since the split was read
            misclassified = [ui.as_display(ui.cached_image(m.path)) for m in wrong[:24]]
        ui.image_grid(
            misclassified,
            # with the file: a teacher could not name or find the picture (QA)
            [f"{Path(m.path).name} · true {names[m.true_label]} · said "
             f"{names[m.predicted_label]} {probability_text(m.confidence)}" for m in wrong[:24]],
            columns=4,  # 6 wrapped the captions inside the file names on a projector at 150 % (QA 16)
        )
        if len(wrong) > 24:
            st.caption(f"The 24 most confidently wrong of {len(wrong)} are shown.")
