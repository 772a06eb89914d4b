"""A long fuzz run of parse + gradient + every output format: only typed errors may escape.

    python fuzz/run.py [--minutes 5] [--source grammar|raw|both]

Draws text from the grammar (tests/strategies.py ``expressions``) and from raw text
(``raw_text``), runs each case under the default limits (``symgrad.limits.bounded``) and
prints the count of cases and every unexpected exception with the input that raised it.
Exit status 1 when one was found.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from symgrad.budget import bounded  # noqa: E402
from symgrad.derive.partial import gradient  # noqa: E402
from symgrad.errors import SymgradError  # noqa: E402
from symgrad.limits import Limits  # noqa: E402
from symgrad.printing import render  # noqa: E402
from tests.strategies import expressions, raw_text  # noqa: E402

LIMITS = Limits(timeout=2)


def answer(text: str) -> str:
    """What the CLI would do with ``text``: 'ok', or the kind of typed error."""

    def work():
        from symgrad.parsing.plain import parse

        result = gradient(parse(text))
        for fmt in ("text", "json", "latex"):
            render(result, fmt, text)
        return "ok"

    try:
        return bounded(work, LIMITS)
    except SymgradError as err:
        return err.kind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--source", choices=["grammar", "raw", "both"], default="both")
    args = parser.parse_args()
    stop = time.monotonic() + 60 * args.minutes
    outcomes: collections.Counter[str] = collections.Counter()
    unexpected: dict[str, tuple[str, str]] = {}

    source = {"grammar": expressions, "raw": raw_text, "both": st.one_of(expressions, raw_text)}

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(source[args.source])
    def case(text: str) -> None:
        if time.monotonic() > stop:
            raise KeyboardInterrupt
        try:
            outcomes[answer(text)] += 1
        except Exception as exc:  # noqa: BLE001 - what this script looks for
            outcomes["UNEXPECTED"] += 1
            key = f"{type(exc).__name__}: {str(exc)[:80]}"
            unexpected.setdefault(key, (text, traceback.format_exc(limit=-3)))

    try:
        case()
    except KeyboardInterrupt:
        pass
    total = sum(outcomes.values())
    print(
        f"{total:,} cases in {args.minutes:g} min: "
        + ", ".join(f"{k} {v:,}" for k, v in outcomes.most_common())
    )
    for key, (text, tb) in unexpected.items():
        print(f"\nUNEXPECTED {key}\n  input: {text!r}\n{tb}")
    print(f"{len(unexpected)} distinct unexpected exceptions")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
