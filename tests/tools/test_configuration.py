"""tools.configuration: the registry of programs, and the sections of the generated docs,
which come from the settings classes' own titles, not from docstrings or a list of names."""

from __future__ import annotations

import inspect

from migrator.settings import MigratorSettings
from shared_models.logs import LogSettings
from shared_models.settings import ApiCredentials, ApiRole, EnvSettings, OwnerCredentials, OwnerRole
from tools.configuration import (
    COMPOSE_SECTION,
    PROGRAMS,
    SERVICE_SETTINGS,
    all_variables,
    declares_settings,
    section_title,
    sections,
)


def settings_classes() -> list[type[EnvSettings]]:
    """Every settings class a program reads, with its settings-class bases."""
    found: list[type[EnvSettings]] = []
    for program in PROGRAMS.values():
        for settings_class in program.settings:
            for klass in settings_class.__mro__:
                if issubclass(klass, EnvSettings) and klass not in (EnvSettings, *found):
                    found.append(klass)
    return found


def test_each_service_gets_what_its_programs_read() -> None:
    assert list(PROGRAMS) == ["secrets", "roles", "migrator", "seed", "plan", "api"]  # start order
    assert set(SERVICE_SETTINGS) == {program.service for program in PROGRAMS.values()}
    for name, program in PROGRAMS.items():
        assert set(program.settings) <= set(SERVICE_SETTINGS[program.service]), name
    for service, classes in SERVICE_SETTINGS.items():
        read = {k for p in PROGRAMS.values() if p.service == service for k in p.settings}
        assert set(classes) == read, service


def test_the_shared_and_migrator_classes_title_their_sections() -> None:
    for klass in settings_classes():
        if declares_settings(klass) and not klass.__module__.startswith("api."):
            assert klass.model_config.get("title"), f"{klass.__qualname__} has no title"


def test_a_section_title_is_not_a_docstring_shared_by_classes() -> None:
    docstrings = [inspect.getdoc(klass) for klass in settings_classes()]
    shared = {doc for doc in docstrings if docstrings.count(doc) > 1}
    assert not shared, f"settings classes with the same docstring: {shared}"


def test_a_subclass_adds_its_settings_to_its_bases_section() -> None:
    assert section_title(ApiCredentials) == section_title(ApiRole)
    assert section_title(OwnerCredentials) == section_title(OwnerRole)
    # Unless it has a title of its own.
    assert section_title(MigratorSettings) != section_title(MigratorSettings.__mro__[1])


def test_compose_comes_first_and_what_every_program_reads_last() -> None:
    order = sections()
    assert order[0] == COMPOSE_SECTION
    assert order[-1] == section_title(LogSettings)
    assert all(LogSettings in program.settings for program in PROGRAMS.values())
    # Every variable is in a section, and each section's variables are together, in order.
    found = [variable.section for variable in all_variables()]
    runs = [section for i, section in enumerate(found) if i == 0 or found[i - 1] != section]
    assert runs == [section for section in order if section in found]
