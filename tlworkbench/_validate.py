"""Argument checks for every public function: one checker per idea, messages generated.

Every message follows one template, "The 'x' parameter of f must be <what>. Got <value> instead.",
with a did-you-mean hint for names, so a caller reads the same kind of sentence from every
function. scikit-learn's ``validate_params``/``check_scalar`` are the model; they are private to
scikit-learn and raise its own error type, so the workbench keeps this small layer of its own.

Numbers follow numpy's abstract types: ``np.int64(3)`` is an int here and everywhere, ``True``
is never a number, and a float must be finite.

Example:
    >>> from tlworkbench._validate import check_int
    >>> check_int(3, "epochs", "fit", minimum=1)
    3
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import InvalidParameterError, UnknownNameError, did_you_mean

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_fraction",
    "check_int",
    "check_kwargs",
    "check_names",
    "check_optional",
    "check_sequence",
    "check_type",
    "param_error",
]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def param_error(name: str, func: str, expected: str, value: Any, *, hint: str = "",
                error: type[Exception] = InvalidParameterError) -> Exception:
    """Build (not raise) the error for a parameter that is not what ``func`` accepts."""
    message = f"The {name!r} parameter of {func} must be {expected}. Got {_show(value)} instead."
    return error(message + (f" {hint}" if hint else ""))


def _bounds(minimum: float | None, maximum: float | None, include_min: bool, include_max: bool) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>=' if include_min else '>'} {minimum:g}")
    if maximum is not None:
        parts.append(f"{'<=' if include_max else '<'} {maximum:g}")
    return " and ".join(parts)


def check_int(value: Any, name: str, func: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as a Python int when it is an integer in ``[minimum, maximum]``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and ((minimum is not None and value < minimum) or (maximum is not None and value > maximum)):
        ok = False
    if not ok:
        bounds = _bounds(minimum, maximum, True, True)
        raise param_error(name, func, "an int" + (f" {bounds}" if bounds else ""), value)
    return int(value)


def check_float(value: Any, name: str, func: str, *, minimum: float | None = None,
                maximum: float | None = None, include_min: bool = True, include_max: bool = True) -> float:
    """Return ``value`` as a finite float within the bounds (ints are accepted, bools are not)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if ok:
        v = float(value)
        if minimum is not None and (v < minimum or (v == minimum and not include_min)):
            ok = False
        if maximum is not None and (v > maximum or (v == maximum and not include_max)):
            ok = False
    if not ok:
        bounds = _bounds(minimum, maximum, include_min, include_max)
        raise param_error(name, func, "a finite number" + (f" {bounds}" if bounds else ""), value)
    return float(value)


def check_fraction(value: Any, name: str, func: str) -> float:
    """A number strictly between 0 and 1 (a split fraction, a quantile level)."""
    return check_float(value, name, func, minimum=0.0, maximum=1.0, include_min=False, include_max=False)


def check_bool(value: Any, name: str, func: str) -> bool:
    """``True`` or ``False`` (numpy bools too); anything else is an error rather than truthiness."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise param_error(name, func, "True or False", value)


def check_type(value: Any, name: str, func: str, types: type | tuple[type, ...], expected: str) -> Any:
    """Return ``value`` when it is an instance of ``types``; ``expected`` words the message."""
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise param_error(name, func, expected, value)
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def check_optional(value: Any, checker: Any, *args: Any, **kwargs: Any) -> Any:
    """``None`` passes through; anything else goes to ``checker(value, *args, **kwargs)``."""
    return None if value is None else checker(value, *args, **kwargs)


def check_choice(value: Any, name: str, func: str, choices: Iterable[Any], *,
                 error: type[Exception] = UnknownNameError, what: str = "one of") -> Any:
    """Return ``value`` when it is one of ``choices``; otherwise an error with a did-you-mean hint."""
    options = list(choices)
    try:
        if value in options:
            return value
    except TypeError:  # an unhashable or oddly comparing value is simply not among the choices
        pass
    listing = ", ".join(repr(o) for o in options)
    hint = did_you_mean(str(value), [str(o) for o in options]).strip() if isinstance(value, str) else ""
    raise param_error(name, func, f"{what} {listing}", value, hint=hint, error=error)


def check_names(values: Any, name: str, func: str, choices: Sequence[Any], *,
                error: type[Exception] = UnknownNameError, allow_empty: bool = False) -> tuple[Any, ...]:
    """A single name or a sequence of names, each one of ``choices``; returned as a tuple."""
    items = (values,) if isinstance(values, str) or not isinstance(values, Iterable) else tuple(values)
    if not items and not allow_empty:
        raise param_error(name, func, "a non-empty list of names", values)
    for item in items:
        check_choice(item, name, func, choices, error=error)
    return items


def check_kwargs(kwargs: Mapping[str, Any], func: str, allowed: Iterable[str]) -> None:
    """Reject keyword arguments that ``func`` does not take, with the closest allowed name."""
    options = sorted(allowed)
    for key in kwargs:
        if key not in options:
            hint = did_you_mean(key, options)
            raise InvalidParameterError(f"{func} got an unexpected keyword argument {key!r}.{hint} "
                                        f"Allowed: {', '.join(options) or 'none'}.")


def check_sequence(values: Any, name: str, func: str, checker: Any = None, *args: Any,
                   **kwargs: Any) -> tuple[Any, ...]:
    """A non-empty sequence (a string or a scalar is not one), returned as a tuple.

    Each item goes through ``checker(item, f"{name}[i]", func, *args, **kwargs)`` when a checker
    is given, so a bad item is named by its position: "The 'budgets[1]' parameter of f ...".
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise param_error(name, func, "a non-empty list or tuple", values)
    items = tuple(values)
    if not items:
        raise param_error(name, func, "a non-empty list or tuple", values)
    if checker is None:
        return items
    return tuple(checker(item, f"{name}[{i}]", func, *args, **kwargs) for i, item in enumerate(items))
