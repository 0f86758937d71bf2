"""``python -m deconvkit``: the ``deconvkit`` command."""

import sys

from .cli import main

sys.exit(main())
