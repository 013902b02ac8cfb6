"""``python -m ruche``: the same as the ``ruche`` command."""

import sys

from ruche.cli import main

sys.exit(main())
