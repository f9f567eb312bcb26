"""Commands declared as data, and the argparse parsers built from those declarations.

A ``Command`` names a verb, its help line, its arguments (``Arg``: what ``add_argument``
takes) and its behaviour (a handler, or one handler per sub-action such as ``step add``).
``Grammar`` keeps the declarations in order and builds from them the parser, the help
and what Tab completion offers, so a verb is declared once for the CLI and the magic.

Parsers are built only when needed, and then only the one of the command given: building
all of them costs ~5 ms, and imports the engine (update's --field help lists its
fields). Nothing here imports ``typing`` or ``dataclasses`` (each costs the CLI's start
~15 ms).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from .errors import ConductorError

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    Handler = Callable[..., Any]  # (engine, parsed namespace) -> Outcome
    CellReader = Callable[[argparse.Namespace, str], None]

__all__ = [
    "Arg",
    "Command",
    "CsvChoices",
    "FromRoot",
    "Grammar",
    "HelpRequested",
    "UsageProblem",
    "suggest",
]


class UsageProblem(ConductorError):
    """The words do not fit the grammar (unknown command, missing option...)."""


class HelpRequested(Exception):
    """``--help`` was given: ``text`` is the usage to show."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing and exiting."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageProblem(f"{self.prog}: {message}", hint=f"see `{self.prog} --help`")

    def exit(self, status: int = 0, message: str | None = None):  # type: ignore[override]
        if message:
            raise UsageProblem(message.strip())
        raise HelpRequested(self.format_help())

    def print_help(self, file=None) -> None:
        raise HelpRequested(self.format_help())

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse asks shutil for the terminal width (shutil imports bz2 and lzma: 2-5 ms)
        # on every add_argument; the same width, without it
        return self.formatter_class(prog=self.prog, width=_columns() - 2)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A value outside the choices: the closest ones, not the whole list."""
        if action.choices is None or value in action.choices:
            return
        what = "command" if isinstance(action, argparse._SubParsersAction) else "choice"
        hint = suggest(str(value), list(action.choices))
        raise argparse.ArgumentError(action, f"invalid {what} {value!r}{hint}")


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size().columns`` gives it."""
    import os
    import sys

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def suggest(value: str, choices: Sequence[str]) -> str:
    """ "did you mean `x`?" with the choices closest to ``value``, else the choices."""
    import difflib  # only on a mistake

    close = difflib.get_close_matches(value, [str(c) for c in choices], n=3, cutoff=0.75)
    if close:
        return ": did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
    if len(choices) > 12:
        return ""
    return "; one of: " + ", ".join(str(c) for c in choices)


