"""catdog: teach image classification on the cats-vs-dogs data with Keras 3.

The package holds all the logic of the dashboard; the Streamlit pages in
``pages/`` only wire widgets to these functions.  Nothing in this package
imports Streamlit except :mod:`catdog.ui`.

Importing it sets ``TF_CPU_ALLOCATOR_USE_BFC=true`` unless that variable is already
set (it must be set before TensorFlow allocates its first tensor, and catdog imports
TensorFlow only inside functions): TensorFlow then keeps its CPU tensors in one
best-fit-with-coalescing pool instead of asking ``malloc`` for each one.  Measured on
2 cores (``bench/finetune_memory.py``): with glibc's ``malloc`` the resident memory of
fine-tuning model4 grew by 0.1–0.2 GB per epoch (fragmentation), to 2.40 GB after 10
epochs (peak 2.58 GB); with the pool it stays flat at 1.8 GB, and the epochs were not slower.  Where
TensorFlow's oneDNN operations are on (its default on CPUs with AVX-512 or AMX; the
start-up log says "oneDNN custom operations are on") CPU tensors are pooled anyway.
"""

import os

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from catdog.errors import CatdogError  # noqa: E402

__all__ = ["CatdogError"]
__version__ = "0.1.0"
