"""``symgrad batch``'s own options, and those of its ``--command``, which that command parses.

Imported by cli/app.py to build the command, so it stays small; the run is cli/cluster.py.
"""

from __future__ import annotations

from typing import Any

import click

from symgrad.cli.options import HeadedCommand

NOT_PASSED = frozenset({"expr", "fmt", "file", "jobs"})
"""Options of an expression command that mean nothing to ``symgrad batch``: it reads files of
lines and writes JSON Lines."""


class BatchCommand(HeadedCommand):
    """``symgrad batch``: its own options, and those of its ``--command``, which that command
    itself parses (the one options mechanism): ``--wrt``, ``--at``, ``--claim``, the limits."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from symgrad.cli.app import unshield

        # the group set aside what looked like a negative EXPR (--timeout -1): batch has none
        args = [unshield(arg) for arg in args]
        group = ctx.parent.command if ctx.parent is not None else None
        mine, theirs = split_args(args, self, group)
        ctx.meta[_PASSED] = theirs
        return super().parse_args(ctx, mine)


_PASSED = "symgrad.batch.options"


def _chosen(args: list[str]) -> str:
    command = "grad"
    for k, arg in enumerate(args):
        if arg == "--command" and k + 1 < len(args):
            command = args[k + 1]
        elif arg.startswith("--command="):
            command = arg.split("=", 1)[1]
    return command


def split_args(args: list[str], own: click.Command, group: Any) -> tuple[list[str], list[str]]:
    """``symgrad batch``'s arguments, split into its own and those of its ``--command``.

    An option that ``batch`` lacks and the command has goes to the command with its value, so
    that the value is never taken for an input file.
    """
    sub = group.commands.get(_chosen(args)) if group is not None else None
    own_options = {o for p in own.params if isinstance(p, click.Option) for o in p.opts}
    takes_value: dict[str, bool] = {}
    meaningless: set[str] = set()
    for param in getattr(sub, "params", ()):
        if isinstance(param, click.Option) and param.name in NOT_PASSED:
            meaningless.update(param.opts)
        elif isinstance(param, click.Option):
            takes_value.update(dict.fromkeys(param.opts, not param.is_flag))
    mine: list[str] = []
    theirs: list[str] = []
    k = 0
    while k < len(args):
        arg = args[k]
        name = arg.split("=", 1)[0]
        if arg == "--":
            mine += args[k:]
            break
        if name in meaningless and name not in own_options:
            raise click.UsageError(
                f"{name} does not apply: symgrad batch reads files of lines and writes JSON "
                "Lines files to --out"
            )
        if name in takes_value and name not in own_options:
            theirs.append(arg)
            if takes_value[name] and "=" not in arg and k + 1 < len(args):
                k += 1
                theirs.append(args[k])
        else:
            mine.append(arg)
        k += 1
    return mine, theirs


def command_options(ctx: click.Context, command: str) -> dict[str, Any]:
    """The options given for ``command``, parsed by the command itself, by Python name."""
    group = ctx.parent.command
    sub = group.commands.get(command)
    if not _answers_expressions(sub):
        choices = [n for n, c in group.commands.items() if _answers_expressions(c)]
        raise click.BadParameter(
            f"{command!r} does not answer expressions; choose one of {', '.join(choices)}",
            ctx,
            param_hint="'--command'",
        )
    parsed = sub.make_context(command, ["-", *ctx.meta.get(_PASSED, [])], parent=ctx.parent)
    return {k: v for k, v in parsed.params.items() if k not in NOT_PASSED}


def _answers_expressions(command: Any) -> bool:
    return any(p.name == "expr" for p in getattr(command, "params", ()))
