"""`python -m voltools`: the same command as `voltools`."""
import sys

from .cli import main

sys.exit(main())
