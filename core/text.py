from typing import Any, overload


@overload
def without_nul(value: str) -> str: ...
@overload
def without_nul(value: dict[str, Any]) -> dict[str, Any]: ...
@overload
def without_nul(value: object) -> object: ...
def without_nul(value: object) -> object:
    """`value` with NUL characters dropped from every string in it (dicts and lists
    walked): PostgreSQL text and jsonb cannot hold NUL, and typed input may carry one."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value
