"""Classifier: drop images and see what a trained model says."""

import pandas as pd
import streamlit as st

from catdog import charts, ui
from catdog.images import MAX_BYTES
from catdog.predict import classify_files

st.title("Classifier")
st.caption("Step 4 · drop your own cat and dog photos: each trained model gives its verdict and the softmax "
           "probability of each class.")

runs = [run for run in ui.queue().store.list() if run.model_path.is_file() and run.status in ("done", "stopped")]
if not runs:
    st.info("No trained model yet. Train one on the Training page first.")
    st.stop()
runs.sort(key=lambda run: run.test_accuracy or 0.0, reverse=True)
by_id = {run.run_id: run for run in runs}
run = by_id[st.selectbox("Model (trained run)", list(by_id), format_func=lambda rid: by_id[rid].label(),
                         key="classifier_run", help="Sorted by test accuracy; the best is chosen first.")]
model = ui.load_run_model(run)

uploads = st.file_uploader(
    "Drop images here", type=["jpg", "jpeg", "png", "webp", "bmp", "gif"], accept_multiple_files=True,
    key="classifier_uploads", help=f"Up to {MAX_BYTES // 2**20} MB each.",
)
files = [(upload.name, upload.getvalue()) for upload in uploads or []]
if st.toggle("Use the camera", key="classifier_camera_on"):
    shot = st.camera_input("Take a picture", key="classifier_camera")
    if shot is not None:
        files.append(("camera.jpg", shot.getvalue()))
if not files:
    st.stop()

predictions = classify_files(model, files)
rows = [{"file": p.name, "label": p.label or "—", **{c: p.probabilities.get(c) for c in ("cats", "dogs")},
         "message": p.error or ""} for p in predictions]
st.dataframe(rows, hide_index=True, column_config={
    c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="percent") for c in ("cats", "dogs")
})
csv = pd.DataFrame(rows).to_csv(index=False)
st.download_button("Download results (CSV)", csv, file_name="catdog_predictions.csv", mime="text/csv")

columns = st.columns(3)
for i, prediction in enumerate(predictions):
    with columns[i % 3]:
        if prediction.error:
            st.error(prediction.error, icon="🚫")
            continue
        confidence = prediction.probabilities[prediction.label]
        st.image(prediction.image, caption=prediction.name, width="stretch")
        st.markdown(f"### {prediction.label} · {confidence:.1%}")
        st.plotly_chart(charts.probabilities_figure(prediction.probabilities), key=f"probs_{i}")
