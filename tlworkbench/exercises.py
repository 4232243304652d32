"""Exercises that check themselves: "change X, predict what happens, run it".

An exercise is written once, beside the experiment of its notebook, as a plain dictionary (a
*spec*), so that the experiments need nothing from this module; this module turns specs into
:class:`Exercise` objects, which judge an answer and say what is right or what to look at.

A spec has these keys:

* ``key`` (str): a short name, unique within its notebook (``"fewer_labels"``).
* ``prompt`` (str): what to change, what to predict, what to run, and what to pass to ``check``.
* ``solution`` (callable, no arguments): computes the right answer through the package. Tests
  run every solution, so an exercise stays right as the code changes. Keep it cheap: seconds on
  a small budget, or a read of a memoized experiment result.
* ``hint`` (str): where to look when the answer is not yet right.
* ``explain`` (str, or callable taking the right answer and returning a str, optional): why the
  right answer is right, shown with "Right:".
* ``tolerance`` (float, optional): a number is right within this absolute distance (default
  0: exact; numbers compare as floats).
* ``judge`` (callable ``(answer, right) -> bool``, optional): replaces the default comparison.
* ``wrong`` (any, optional): an answer that must be judged wrong (the tests check that it is).

The default comparison: numbers within ``tolerance``; strings ignoring case and surrounding
space; lists, tuples and dicts element by element with the same rules; anything else by ``==``.

Example:
    >>> spec = {"key": "double", "prompt": "Double 21.", "solution": lambda: 42,
    ...         "hint": "multiply by two", "wrong": 21}
    >>> ex = Exercise.from_spec(spec)
    >>> ex.check(42)
    Right: 42.
    >>> bool(ex.check(21))
    False
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ._validate import param_error

__all__ = ["Exercise", "ExerciseSheet", "Verdict", "exercise_sheet", "same_answer"]

_SPEC_KEYS = {"key", "prompt", "solution", "hint", "explain", "tolerance", "judge", "wrong"}


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def same_answer(answer: Any, right: Any, *, tolerance: float = 0.0) -> bool:
    """The default comparison of an answer with the right one.

    Numbers agree within ``tolerance`` (absolute), strings ignoring case and surrounding space,
    sequences and mappings element by element, anything else by ``==``.
    """
    if _is_number(right):
        if not _is_number(answer):
            return False
        a, r = float(answer), float(right)
        return (math.isnan(a) and math.isnan(r)) or abs(a - r) <= tolerance + 1e-12
    if isinstance(right, str):
        return isinstance(answer, str) and answer.strip().lower() == right.strip().lower()
    if isinstance(right, Mapping):
        return (isinstance(answer, Mapping) and set(answer) == set(right)
                and all(same_answer(answer[k], right[k], tolerance=tolerance) for k in right))
    if isinstance(right, (list, tuple)):
        return (isinstance(answer, (list, tuple)) and len(answer) == len(right)
                and all(same_answer(a, r, tolerance=tolerance) for a, r in zip(answer, right)))
    return bool(answer == right)


def _show(value: Any) -> str:
    if _is_number(value) and not float(value).is_integer():
        return f"{float(value):.4g}"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Verdict:
    """What a check found: ``ok`` (also the truth value) and the message shown.

    In a notebook the verdict displays as its message; ``bool(verdict)`` is ``ok``.
    """

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message

    __str__ = __repr__


@dataclass(frozen=True)
class Exercise:
    """One exercise: a prompt, the solution computed through the package, and a check.

    Attributes:
        key: short name, unique within its notebook.
        prompt: what to change, predict and run, and what to pass to :meth:`check`.
        solution: computes the right answer (no arguments).
        hint: where to look when an answer is not yet right.
        explain: why the right answer is right (a string, or a function of the right answer).
        tolerance: absolute tolerance for numbers.
        judge: ``(answer, right) -> bool``, replacing :func:`same_answer`.
        wrong: an answer known to be wrong (the tests check that it is told so).
    """

    key: str
    prompt: str
    solution: Callable[[], Any]
    hint: str = ""
    explain: str | Callable[[Any], str] = ""
    tolerance: float = 0.0
    judge: Callable[[Any, Any], bool] | None = None
    wrong: Any = None
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Exercise:
        """An exercise from its spec (see the module's docstring for the keys).

        Raises:
            InvalidParameterError: a spec without ``key``, ``prompt`` or a callable ``solution``,
                or with a key this module does not know.
        """
        func = "Exercise.from_spec"
        if not isinstance(spec, Mapping):
            raise param_error("spec", func, "a mapping with key, prompt and solution", type(spec).__name__)
        unknown = set(spec) - _SPEC_KEYS
        if unknown:
            raise param_error("spec", func, f"keys among {sorted(_SPEC_KEYS)}", sorted(unknown))
        for name in ("key", "prompt"):
            if not isinstance(spec.get(name), str) or not spec[name].strip():
                raise param_error("spec", func, f"a non-empty string under {name!r}", spec.get(name))
        if not callable(spec.get("solution")):
            raise param_error("spec", func, "a callable under 'solution'", spec.get("solution"),
                              hint="The solution computes the right answer through the package.")
        tolerance = spec.get("tolerance", 0.0)
        if not _is_number(tolerance) or tolerance < 0:
            raise param_error("spec", func, "a tolerance >= 0", tolerance)
        return cls(key=spec["key"], prompt=spec["prompt"].strip(), solution=spec["solution"],
                   hint=spec.get("hint", ""), explain=spec.get("explain", ""), tolerance=float(tolerance),
                   judge=spec.get("judge"), wrong=spec.get("wrong"))

    def right_answer(self) -> Any:
        """The right answer, computed once per exercise object and kept."""
        if "right" not in self._memo:
            self._memo["right"] = self.solution()
        return self._memo["right"]

    def is_right(self, answer: Any) -> bool:
        """Whether ``answer`` is right, without a message."""
        right = self.right_answer()
        if self.judge is not None:
            return bool(self.judge(answer, right))
        return same_answer(answer, right, tolerance=self.tolerance)

    def check(self, answer: Any) -> Verdict:
        """Judge ``answer``: "Right: ..." with the reason, or "Not yet: ..." with what to look at.

        Returns:
            A :class:`Verdict`; true when the answer is right. In a notebook it shows as its message.
        """
        right = self.right_answer()
        if answer is None or answer is ...:
            return Verdict(False, f"Not yet: no answer given. {self.prompt}")
        if self.is_right(answer):
            why = self.explain(right) if callable(self.explain) else self.explain
            return Verdict(True, f"Right: {_show(right)}." + (f" {why}" if why else ""))
        message = f"Not yet: {_show(answer)} is not it."
        if self.hint:
            message += f" Hint: {self.hint}"
            message += "" if message.endswith((".", "?")) else "."
        return Verdict(False, message)

    def show(self) -> str:
        """The prompt, for printing."""
        return f"{self.key}: {self.prompt}"

    def __str__(self) -> str:
        return self.show()


class ExerciseSheet(dict):
    """A notebook's exercises by key; ``sheet.check(key, answer)`` judges one."""

    def check(self, key: str, answer: Any) -> Verdict:
        """Judge ``answer`` to the exercise ``key`` (see :meth:`Exercise.check`).

        Raises:
            InvalidParameterError: no exercise of that key.
        """
        if key not in self:
            raise param_error("key", "ExerciseSheet.check", f"one of {sorted(self)}", key)
        return self[key].check(answer)

    def _repr_markdown_(self) -> str:
        return "\n".join(f"* **{k}**: {ex.prompt}" for k, ex in self.items())


def exercise_sheet(specs: ModuleType | Iterable[Mapping[str, Any]]) -> ExerciseSheet:
    """The exercises of a notebook, by key.

    Args:
        specs: a module whose ``EXERCISES`` lists the specs, or the specs themselves.

    Returns:
        An :class:`ExerciseSheet` (a dict of :class:`Exercise` by key, with ``check``).

    Raises:
        InvalidParameterError: no specs, or two with the same key.
    """
    func = "exercise_sheet"
    if isinstance(specs, ModuleType):
        if not hasattr(specs, "EXERCISES"):
            raise param_error("specs", func, "a module with an EXERCISES list", specs.__name__)
        specs = specs.EXERCISES
    sheet = ExerciseSheet()
    for spec in specs:
        ex = Exercise.from_spec(spec)
        if ex.key in sheet:
            raise param_error("specs", func, "unique keys", ex.key)
        sheet[ex.key] = ex
    if not sheet:
        raise param_error("specs", func, "at least one exercise", "none")
    return sheet
