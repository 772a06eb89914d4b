"""``python -m symgrad``: the same program as the ``symgrad`` command."""

from symgrad.cli import main

main()
