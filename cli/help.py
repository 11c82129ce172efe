"""``workflow --help`` lists commands in sections, so people find the one they need."""

from __future__ import annotations

import click

from workflow.i18n import N_, _

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("Definitions"), ("definitions", "migrate", "actors")),
    (N_("Instances"), ("start", "fire", "show", "list", "history", "graph")),
    (N_("Directives"), ("directive", "units", "demo", "examples")),
    (N_("Timers"), ("timers", "calendar")),
    (N_("Events"), ("events",)),
    (N_("Audit"), ("audit",)),
    (N_("Database"), ("db",)),
    (N_("Service"), ("serve", "users", "tokens")),
    (N_("Documentation"), ("docs",)),
)


class SectionedGroup(click.Group):
    """A group whose help lists its commands under the headings of :data:`SECTIONS`.

    Commands added later by other modules and not named there appear under "Other commands".
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = {
            name: command
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        }
        placed: set[str] = set()
        limit = formatter.width - 6 - max((len(n) for n in commands), default=0)
        for title, names in (*SECTIONS, (N_("Other commands"), tuple(sorted(commands)))):
            rows = [
                (name, commands[name].get_short_help_str(limit))
                for name in names
                if name in commands and name not in placed
            ]
            placed.update(name for name, _ in rows)
            if rows:
                with formatter.section(_(title)):
                    formatter.write_dl(rows)
