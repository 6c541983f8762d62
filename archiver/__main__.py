"""`python -m archiver ...`"""

import sys

from archiver.cli import main

sys.exit(main())
