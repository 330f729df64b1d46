"""Augmentation: preview RandomFlip and RandomRotation with the layers the models use."""

import numpy as np
import streamlit as st

from catdog import augment, data, ui
from catdog.config import TrainConfig, range_problem
from catdog.images import UPLOAD_HELP, UPLOAD_TYPES, decode_image, to_model_input
from catdog.models import default_input_size, resolve_mobilenet_weights

ui.page_setup(status=False)  # the line on a training goes under this page's controls in the sidebar
st.title("Augmentation")
st.caption("Step 2 · random flips and rotations show the model another version of each image every epoch, "
           "which fights overfitting. These are the very layers model2, model3 and model4 build in; Keras runs "
           "them only while training (model4 in fast mode with 1 view trains its head without them).")

config = ui.data_config()  # the sidebar's dataset settings
state = st.session_state

SEED_MAX = 2**31 - 1  # the preview's seeds: 0 … this
course = TrainConfig()  # the models' augmentation settings: the Training page starts from them too
ui.defaults({"aug_flip": course.flip_mode, "aug_rotation": course.rotation_factor, "aug_fill": course.fill_mode,
             "aug_samples": 8, "aug_seed": 7, "aug_source": "Random training image"})
with st.sidebar:
    st.subheader("Augmentation layers", anchor=False)
    flip_mode = st.selectbox("RandomFlip mode", augment.FLIP_MODES, key="aug_flip", persist_state="session",
                             help=augment.FLIP_HELP)
    rotation = st.slider("RandomRotation factor", 0.0, augment.MAX_ROTATION_FACTOR, step=0.01, key="aug_rotation",
                         persist_state="session",
                         help=augment.ROTATION_HELP)
    st.caption(f"± {augment.rotation_degrees(rotation):.0f}° at most")
    fill_mode = st.selectbox("Fill mode", augment.FILL_MODES, key="aug_fill", persist_state="session",
                             help=augment.FILL_HELP)
    samples = st.slider("Augmented versions", 1, 16, key="aug_samples", persist_state="session",
                        help="How many random versions of the image to draw (as many epochs would show it).")
    # checked here, as the Training page's numbers are: with Streamlit's min/max a typed -1 stayed in the field in red
    # and the preview went on drawing the last seed in range, without a word (QA)
    seed, seed_problem = ui.whole_number(st, "Seed", 0, SEED_MAX, key="aug_seed", persist_state="session",
                                         help="The same seed draws the same versions; Regenerate takes the next seed.")
    if seed_problem:
        st.error(seed_problem, icon=":material/error:")
    st.caption("These settings are for this preview. The Training page has its own, with the same defaults, "
               "under \"Augmentation (model2–4)\".")
ui.training_status()


# here, not at the foot of the sidebar, under the fold at 768 px (QA); the next seed, shown in the sidebar's
# Seed: Regenerate drew from a hidden seed, and going back to a seed did not bring its versions back (QA)
# the field's value + 1; a value just emptied or typed out of range (Regenerate pressed before the page redrew:
# one rerun) is left for the page to say, as Enter would have (it gave a traceback, or -5 became 2147483644, QA L)
def _next_seed() -> None:
    if range_problem("Seed", value := state["aug_seed"], 0, SEED_MAX) is None:
        state["aug_seed"] = value + 1 if value < SEED_MAX else 0


# The buttons beside the choice of image: under the original they fell below the fold at 1280×720 and 125 % zoom,
# and above the columns a row of their own pushed the versions below it (QA M, QA N)
pick, buttons = st.columns([2.2, 1], vertical_alignment="center")  # at 1024 px: the radio on one line, whole labels
another, regenerate = buttons.empty(), buttons.empty()
source = pick.radio("Image", ["Random training image", "Upload your own"], horizontal=True, key="aug_source",
                    persist_state="session")
if source == "Upload your own":
    upload = st.file_uploader("Drop an image", type=UPLOAD_TYPES, key="aug_upload", help=UPLOAD_HELP,
                              on_change=ui.keep_uploads, args=("aug_upload",))
    if not (files := ui.uploaded_files("aug_upload", upload)):  # also the one of the last visit
        st.info("Drop an image above to see it augmented.")
        st.stop()
    caption, raw = files[0]
    with ui.user_errors():
        image = to_model_input(decode_image(raw, caption))
else:  # the dataset only now: with a wrong dataset folder, "Upload your own" above still works (QA)
    another.button("Another image", icon=":material/shuffle:", help="Another random image of the training split.",
                   on_click=lambda: state.update(aug_pick=state.get("aug_pick", 0) + 1), width="stretch")
    _, splits = ui.prepared_splits(config)
    rng = np.random.default_rng(state.get("aug_pick", 0))
    path, label = splits.train[int(rng.integers(len(splits.train)))]
    with ui.user_errors():  # a file moved or deleted since the folder was read
        image = data.load_image(path)
    caption = f"{splits.class_names[label]} · {path.rsplit('/', 1)[-1]}"
# once there is an image: on "Upload your own" before a drop it drew new versions of nothing (QA N)
regenerate.button("Regenerate", icon=":material/casino:", help="Draw new versions of this image: the next seed.",
                  on_click=_next_seed, width="stretch")

if seed_problem:  # no versions of another seed than the one shown in the field
    st.error(f"{seed_problem.removesuffix('.')} (sidebar).", icon=":material/error:")  # not "…. (sidebar)"
    st.stop()
# 'constant' fills with 0: black on model2's raw pixels, mid-grey in model3 and model4, which scale them to [-1, 1]
# first; the preview showed model2's black only, under a caption saying the others differ (QA)
scaled = fill_mode == "constant" and st.radio(
    "Pixels as", ["model2 sees them (0 to 255)", "model3 and model4 see them (scaled to −1…1 first)"],
    horizontal=True, key="aug_scaled", help="'constant' fills the corners with 0. model2 augments the raw pixels, "
    "so 0 is black; model3 and model4 scale the pixels to −1…1 first, so 0 is mid-grey.").startswith("model3")
augmented = augment.augment_samples(
    image, samples, flip_mode=flip_mode, rotation_factor=rotation, fill_mode=fill_mode,
    seed=int(seed), scaled=scaled,
)
left, right = st.columns([1, 3])
# model4's own size too where its weights set another (the offline file: 224, QA)
size4 = default_input_size(resolve_mobilenet_weights())
also = (f"; model4, with this server's weights, gets it at {size4}×{size4}" if (size4, size4) != tuple(image.shape[:2])
        else "")
# a short heading: at 1280×720 and 125 % zoom (a projector) the versions began under the fold, beside a 7-line
# heading in the narrow column (QA M)
left.markdown(f"**Original** · {image.shape[1]}×{image.shape[0]}" + (f" (model4: {size4}×{size4})" if also else ""),
              help=f"Resized as model1 to model3 get it ({image.shape[1]}×{image.shape[0]}{also}).")
left.image(ui.as_display(image), caption=ui.plain(caption), width="stretch")
with right:
    st.markdown(f"**{samples} augmented version{'s' if samples > 1 else ''}** (RandomFlip '{flip_mode}', "
                f"RandomRotation {rotation:.2f}, fill '{fill_mode}': sidebar)")
    ui.image_grid([ui.as_display(a) for a in augmented], [f"#{i + 1}" for i in range(samples)], columns=4)
