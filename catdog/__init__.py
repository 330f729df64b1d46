"""catdog: teach image classification on the cats-vs-dogs data with Keras 3.

The package holds all the logic of the dashboard; the Streamlit pages in
``pages/`` only wire widgets to these functions.  Nothing in this package
imports Streamlit except :mod:`catdog.ui`.
"""

from catdog.errors import CatdogError

__all__ = ["CatdogError"]
__version__ = "0.1.0"
