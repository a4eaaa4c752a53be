"""The username rule as revision c7e059802bac shipped it (shared_models.identity's
refusal then), and the report of the users whose names it refuses: by reason, with
their ids. Names already taken keep working: nothing is changed."""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections import defaultdict
from collections.abc import Iterator

import regex
from confusable_homoglyphs import confusables
from sqlalchemy import Connection, text

log = logging.getLogger("migrator")

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\u2800]")
MARKS = frozenset({"Mn", "Me"})
MAX_MARKS_IN_A_ROW = 4
RECOMMENDED = (
    "Arabic", "Armenian", "Bengali", "Bopomofo", "Cyrillic", "Devanagari", "Ethiopic",
    "Georgian", "Greek", "Gujarati", "Gurmukhi", "Han", "Hangul", "Hebrew", "Hiragana",
    "Kannada", "Katakana", "Khmer", "Lao", "Latin", "Malayalam", "Myanmar", "Oriya",
    "Sinhala", "Tamil", "Telugu", "Thaana", "Thai", "Tibetan",
)  # fmt: skip
SCRIPT_OF = {script: regex.compile(rf"\p{{scx={script}}}") for script in RECOMMENDED}
NEUTRAL = regex.compile(r"[\p{scx=Common}\p{scx=Inherited}]")
LATIN = regex.compile(r"\p{scx=Latin}")
AUGMENTED = {
    "Han": {"Japanese", "Han with Bopomofo", "Korean"},
    "Hiragana": {"Japanese"},
    "Katakana": {"Japanese"},
    "Bopomofo": {"Han with Bopomofo"},
    "Hangul": {"Korean"},
}
WITH_HAN = frozenset({"Japanese", "Han with Bopomofo", "Korean"})
NEVER_WITH_LATIN = frozenset({"Cyrillic", "Greek"})


@functools.cache
def scripts_of(character: str) -> frozenset[str] | None:
    """The augmented recommended scripts of ``character``; empty for Common and Inherited;
    None for a script not in common use."""
    found = {script for script, pattern in SCRIPT_OF.items() if pattern.match(character)}
    if not found:
        return frozenset() if NEUTRAL.match(character) else None
    for script in list(found):
        found |= AUGMENTED.get(script, set())
    return frozenset(found)


def covered(sets: list[frozenset[str]]) -> frozenset[str]:
    return frozenset.intersection(*sets) if sets else frozenset({"Common"})


def mixes_scripts(name: str) -> str | None:
    sets: list[frozenset[str]] = []
    for character in name:
        found = scripts_of(character)
        if found is None:
            return "a script not in common use"
        if found:
            sets.append(found)
    if covered(sets):
        return None
    beside_latin = covered([found for found in sets if "Latin" not in found])
    if beside_latin & WITH_HAN or (beside_latin and not beside_latin & NEVER_WITH_LATIN):
        return None
    return "mixed scripts"


def refusal(username: str) -> str | None:
    """Why the rule refuses ``username`` (in a few words), or None."""
    if username != username.strip():
        return "a space at either end"
    for character in username:
        category = unicodedata.category(character)
        if category in REFUSED_CATEGORIES or INVISIBLE.match(character):
            return "a control, invisible, direction or unassigned character"
        if category == "Zs" and character != " ":
            return "a space other than U+0020"
    decomposed = unicodedata.normalize("NFD", username)
    if unicodedata.category(decomposed[0]) in MARKS | {"Mc"}:
        return "a combining mark first"
    run: list[str] = []
    for character in decomposed:
        if unicodedata.category(character) not in MARKS:
            run = []
            continue
        if (run and run[-1] == character) or len(run) >= MAX_MARKS_IN_A_ROW:
            return "combining marks stacked"
        run.append(character)
    mixing = mixes_scripts(username)
    if mixing is not None:
        return mixing
    letters = [c for c in username if unicodedata.category(c).startswith("L")]
    if letters and not any(LATIN.match(c) for c in letters):
        alike = confusables.is_confusable(
            "".join(letters), greedy=True, preferred_aliases=["latin"]
        )
        if alike and len({found["character"] for found in alike}) == len(set(letters)):
            return "another script read as Latin"
    return None


BATCH = 10_000
NEXT_BATCH = text("SELECT id, username FROM users WHERE id > :after ORDER BY id LIMIT :size")


def usernames(connection: Connection) -> Iterator[tuple[int, str]]:
    after = 0
    while rows := connection.execute(NEXT_BATCH, {"after": after, "size": BATCH}).all():
        yield from ((row.id, row.username) for row in rows)
        after = rows[-1].id


def report_refused_names(connection: Connection, shown: int = 20) -> dict[str, list[int]]:
    """The users the rule refuses now, by reason (ids in order), each reason logged."""
    refused: dict[str, list[int]] = defaultdict(list)
    for user_id, username in usernames(connection):
        why = refusal(username)
        if why is not None:
            refused[why].append(user_id)
    for why, ids in sorted(refused.items()):
        more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
        log.warning(
            "%d username(s) the rule refuses now (%s) keep working: ids %s%s",
            len(ids), why, ", ".join(map(str, ids[:shown])), more,
            extra={"refused": why, "users": len(ids)},
        )  # fmt: skip
    if not refused:
        log.info("every username passes the rule")
    return dict(refused)
