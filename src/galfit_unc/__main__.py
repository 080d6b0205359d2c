"""``python -m galfit_unc``: the ``galfit-unc`` command."""

import sys

from galfit_unc.cli import main

sys.exit(main())
