"""``python -m sopkit`` is the ``sop`` command."""

import sys

from sopkit.cli import main

sys.exit(main())
