"""Data: what the cats-vs-dogs dataset holds and how it is split."""

from pathlib import Path

import streamlit as st

from catdog import charts, data, reporting, ui

ui.page_setup()
st.title("Data")
st.caption("Step 1 · the course's dataset, cats_and_dogs_filtered, holds 3,000 JPEGs of cats and dogs from "
           "Kaggle's Dogs vs. Cats competition, which the course resizes to 160×160 and reads in batches of 32; "
           "the counts below are those of the dataset folder in use (sidebar).")

config = ui.data_config()
root, splits = ui.prepared_splits(config)
counts = splits.counts()

st.subheader("Images per split and class", anchor=False)
left, right = st.columns(2)  # [3, 2] cut the "total" column at 125–150 % zoom (QA 16)
left.plotly_chart(charts.counts_figure(counts), key="counts_chart", config=ui.PLOTLY_CONFIG)
with right:
    table = [{"split": s, **counts[s], "total": sum(counts[s].values())} for s in data.SPLITS]
    st.dataframe(table, hide_index=True, column_config={  # "2,000", not "2000"
        column: st.column_config.NumberColumn(format="%,d") for column in table[0] if column != "split"})
    majority, baseline = data.majority_baseline(splits)
    if len(majority) == 1:
        meaning = f"Test accuracy of always answering '{majority[0]}', the most common training class."
    else:
        # the QA's student read "on average over the classes" twice and still asked what was averaged
        either = " (or always ".join(f"'{name}'" for name in majority) + ")" * (len(majority) - 1)
        meaning = (f"The training split has as many {' as '.join(majority)}, so no class is the majority: always "
                   f"answering {either} gets this share of the test images right"
                   # exactly, when the test split holds as many of each: "on average" read as chance at work (QA)
                   + (" either way." if len(set(counts["test"].values())) == 1 else ", on average."))
    must = ("A model must beat this." if baseline < 1 else  # "must beat 100%" (QA)
            "No model can beat this: the test split holds one class only (see the warning below).")
    st.metric("Majority-class baseline", f"{baseline:.1%}", help=f"{ui.plain(meaning)} {must}")
st.caption(f"Dataset folder: {reporting.code_span(root)}")
for split, missing in data.missing_classes(counts).items():
    st.warning(f"The {split} split holds no {' and no '.join(missing)}: its accuracy says nothing about "
               f"{'them' if len(missing) > 1 else 'that class'}, and on that split a model that always answers "
               f"one class can look perfect. Add images to the class folder, or use another dataset folder.",
               icon=":material/warning:")

with st.expander("How the validation and test splits are made", expanded=True):
    st.markdown(
        f"""
- **train** = every image of `train/` ({sum(counts['train'].values()):,} images).
- `validation/` is split **once** into **validation** ({sum(counts['validation'].values()):,}) and
  **test** ({sum(counts['test'].values()):,}): per class, the files are shuffled with split seed {splits.seed} and
  the first ones go to test, so both splits keep the class balance as closely as their sizes allow (stratified),
  share no image (disjoint), and the same split seed always gives the same files.
- The course instead takes the first 1/5 of the *batches* of a validation dataset that reshuffles on every
  pass: its test images are validation images too, and a different random set each time they are read. Here
  the {sum(counts['test'].values()):,} test images are fixed: no model trains on them, and nothing (no epoch, no
  model) is chosen by them.
- **Labels**: {', '.join(f"{ui.plain(name)} = {i}" for i, name in enumerate(splits.class_names))} (the class folders in
  alphabetical order, as Keras's `image_dataset_from_directory` numbers them). Every image is resized to
  {config.image_size[1]}×{config.image_size[0]} without keeping its shape (as that function does), with pixel
  values from 0 to 255; model4 can take 224×224 instead, the size its offline weights file was trained at
  (Training page).
"""
    )

if turned := reporting.turned_note(splits.turned, root):
    st.warning(turned, icon=":material/screen_rotation:")
if transparent := reporting.transparent_note(splits.transparent, root, test=[p for p, _ in splits.test]):
    st.warning(transparent, icon=":material/opacity:")
# paths within the dataset folder, named above, as the ignored files' are (a skipped file's was absolute, QA)
problems = [f"unreadable, skipped: {reporting.code_span(Path(p).relative_to(root).as_posix())} ({why})"
            for p, why in splits.skipped]
problems += [f"ignored: {reporting.code_span(path)} ({why})" for path, why in splits.ignored
             if path != "vectorize.py"]  # the stray file of Google's zip
problems += [f"empty class folder: {reporting.code_span(e)}" for e in splits.empty_classes]
for what, paths in (("stored turned", splits.turned), ("transparent parts", splits.transparent)):
    if len(paths) > reporting.NOTE_PATHS_SHOWN:  # every one, where the notes above name the first few (QA)
        problems += [f"{what}: {reporting.code_span(Path(p).relative_to(root).as_posix())}" for p in paths]
if problems:
    with st.expander(f":material/warning: {len(problems)} file problem(s) in the dataset folder", expanded=True):
        st.markdown("\n".join(f"- {p}" for p in problems))

st.subheader("Sample images", anchor=False)
if st.button("Reshuffle", icon=":material/shuffle:"):
    st.session_state["sample_seed"] = st.session_state.get("sample_seed", 0) + 1
rows = data.sample_items(splits, "train", per_class=3, seed=st.session_state.get("sample_seed", 0))
for row in rows:
    with ui.user_errors():  # a file moved or deleted since the folder was read
        images = [ui.as_display(data.load_image(p)) for p, _ in row]
    ui.image_grid(images,
                  [f"{splits.class_names[label]} · {p.rsplit('/', 1)[-1]}" for p, label in row], columns=3)
