"""``python -m lab.vault.service``: run the vault's DP query service (``--help`` explains)."""

import sys

from lab.vault.service.cli import main

sys.exit(main())
