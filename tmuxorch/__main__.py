from __future__ import annotations

import sys

from tmuxorch.entry import main

sys.exit(main())
