"""api.uniqueness: the unique rules come from the model's indexes, each reported on the
field a client sends (a derived key on the field it is the identity of)."""

from __future__ import annotations

from api.uniqueness import UNIQUE_FIELDS, UNIQUE_PARAMETERS, USER_RULES, with_keys


def test_each_unique_index_of_users_is_a_rule_on_a_field_a_client_sends() -> None:
    assert [(rule.field, rule.parameter) for rule in USER_RULES] == [
        ("username", "username_key"),  # one user per identity (shared_models.identity)
        ("email", "email"),
    ]
    assert UNIQUE_FIELDS == ("username", "email")
    assert UNIQUE_PARAMETERS == ("username_key", "email")


def test_the_key_goes_with_a_username_and_only_with_one() -> None:
    assert with_keys({"username": "STRASSE", "bio": None}) == {
        "username": "STRASSE",
        "bio": None,
        "username_key": "strasse",
    }
    assert with_keys({"email": "a@x.org"}) == {"email": "a@x.org"}
