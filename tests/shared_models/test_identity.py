"""The identity rule (shared_models.identity): which usernames are one user, and which
cannot be a new one's."""

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
    ],
)
def test_look_alikes_are_one_user(one: str, other: str) -> None:
    assert username_key(one) == username_key(other)


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
    ],
)
def test_a_name_that_could_pass_for_another_is_refused(name: str, why: str) -> None:
    reason = refusal(name)
    assert reason is not None
    assert why.replace("a space at either end", "begin or end with a space") in reason


@pytest.mark.parametrize("name", ["José", "ada lovelace", "Zoë", "李雷", "Ωmega", "O'Brien-2"])
def test_ordinary_names_are_taken(name: str) -> None:
    assert refusal(name) is None
