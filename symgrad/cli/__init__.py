"""The command line: ``app`` (the commands), ``options`` (the one options mechanism),
``loop`` (the one run loop, and ``batch``), ``jobs`` (``--jobs`` worker processes).

Importing this package imports nothing else: a Dask worker that calls ``symgrad.batch`` and
``symgrad --help`` pay only for what they use.
"""


def main() -> None:
    """The ``symgrad`` program."""
    from symgrad.cli.app import main as run

    run()
