"""``python -m conductor_nb.gitmerge KIND %O %A %B [%P]``: the merge driver git runs."""

import sys

from .driver import main

sys.exit(main(sys.argv[1:]))
