"""`python -m functions.lorawan` is the `loraless` command."""

import sys

from functions.lorawan.cli import main

sys.exit(main())
