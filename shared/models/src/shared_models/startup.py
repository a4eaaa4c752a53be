"""How every program of the stack starts: every setting it reads loaded once and
validated at once, then logging configured once. A bad value stops the program with
exit status 2 and one log line naming every bad variable, never its value."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar, cast

from shared_models.logs import LogSettings, configure_logging
from shared_models.settings import ConfigurationError, EnvSettings

INVALID_CONFIGURATION = 2  # the exit status, as gunicorn's own for a bad configuration
PREFIX = "invalid configuration: "

Loaded = TypeVar("Loaded", bound=EnvSettings)


@dataclass(frozen=True)
class Settings:
    """Every settings class a program reads, loaded once: ``settings[ApiSettings]``."""

    program: str
    loaded: Mapping[type[EnvSettings], EnvSettings] = field(default_factory=dict)

    def __getitem__(self, kind: type[Loaded]) -> Loaded:
        return cast(Loaded, self.loaded[kind])

    @property
    def log(self) -> LogSettings:
        """How the program logs: its LOG_* settings, or the defaults if it reads none."""
        return self[LogSettings] if LogSettings in self.loaded else LogSettings()


def problems_of(exc: ConfigurationError) -> list[str]:
    return str(exc).removeprefix(PREFIX).split("; ")


def load(program: str, classes: Sequence[type[EnvSettings]]) -> Settings:
    """Each class loaded once, every problem of every class collected; with any problem,
    logging is configured (from LOG_*, or its defaults when those are wrong too) to say
    so in one critical line, and the program exits with status 2."""
    loaded: dict[type[EnvSettings], EnvSettings] = {}
    problems: list[str] = []
    for kind in dict.fromkeys(classes):
        try:
            loaded[kind] = kind.load()
        except ConfigurationError as exc:
            problems.extend(p for p in problems_of(exc) if p not in problems)
    if problems:
        refuse(
            program,
            cast(LogSettings, loaded.get(LogSettings, LogSettings.model_construct())),
            problems,
        )
    return Settings(program, loaded)


def refuse(program: str, log: LogSettings, problems: Sequence[str]) -> NoReturn:
    """Stop the program as a bad value does: one critical line naming every problem (a
    check across settings, after ``load``, stops it the same way), exit status 2."""
    configure_logging(log, program)
    logging.getLogger(program).critical(
        "%s: %s%s", program, PREFIX, "; ".join(problems), extra={"outcome": "failed"}
    )
    raise SystemExit(INVALID_CONFIGURATION)


def start(program: str, classes: Sequence[type[EnvSettings]]) -> Settings:
    """``load``, then logging configured from the settings loaded."""
    settings = load(program, classes)
    configure_logging(settings.log, program)
    return settings
