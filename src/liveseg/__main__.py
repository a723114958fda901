import sys

from liveseg.cli import main

sys.exit(main())
