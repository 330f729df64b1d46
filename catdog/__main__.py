"""``python -m catdog``: see :mod:`catdog.cli`."""

import sys

from catdog.cli import main

sys.exit(main())
