"""The unique rules of users come from the model's indexes, each reported on the field a
client sends (a derived key on the field it is the identity of); the key goes with a
username."""

from __future__ import annotations

from api.users.statements import UNIQUE
from api.users.writes import with_username_key


def test_each_unique_index_of_users_is_a_rule_on_a_field_a_client_sends() -> None:
    assert [(rule.field, rule.parameter) for rule in UNIQUE.rules] == [
        ("username", "username_key"),  # one user per identity (shared_models.identity)
        ("email", "email"),
    ]
    assert UNIQUE.fields == ("username", "email")
    assert UNIQUE.parameters == ("username_key", "email")


def test_the_key_goes_with_a_username_and_only_with_one() -> None:
    assert with_username_key({"username": "STRASSE", "bio": None}) == {
        "username": "STRASSE",
        "bio": None,
        "username_key": "strasse",
    }
    assert with_username_key({"email": "a@x.org"}) == {"email": "a@x.org"}
