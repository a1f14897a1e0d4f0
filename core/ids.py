"""Ids as they arrive in URLs, forms, query strings and JSON."""

# The largest value of a PostgreSQL bigint: larger ids cannot exist, and must not reach
# the database as a query parameter.
MAX_ID = 2**63 - 1


def as_id(value: object) -> int | None:
    """`value` as a database id when it is written as one (ASCII digits, or an int from a
    URL converter, within the id range), else None. Python's int() also reads " 1", "+1",
    "1_0" and other scripts' digits, which no id typed, posted or in a URL should be."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        number = int(value)
        return number if 0 < number <= MAX_ID else None
    return None
