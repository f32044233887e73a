"""A click group whose sub-commands are imported only when used.

Keeps `fuhuiyang --help` fast and lets a gateway install run `fuhuiyang edge`
without the cloud's dependencies being importable.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            return _load(self._lazy[cmd_name])
        return super().get_command(ctx, cmd_name)


def _load(target: str) -> click.Command:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return _missing(target, exc)
    command = getattr(module, attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


def _missing(target: str, exc: ImportError) -> click.Command:
    """A stand-in that explains which extra to install instead of a traceback."""

    @click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def unavailable() -> None:
        raise click.ClickException(
            f"this command needs a dependency that is not installed ({exc.name or exc}); "
            "install the matching extra, e.g. pip install 'fuhuiyang[all]'"
        )

    unavailable.help = f"(unavailable: {exc})"
    return unavailable
