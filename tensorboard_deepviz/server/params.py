"""Parsing of request parameters, including deepViz's Direct Compare axis selections."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, TypeVar

from .access import NotFound, RequestError

T = TypeVar("T")
MAX_PARAMETER_LENGTH = 4096


def text(args: Mapping[str, str], name: str, *, required: bool = True, default: Optional[str] = None) -> Optional[str]:
    """A string parameter; ``RequestError`` if required and absent or empty."""
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise RequestError(f"missing required parameter {name!r}")
        return default
    if len(value) > MAX_PARAMETER_LENGTH:
        raise RequestError(f"parameter {name!r} is too long ({len(value)} characters)")
    return value


def integer(
    args: Mapping[str, str],
    name: str,
    *,
    required: bool = False,
    minimum: Optional[int] = None,
    maximum: Optional[int] = None,
    default: Optional[int] = None,
) -> Optional[int]:
    """An integer parameter within bounds; ``RequestError`` naming it otherwise."""
    raw = text(args, name, required=required)
    if raw is None:
        return default
    value = _to_int(raw, name)
    if minimum is not None and value < minimum:
        raise RequestError(f"parameter {name!r} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise RequestError(f"parameter {name!r} must be at most {maximum}, got {value}")
    return value


def choice(args: Mapping[str, str], name: str, options: Sequence[str], default: str) -> str:
    value = text(args, name, required=False, default=default)
    if value not in options:
        raise RequestError(f"parameter {name!r} must be one of {', '.join(options)}; got {value!r}")
    return value


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
    missing = [v for v in wanted if v not in set(available)]
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
