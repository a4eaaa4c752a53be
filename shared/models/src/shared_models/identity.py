"""Which usernames are one user: the identity rule, and its key.

Two usernames are one user when their keys are equal. The key is the name with its
format characters removed (zero-width joiners, bidirectional controls: invisible),
then Unicode compatibility normalisation (NFKC: a fullwidth ``Ｚ`` is ``Z``, a ligature
``ﬁ`` is ``fi``, a composed ``é`` and ``e`` + combining accent are one), then full case
folding (``straße`` and ``STRASSE`` are one; PostgreSQL's ``lower()`` is not case
folding), and NFKC again (folding can undo it). It follows RFC 8265's
UsernameCaseMapped profile in what it maps; it differs in two stated ways: case folding
rather than lowercasing (folding is Unicode's operation for caseless matching, and makes
``straße`` one with ``STRASSE``), and no Bidi Rule (RFC 5893): a name may mix scripts
and directions, but no direction control is allowed in it.

So ``İstanbul`` (a dotted capital I, a letter of its own) and ``istanbul`` are two users:
folding keeps the dot (``i̇``), where ``lower()`` in PostgreSQL's C locale dropped it.

A new username is refused (``refusal``) when it holds what would make two names look
alike: control and format characters, private-use, unassigned or surrogate code points,
line or paragraph separators, any space but U+0020, or a space at either end. What is
stored and shown is the name as given; only the key is normalised.
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
