"""``python -m dashboard.cli``: run the command line (the commands live in ``dashboard/cli/``)."""

import sys

from dashboard.cli import main

sys.exit(main())
