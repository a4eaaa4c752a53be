"""The identity rule (shared_models.identity): which usernames are one user, and which
cannot be a new one's."""

import unicodedata

import pytest

from shared_models.identity import refusal, username_key


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("José", "Jose\u0301"),  # composed, and e + combining acute accent
        ("Zoe", "\uff3aoe"),  # fullwidth Z
        ("Zoe", "zoe"),
        ("straße", "STRASSE"),  # full case folding, which lower() is not
        ("\ufb01le", "FILE"),  # the fi ligature
        ("Zoe", "Zoe\u200d"),  # a zero-width joiner (refused in new names, stripped in keys)
        ("Zoe", "\u202eZoe"),  # a right-to-left override, the same
        # Compatibility forms whose case only NFKC reveals: folding must come after it.
        ("\u1d2cda", "ada"),  # MODIFIER LETTER CAPITAL A: NFKC gives "A", folding "a"
        ("\u2124oe", "zoe"),  # DOUBLE-STRUCK CAPITAL Z: NFKC gives "Z"
    ],
)
def test_look_alikes_are_one_user(one: str, other: str) -> None:
    assert username_key(one) == username_key(other)


@pytest.mark.parametrize(
    "name", ["\u01f0", "\u01f0ames", "J\u030cames", "\u0390", "\u1e96", "Stra\u00dfe", "ǅ"]
)
def test_a_key_is_itself_normalised(name: str) -> None:
    """Case folding can undo NFKC: ǰ (U+01F0) folds to j + a combining caron, which NFKC
    composes again. A key that is not NFKC would let two spellings of one name differ."""
    key = username_key(name)
    assert unicodedata.is_normalized("NFKC", key), ascii(key)
    assert username_key(key) == key


@pytest.mark.parametrize(
    ("one", "other"),
    [("İstanbul", "istanbul"), ("Zoe", "Zoë"), ("Zoe", "Zoe "), ("ab", "a b")],
)
def test_different_names_stay_different(one: str, other: str) -> None:
    assert username_key(one) != username_key(other)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Zoe\u200d", "U+200D"),
        ("\u202eZoe", "U+202E"),
        ("Zoe ", "a space at either end"),
        (" Zoe", "a space at either end"),
        ("Zo\te", "U+0009"),
        ("Zo\u00a0e", "the only space allowed is U+0020"),
        ("Zo\u3000e", "the only space allowed is U+0020"),
        ("Zo\ue000e", "U+E000"),  # private use
        ("Zo\u2028e", "U+2028"),  # line separator
        ("Zo\u2029e", "U+2029"),  # paragraph separator
        ("Zo\u0378e", "U+0378"),  # unassigned: a later Unicode may make it anything
        ("Zo\U000e0001e", "U+E0001"),  # a language tag (a format character)
        # Invisible: default-ignorable code points, and the blank Braille cell.
        ("ad\u034fmin", "U+034F"),  # combining grapheme joiner
        ("admin\ufe0f", "U+FE0F"),  # variation selector-16
        ("admin\U000e0100", "U+E0100"),  # variation selector-17
        ("admin\u3164", "U+3164"),  # Hangul filler
        ("\u115fadmin", "U+115F"),  # Hangul choseong filler
        ("admin\u17b4", "U+17B4"),  # Khmer vowel inherent AQ
        ("admin\u2800", "U+2800"),  # Braille pattern blank
        # Combining marks: on a letter, at most four in a row, not one twice.
        ("\u0301", "begin with a combining mark"),
        ("\u0301admin", "begin with a combining mark"),
        ("a" + "\u0301" * 49, "repeat a combining mark"),
        ("a\u0300\u0301\u0302\u0303\u0304", "more than 4 combining marks"),
        # Scripts mixed so that a name passes for another (UTS #39).
        ("\u0430dmin", "mix Cyrillic and Latin"),  # a Cyrillic a
        ("b\u03bfb", "mix Greek and Latin"),  # a Greek omicron
        ("\u03a9mega", "mix Greek and Latin"),
        ("\u0418van Ivan", "mix Cyrillic and Latin"),
        ("\u13f4\u13aa\u13a1", "not in common use"),  # Cherokee, which looks Latin
        ("\u0430\u0440\u0440\u04cf\u0435", "reads as a Latin one"),  # Cyrillic "apple"
    ],
)
def test_a_name_that_could_pass_for_another_is_refused(name: str, why: str) -> None:
    reason = refusal(name)
    assert reason is not None
    assert why.replace("a space at either end", "begin or end with a space") in reason


@pytest.mark.parametrize(
    "name",
    [
        "José",
        "ada lovelace",
        "Zoë",
        "李雷",
        "O'Brien-2",
        "Иван",  # one script, Cyrillic
        "Ωμέγα",  # one script, Greek
        "山田太郎",
        "tanakaさん",  # Latin with Japanese
        "Kim 김",  # Latin with Korean
        "Nguyễn",  # two marks on one letter
        "คุณ",  # Thai, a vowel and a tone mark stacked
        "admin😀",  # an emoji is of no script
    ],
)
def test_ordinary_names_are_taken(name: str) -> None:
    assert refusal(name) is None