class CsvChoices:
    """An option's type: comma-separated values, each one of ``values``."""

    __slots__ = ("values",)

    def __init__(self, values: Sequence[str]) -> None:
        self.values = list(values)

    def __call__(self, text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        for item in items:
            if item not in self.values:
                hint = suggest(item, self.values)
                if not hint.startswith(": did"):
                    hint = f" is not one of: {', '.join(self.values)}"
                raise argparse.ArgumentTypeError(f"{item!r}{hint}")
        return items


class FromRoot:
    """Completion values that depend on the root (the templates it has): ``read`` is
    called with the engine of the root in use; without one, nothing is offered."""

    __slots__ = ("read",)

    def __init__(self, read: Any) -> None:
        self.read = read


# argparse actions whose option is a flag alone, without a value.
_FLAG_ACTIONS = frozenset({"store_true", "store_false", "store_const", "append_const", "count"})


class Arg:
    """One argument of a command: the flags and options of ``add_argument``.

    ``help`` may be a function, called only when the parser is built (so it may import
    what the CLI's other commands never need). ``complete`` (a list, or a function giving
    one, or a ``FromRoot`` reading the root) is what Tab completion offers for the value
    when neither ``choices`` nor a ``CsvChoices`` type says it."""

    __slots__ = ("complete", "flags", "options")

    def __init__(self, *flags: str, complete: Any = None, **options: Any) -> None:
        self.flags = flags
        self.options = options
        self.complete = complete

    def add_to(self, parser: argparse.ArgumentParser, **overrides: Any) -> None:
        options = {**self.options, **overrides}
        if callable(options.get("help")):
            options["help"] = options["help"]()
        options["help"] = _with_default(options.get("help"), options.get("default"))
        parser.add_argument(*self.flags, **options)

    def with_options(self, **options: Any) -> Arg:
        """The same argument with some options changed."""
        return Arg(*self.flags, complete=self.complete, **{**self.options, **options})

    @property
    def takes_value(self) -> bool:
        return self.options.get("action") not in _FLAG_ACTIONS

    def values(self, engine: Any = None) -> list[str]:
        """What may be typed as this argument's value (empty: anything); ``engine``: the
        root's, for values read from it (``FromRoot``)."""
        if isinstance(self.complete, FromRoot):
            return list(self.complete.read(engine)) if engine is not None else []
        if self.complete is not None:
            return list(self.complete() if callable(self.complete) else self.complete)
        kind = self.options.get("type")
        return list(self.options.get("choices") or getattr(kind, "values", None) or ())


def _with_default(text: str | None, default: Any) -> str | None:
    """The help line, saying the default when there is one worth saying."""
    if (
        text == argparse.SUPPRESS
        or default in (None, False, "", [])
        or default is argparse.SUPPRESS
    ):
        return text
    if text and "default" in text:
        return text
    return f"{text} (default: {default})" if text else f"default: {default}"


class Command:
    """A verb: its name, help line, arguments and behaviour.

    ``handler(engine, ns)`` runs it; a command with sub-actions (``step add``, ``run
    start``...) has one handler per action instead, registered with ``action``, and its
    first positional argument chooses one. ``cell`` reads a ``%%track`` cell into the
    namespace for a command that takes one; ``cell_form`` is the command's grammar when
    a cell is given, if it differs (``%%track run`` runs the cell)."""

    __slots__ = ("action_help", "actions", "args", "cell", "cell_form", "handler", "help", "name")

    def __init__(
        self,
        name: str,
        help: str,  # noqa: A002
        *args: Arg,
        handler: Handler | None = None,
        cell: CellReader | None = None,
        cell_form: Command | None = None,
    ) -> None:
        self.name = name
        self.help = help
        self.args = args
        self.handler = handler
        self.actions: dict[str, Handler] = {}
        self.action_help: dict[str, str] = {}
        self.cell = cell
        self.cell_form = cell_form

    def action(self, *names: str, help: str | None = None) -> Callable[[Handler], Handler]:  # noqa: A002
        """Declare ``handler`` as the behaviour of the sub-actions ``names`` (``help``: what
        ``step add --help`` says; ``{action}`` in it is the sub-action's name)."""

        def register(handler: Handler) -> Handler:
            for name in names:
                self.actions[name] = handler
                if help:
                    self.action_help[name] = help.format(action=name)
            return handler

        return register

    def handler_for(self, ns: argparse.Namespace) -> Handler:
        return self.actions[ns.action] if self.actions else self.handler

    def arguments(self) -> list[Arg]:
        """Every argument in the order given, the sub-action's choice first."""
        chooser = [Arg("action", choices=list(self.actions))] if self.actions else []
        return [*chooser, *self.args]

    def option(self, flag: str) -> Arg | None:
        return next((arg for arg in self.arguments() if flag in arg.flags), None)


class Grammar:
    """The commands in the order ``--help`` lists them, and the parsers built from them."""

    def __init__(self, description: str, epilog: str, global_args: Sequence[Arg]) -> None:
        self.description = description
        self.epilog = epilog
        self.global_args = tuple(global_args)  # accepted before and after the command word
        self.commands: dict[str, Command] = {}
        self._parsers: dict[tuple[str, str | None, bool], argparse.ArgumentParser] = {}

    def add(self, command: Command) -> Command:
        self.commands[command.name] = command
        return command

    def command(self, name: str, help: str, *args: Arg, **kwargs: Any):  # noqa: A002
        """Decorator: the function below is the behaviour of this command."""

        def register(handler: Handler) -> Handler:
            self.add(Command(name, help, *args, handler=handler, **kwargs))
            return handler

        return register

    def names(self) -> list[str]:
        return list(self.commands)

    def parser(
        self, prog: str, only: str | None = None, *, cell: bool = False
    ) -> argparse.ArgumentParser:
        """The parser (cached); with ``only``, only that command's is built for real."""
        key = (prog, only, cell)
        if key not in self._parsers:
            self._parsers[key] = self.build_parser(prog, only, cell)
        return self._parsers[key]

    def build_parser(
        self, prog: str, only: str | None = None, cell: bool = False
    ) -> argparse.ArgumentParser:
        """The parser of every command, or with ``only`` of that one alone; ``cell``: with
        the commands' cell forms."""
        parser = _Parser(prog=prog, description=self.description, epilog=self.epilog)
        for arg in self.global_args:
            arg.add_to(parser)
        # The same options after the command word (`conductor list --json`).
        common = _Parser(add_help=False, prog=prog)
        for arg in self.global_args:
            arg.add_to(common, default=argparse.SUPPRESS)
        sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        for command in self.commands.values():
            if only is not None and command.name != only:
                continue
            declared = command.cell_form if cell and command.cell_form else command
            text = declared.help
            p = sub.add_parser(command.name, help=text, description=text, parents=[common])
            for arg in declared.arguments():
                arg.add_to(p)
        return parser

    def command_word(self, argv: Sequence[str]) -> str | None:
        """The first word that is neither a global option nor a global option's value."""
        valued = {flag for arg in self.global_args if arg.takes_value for flag in arg.flags}
        words = iter(argv)
        for word in words:
            if word in valued:
                next(words, None)
            elif not word.startswith("-"):
                return word
        return None

    def parse(self, argv: Sequence[str], prog: str, cell: str | None = None) -> argparse.Namespace:
        """The namespace of ``argv``; ``cell``: the text of a ``%%track`` cell, read into
        the namespace by the command (only the commands declared with a cell take one)."""
        word = self.command_word(argv)
        command = self.commands.get(word or "")
        cell_form = cell is not None and command is not None and command.cell_form is not None
        if command is not None and command.actions and ("-h" in argv or "--help" in argv):
            self._action_help(command, argv, prog)  # `step add --help`: the add form
        parser = self.parser(prog, word, cell=cell_form) if command else None
        if parser is None:
            parser = self.parser(prog)  # help, a mistake, or no command: the full grammar
        ns = parser.parse_args(list(argv))
        if ns.command is None:
            raise HelpRequested(self.parser(prog).format_help())
        if ns.command == "help":
            raise HelpRequested(self.help_text(ns.topic, prog))
        if cell is not None:
            self._read_cell(ns, cell, prog)
        return ns

    def _action_help(self, command: Command, argv: Sequence[str], prog: str) -> None:
        """Raise the help of the sub-action named after the command word, if one is."""
        words = [w for w in argv if not w.startswith("-")]
        after = words[words.index(command.name) + 1 :] if command.name in words else []
        if not after or after[0] not in command.actions:
            return
        action = after[0]
        text = command.action_help.get(action, f"{command.name} {action}: {command.help}")
        parser = _Parser(prog=f"{prog} {command.name} {action}", description=text)
        for arg in (*self.global_args, *command.args):
            arg.add_to(parser)
        raise HelpRequested(parser.format_help())

    def _read_cell(self, ns: argparse.Namespace, cell: str, prog: str) -> None:
        command = self.commands[ns.command]
        reader = (command.cell_form or command).cell
        if reader is None:
            takers = [c.name for c in self.commands.values() if (c.cell_form or c).cell]
            names = " and ".join(f"`{name}`" for name in takers)
            raise UsageProblem(f"{prog} takes a cell only for {names}")
        reader(ns, cell)

    def help_text(self, topic: str | None, prog: str) -> str:
        """Usage of the whole grammar, or of one command."""
        if topic is None:
            return self.parser(prog).format_help()
        if topic not in self.commands:
            raise UsageProblem(f"no command {topic!r}{suggest(topic, self.names())}")
        return _subparser(self.parser(prog, topic), topic).format_help()


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse keeps its subparsers on a private action
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)
