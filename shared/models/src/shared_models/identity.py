"""Which usernames are one user (equal keys) and which a new user may not take.

The key: format characters dropped, NFKC, full case folding, NFKC again (folding can
undo it); RFC 8265's UsernameCaseMapped but for case folding over lowercasing and no
Bidi Rule (direction controls are refused instead). ``İstanbul`` and ``istanbul`` stay
two: folding keeps the dot. The name is stored and shown as given. docs/api.md says
what is refused and why.
"""

from __future__ import annotations

import unicodedata

# Unicode general categories no username may hold: controls, format characters (ZWJ,
# bidirectional overrides), surrogates, private use, unassigned, line and paragraph
# separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def username_key(username: str) -> str:
    """The username's identity: equal keys, one user."""
    visible = "".join(c for c in username if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", visible).casefold()
    return unicodedata.normalize("NFKC", folded)


def refusal(username: str) -> str | None:
    """Why ``username`` cannot be a new user's name, or None when it can."""
    if username != username.strip():
        return "must not begin or end with a space"
    for character in username:
        category = unicodedata.category(character)
        if category in REFUSED_CATEGORIES:
            return (
                f"must not contain U+{ord(character):04X} "
                f"({unicodedata.name(character, 'an unnamed character').lower()}): "
                "control, invisible, direction and unassigned characters are refused"
            )
        if category == "Zs" and character != " ":
            return f"must not contain U+{ord(character):04X}: the only space allowed is U+0020"
    return None
