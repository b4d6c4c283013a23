"""Parsing of request parameters, including Direct Compare's axis selections.

Every function raises ``RequestError`` (400) with a message naming the parameter and what is
wrong with it, or ``NotFound`` (404) for a selection naming a step, layer or index the log does
not hold; routes call them before reading anything.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence, overload

from .errors import NotFound, RequestError

MAX_PARAMETER_LENGTH = 4096


def optional_text(args: Mapping[str, str], name: str) -> Optional[str]:
    """A string parameter, or None when absent or empty."""
    value = args.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_PARAMETER_LENGTH:
        raise RequestError(f"parameter {name!r} is too long ({len(value)} characters)")
    return value


def text(args: Mapping[str, str], name: str) -> str:
    """A required string parameter; ``RequestError`` if absent or empty."""
    value = optional_text(args, name)
    if value is None:
        raise RequestError(f"missing required parameter {name!r}")
    return value


@overload
def optional_integer(
    args: Mapping[str, str],
    name: str,
    *,
    minimum: Optional[int] = None,
    maximum: Optional[int] = None,
    default: int,
) -> int: ...


@overload
def optional_integer(
    args: Mapping[str, str],
    name: str,
    *,
    minimum: Optional[int] = None,
    maximum: Optional[int] = None,
    default: None = None,
) -> Optional[int]: ...


def optional_integer(
    args: Mapping[str, str],
    name: str,
    *,
    minimum: Optional[int] = None,
    maximum: Optional[int] = None,
    default: Optional[int] = None,
) -> Optional[int]:
    """An integer parameter within bounds, or ``default`` when absent; ``RequestError`` naming it otherwise."""
    raw = optional_text(args, name)
    if raw is None:
        return default
    return _bounded(_to_int(raw, name), name, minimum, maximum)


def integer(args: Mapping[str, str], name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """A required integer parameter within bounds; ``RequestError`` naming it otherwise."""
    return _bounded(_to_int(text(args, name), name), name, minimum, maximum)


def _bounded(value: int, name: str, minimum: Optional[int], maximum: Optional[int]) -> int:
    if minimum is not None and value < minimum:
        raise RequestError(f"parameter {name!r} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise RequestError(f"parameter {name!r} must be at most {maximum}, got {value}")
    return value


def choice(args: Mapping[str, str], name: str, options: Sequence[str], default: Optional[str] = None) -> str:
    """One of ``options``; ``default`` (the first option when None) when absent. ``RequestError`` listing them otherwise."""
    value = optional_text(args, name)
    if value is None:
        return options[0] if default is None else default
    if value not in options:
        raise RequestError(f"parameter {name!r} must be one of {', '.join(options)}; got {value!r}")
    return value


def optional_range(args: Mapping[str, str], name: str) -> Optional[tuple[float, float]]:
    """A ``low,high`` pair of finite numbers with ``low <= high``, or None when absent."""
    value = optional_text(args, name)
    if value is None:
        return None
    parts = value.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise RequestError(f"parameter {name!r} must be two numbers 'low,high', got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise RequestError(f"parameter {name!r} must be finite with low <= high, got {value!r}")
    return low, high


def _to_int(raw: str, name: str) -> int:
    try:
        if len(raw.strip()) > 19:
            raise ValueError
        return int(raw.strip(), 10)
    except ValueError:
        raise RequestError(f"parameter {name!r} must be an integer, got {raw!r}") from None


def select_values(spec: Optional[str], available: Sequence[int], name: str) -> list[int]:
    """Select numbers (steps) by value: ``"500"``, ``"100:900"`` (inclusive, open ends allowed), ``"0,500"``; absent = all.

    A single value or a list naming a value that is not available is ``NotFound``.
    """
    if spec is None or spec == "":
        return list(available)
    if len(spec) > MAX_PARAMETER_LENGTH:
        raise RequestError(f"parameter {name!r} is too long")
    if ":" in spec:
        low_text, _, high_text = spec.partition(":")
        low = _to_int(low_text, name) if low_text.strip() else None
        high = _to_int(high_text, name) if high_text.strip() else None
        return [v for v in available if (low is None or v >= low) and (high is None or v <= high)]
    wanted = [_to_int(part, name) for part in spec.split(",")]
    present = set(available)
    missing = [v for v in wanted if v not in present]
    if missing:
        raise NotFound(f"{name} {missing} not available")
    return list(dict.fromkeys(wanted))


def select_names(spec: Optional[str], available: Sequence[str], name: str) -> list[str]:
    """Select names (layers) in their order: ``"conv1"``, ``"conv1:fc1"`` (inclusive range by position), ``"a,b"``; absent = all."""
    if spec is None or spec == "":
        return list(available)
    if len(spec) > MAX_PARAMETER_LENGTH:
        raise RequestError(f"parameter {name!r} is too long")
    position = {value: i for i, value in enumerate(available)}

    def index_of(value: str) -> int:
        if value not in position:
            raise NotFound(f"unknown {name} {value!r}; available: {', '.join(available)}")
        return position[value]

    if ":" in spec:
        low_text, _, high_text = spec.partition(":")
        low = index_of(low_text) if low_text else 0
        high = index_of(high_text) if high_text else len(available) - 1
        return list(available[low : high + 1])
    wanted = spec.split(",")
    for value in wanted:
        index_of(value)
    return list(dict.fromkeys(wanted))


def select_indices(spec: Optional[str], count: int, name: str, *, limit: int) -> list[int]:
    """Select indices in ``0..count-1``: ``"3"``, ``"0:7"`` (inclusive), ``"1,4,9"``; absent = all.

    More than ``limit`` selected is a ``RequestError``; an index out of range is ``NotFound``.
    """
    selected: Sequence[int]
    if spec is None or spec == "":
        selected = range(count)
    elif ":" in spec:
        low_text, _, high_text = spec.partition(":")
        low = _to_int(low_text, name) if low_text.strip() else 0
        high = _to_int(high_text, name) if high_text.strip() else count - 1
        if low < 0 or high < low:
            raise RequestError(f"parameter {name!r} has an empty or negative range {spec!r}")
        selected = range(low, min(high, count - 1) + 1)
    else:
        if spec.count(",") >= limit:
            raise RequestError(f"parameter {name!r} selects more than {limit} entries")
        selected = list(dict.fromkeys(_to_int(part, name) for part in spec.split(",")))
        outside = [i for i in selected if not 0 <= i < count]
        if outside:
            raise NotFound(f"{name} {outside[:10]} outside 0..{count - 1}")
    if len(selected) > limit:
        raise RequestError(f"parameter {name!r} selects {len(selected)} entries; at most {limit} are allowed")
    return list(selected)
