"""``python -m migrator.plan [-c INI] [--json]``: ``migrator [-c INI] plan [--json]``."""

from argparse import ArgumentParser

from migrator.cli import main

parser = ArgumentParser(prog="python -m migrator.plan", description="migrator plan")
parser.add_argument("-c", "--config", action="append", default=[], help="alembic's ini file")
parser.add_argument("--json", action="store_true", help="print the plan as JSON")
arguments = parser.parse_args()
configs = [option for ini in arguments.config for option in ("-c", ini)]
main([*configs, "plan", *(["--json"] if arguments.json else [])])
