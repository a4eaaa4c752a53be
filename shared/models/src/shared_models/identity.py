"""Which usernames are one user (equal keys) and which a new user may not take.

The key: format characters dropped, NFKC, full case folding, NFKC again (folding can
undo it); RFC 8265's UsernameCaseMapped but for case folding over lowercasing and no
Bidi Rule (direction controls are refused instead). ``İstanbul`` and ``istanbul`` stay
two: folding keeps the dot. The name is stored and shown as given. docs/api.md says
what is refused and why.
"""

from __future__ import annotations

import unicodedata

import regex
from confusable_homoglyphs import confusables

from shared_models.scripts import mixing_refusal

# Unicode general categories no username may hold: controls, format characters (ZWJ,
# bidirectional overrides), surrogates, private use, unassigned, line and paragraph
# separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# What shows nothing, or nothing of its own: Unicode's default-ignorable code points
# (U+034F, variation selectors, Hangul fillers, U+17B4...) and the blank Braille cell.
INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\u2800]")
MARKS = frozenset({"Mn", "Me"})
# UTS #39, 5.4: more than four nonspacing marks in a row draw on top of each other.
MAX_MARKS_IN_A_ROW = 4


def username_key(username: str) -> str:
    """The username's identity: equal keys, one user."""
    visible = "".join(c for c in username if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", visible).casefold()
    return unicodedata.normalize("NFKC", folded)


def named(character: str) -> str:
    name = unicodedata.name(character, "an unnamed character").lower()
    return f"U+{ord(character):04X} ({name})"


def refusal(username: str) -> str | None:
    """Why ``username`` cannot be a new user's name, or None when it can."""
    if username != username.strip():
        return "must not begin or end with a space"
    return character_refusal(username) or marks_refusal(username) or script_refusal(username)


def character_refusal(username: str) -> str | None:
    for character in username:
        category = unicodedata.category(character)
        if category in REFUSED_CATEGORIES or INVISIBLE.match(character):
            return (
                f"must not contain {named(character)}: control, invisible, direction "
                "and unassigned characters are refused"
            )
        if category == "Zs" and character != " ":
            return f"must not contain U+{ord(character):04X}: the only space allowed is U+0020"
    return None


def marks_refusal(username: str) -> str | None:
    """Combining marks belong on a letter: not first, at most four in a row, and not the
    same one twice in a row (each would hide in the one before)."""
    decomposed = unicodedata.normalize("NFD", username)
    if unicodedata.category(decomposed[0]) in MARKS | {"Mc"}:
        return f"must not begin with a combining mark ({named(decomposed[0])})"
    run: list[str] = []
    for character in decomposed:
        if unicodedata.category(character) not in MARKS:
            run = []
            continue
        if run and run[-1] == character:
            return f"must not repeat a combining mark ({named(character)})"
        run.append(character)
        if len(run) > MAX_MARKS_IN_A_ROW:
            return f"must not stack more than {MAX_MARKS_IN_A_ROW} combining marks"
    return None


def script_refusal(username: str) -> str | None:
    """Mixed scripts (shared_models.scripts), or a name of another script every letter
    of which looks like a Latin one (Cyrillic "аррӏе" for "apple")."""
    mixing = mixing_refusal(username)
    if mixing is not None:
        return mixing
    letters = [c for c in username if unicodedata.category(c).startswith("L")]
    if letters and not any(regex.match(r"\p{scx=Latin}", c) for c in letters):
        alike = confusables.is_confusable(
            "".join(letters), greedy=True, preferred_aliases=["latin"]
        )
        if alike and len({found["character"] for found in alike}) == len(set(letters)):
            return "must not be a name in another script that reads as a Latin one"
    return None
