"""The metrics a PromQL expression names, and its selectors (a name and its matchers):
enough of PromQL's grammar to tell a metric from a function, an aggregation, a keyword
or a label list, for the queries of the dashboard and the rules."""

from __future__ import annotations

import re

TOKEN = re.compile(
    r"""\s+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\[[^\]]*\]|\{[^}]*\}"""
    r"""|[A-Za-z_:][\w:]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-z]*|."""
)
# Followed by a parenthesised list of labels, not of expressions.
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = LABEL_LISTS | {"and", "or", "unless", "bool", "offset", "inf", "nan", "Inf", "NaN"}
# Aggregations may take `by (...)` before their parenthesis: never metrics.
AGGREGATIONS = {
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev",
    "stdvar", "count_values", "group",
}  # fmt: skip


def selectors(expr: str) -> list[str]:
    """Each vector selector, as written: ``name`` or ``name{matchers}``."""
    tokens = [token for token in TOKEN.findall(expr) if not token.isspace()]
    found = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token in LABEL_LISTS and following == "(":
            index = tokens.index(")", index)  # label lists hold no parentheses
        elif (
            re.fullmatch(r"[A-Za-z_:][\w:]*", token)
            and token not in KEYWORDS | AGGREGATIONS
            and following != "("  # a function's name
        ):
            found.append(token + (following if following.startswith("{") else ""))
        index += 1
    return found


def metric_names(expr: str) -> set[str]:
    return {selector.split("{", 1)[0] for selector in selectors(expr)}
