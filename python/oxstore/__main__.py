import sys

from oxstore.cli import main

sys.exit(main())
