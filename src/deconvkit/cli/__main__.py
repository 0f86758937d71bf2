"""``python -m deconvkit.cli``."""

import sys

from . import main

sys.exit(main())
