"""Which writing systems a name mixes, after Unicode's UTS #39 (section 5): a name may use
one script, Latin with Japanese, Chinese or Korean, or Latin with one other script in
common use but Cyrillic and Greek (the "moderately restrictive" level), and only the
scripts UAX #31 recommends for identifiers. Script_Extensions come from ``regex``."""

from __future__ import annotations

import functools
import unicodedata

import regex

# UAX #31, Table 4: the scripts in common modern use (Common and Inherited aside).
RECOMMENDED = (
    "Arabic", "Armenian", "Bengali", "Bopomofo", "Cyrillic", "Devanagari", "Ethiopic",
    "Georgian", "Greek", "Gujarati", "Gurmukhi", "Han", "Hangul", "Hebrew", "Hiragana",
    "Kannada", "Katakana", "Khmer", "Lao", "Latin", "Malayalam", "Myanmar", "Oriya",
    "Sinhala", "Tamil", "Telugu", "Thaana", "Thai", "Tibetan",
)  # fmt: skip
SCRIPT_OF = {script: regex.compile(rf"\p{{scx={script}}}") for script in RECOMMENDED}
NEUTRAL = regex.compile(r"[\p{scx=Common}\p{scx=Inherited}]")
# UTS #39's augmented script sets: Han is written with Japanese, Chinese (Bopomofo) and
# Korean; the kana are Japanese; Hangul is Korean.
JAPANESE, CHINESE, KOREAN = "Japanese", "Han with Bopomofo", "Korean"
AUGMENTED = {
    "Han": {JAPANESE, CHINESE, KOREAN},
    "Hiragana": {JAPANESE},
    "Katakana": {JAPANESE},
    "Bopomofo": {CHINESE},
    "Hangul": {KOREAN},
}
NEVER_WITH_LATIN = frozenset({"Cyrillic", "Greek"})


class ScriptError(ValueError):
    pass


@functools.cache
def scripts_of(character: str) -> frozenset[str]:
    """The recommended scripts (augmented) the character is written in; empty for one of
    Common or Inherited (digits, punctuation, combining accents). ScriptError for a
    character of no recommended script."""
    found = {script for script, pattern in SCRIPT_OF.items() if pattern.match(character)}
    if not found:
        if NEUTRAL.match(character):
            return frozenset()
        name = unicodedata.name(character, "an unnamed character").lower()
        raise ScriptError(f"U+{ord(character):04X} ({name}), of a script not in common use")
    for script in list(found):
        found |= AUGMENTED.get(script, set())
    return frozenset(found)


def covered(sets: list[frozenset[str]]) -> frozenset[str]:
    """The scripts every one of ``sets`` has (UTS #39's resolved script set)."""
    return frozenset.intersection(*sets) if sets else frozenset({"Common"})


def mixing_refusal(name: str) -> str | None:
    """Why ``name`` mixes scripts in a way that lets it pass for another, or None."""
    try:
        sets = [found for character in name if (found := scripts_of(character))]
    except ScriptError as exc:
        return f"must not contain {exc}"
    if covered(sets):
        return None  # one script
    others = [found for found in sets if "Latin" not in found]
    beside_latin = covered(others)
    if beside_latin & {JAPANESE, CHINESE, KOREAN}:
        return None  # Latin with Japanese, Chinese or Korean
    if beside_latin and not beside_latin & NEVER_WITH_LATIN:
        return None  # Latin with one other script in common use
    mixed = sorted({script for found in sets for script in found if script in SCRIPT_OF})
    return f"must not mix {' and '.join(mixed)}: a name in one script cannot pass for another"
