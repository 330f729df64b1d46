"""catdog dashboard: the course's four steps, one page each.

Run with ``streamlit run dashboard.py``.
"""

import streamlit as st

st.set_page_config(page_title="catdog — cats vs dogs with Keras", page_icon="🐾", layout="wide")

navigation = st.navigation([
    st.Page("pages/1_data.py", title="Data", icon=":material/dataset:", default=True),
    st.Page("pages/2_augmentation.py", title="Augmentation", icon=":material/flip:"),
    st.Page("pages/3_training.py", title="Training", icon=":material/monitoring:"),
    st.Page("pages/4_classifier.py", title="Classifier", icon=":material/image_search:"),
])
navigation.run()
