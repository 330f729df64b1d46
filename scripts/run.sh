#!/usr/bin/env bash
# Set up (first time) and start the dashboard on http://localhost:8501.
# Offline: export CATDOG_DATA_DIR=/path/to/cats_and_dogs_filtered and
#          CATDOG_MOBILENET_WEIGHTS=/path/to/mobilenet_v2_..._1.0_224_no_top.h5 first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run dashboard.py "$@"
