"""``python -m llm_monitor_sdk.cli``."""

import sys

from . import main

sys.exit(main())
