"""How every program of the stack starts: its logging configured, then every setting
it reads validated at once, before it does anything.

Each program passes the same tuple of settings classes that the generated docs and the
compose tests walk (tools.configuration.PROGRAMS), so "what it reads" and "what it
checks" cannot differ. A bad value stops the program with exit status 2 and one log
line naming every bad variable, never its value.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shared_models.logs import LogSettings, configured_or_default
from shared_models.settings import ConfigurationError, EnvSettings

INVALID_CONFIGURATION = 2  # the exit status, as gunicorn's own for a bad configuration
PREFIX = "invalid configuration: "


def problems_of(settings: Sequence[type[EnvSettings]]) -> list[str]:
    """What is wrong with the environment for these settings classes, once each."""
    problems: list[str] = []
    for settings_class in settings:
        try:
            settings_class.load()
        except ConfigurationError as exc:
            for problem in str(exc).removeprefix(PREFIX).split("; "):
                if problem not in problems:
                    problems.append(problem)
    return problems


def validate(program: str, settings: Sequence[type[EnvSettings]]) -> None:
    """Exit with status 2, logging every problem, unless every class loads."""
    problems = problems_of(settings)
    if problems:
        logging.getLogger(program).critical(
            "%s: %s%s", program, PREFIX, "; ".join(problems), extra={"outcome": "failed"}
        )
        raise SystemExit(INVALID_CONFIGURATION)


def start(program: str, settings: Sequence[type[EnvSettings]]) -> LogSettings:
    """Logging configured (its defaults, if LOG_* are themselves wrong: then reported
    with the rest), then every setting validated. Returns the logging settings."""
    log_settings = configured_or_default(program)
    validate(program, settings)
    return log_settings
