"""The ``migrator`` command (the image's entrypoint): alembic's command line, every
subcommand and option as alembic has them, plus ``plan``. Each command runs with a
MigratorConfig (migrator.run)."""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Sequence

from alembic.config import CommandLine, Config

from migrator.plan.command import plan
from migrator.run import MigratorConfig


class MigratorCommandLine(CommandLine):
    # register_command makes an option of each keyword argument it finds here.
    _KWARGS_OPTS = {  # noqa: RUF012  (alembic's own table, extended)
        **CommandLine._KWARGS_OPTS,
        "json": ("--json", {"action": "store_true", "help": "Print the plan as JSON"}),
        "strict": (
            "--strict",
            {
                "action": "store_true",
                "help": "Exit 3 when a revision blocks reads or writes or rewrites a table, "
                "not only when it would fail",
            },
        ),
    }

    def __init__(self) -> None:
        super().__init__(prog="migrator")
        self.register_command(plan)

    def run_cmd(self, config: Config, options: Namespace) -> None:
        super().run_cmd(MigratorConfig.of(config), options)


def main(argv: Sequence[str] | None = None) -> None:
    MigratorCommandLine().main(argv)
