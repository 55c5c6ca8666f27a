"""``python -m activemirror_jupyter``: the backup command line (see :mod:`.cli`)."""

from .cli import main

raise SystemExit(main())
