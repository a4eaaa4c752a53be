"""The generated documentation matches the code it is generated from."""

from tools import docs
from tools.configuration import all_variables


def test_env_example_and_readme_tables_are_up_to_date() -> None:
    assert docs.main(["--check"]) == 0, "run `make docs` and commit the result"


def test_every_variable_is_documented_with_a_meaning() -> None:
    env_example = docs.ENV_EXAMPLE.read_text()
    for variable in all_variables():
        assert variable.description, f"{variable.name} has no description in its settings class"
        assert f"# {variable.name}=" in env_example
