#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. Extra arguments go to pytest.
# Uses ../shared (the real dataset and MobileNetV2 weights) when it is there.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
# Browser tests drive Debian's chromium; install it when missing and we are allowed to.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
      || echo "warning: could not install chromium; browser tests will be skipped"
  else
    echo "warning: /usr/bin/chromium missing (run: sudo apt-get install -y chromium); browser tests will be skipped"
  fi
fi
shared=$(cd .. && pwd)/shared
weights=$shared/keras/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5
if [ -z "${CATDOG_MOBILENET_WEIGHTS:-}" ] && [ -f "$weights" ]; then
  export CATDOG_MOBILENET_WEIGHTS=$weights
fi
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
.venv/bin/python -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "error: pytest collected no tests"
fi
exit $status
