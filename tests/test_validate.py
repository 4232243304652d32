"""The validation layer: one checker per idea, one message template, TLWError throughout."""

from __future__ import annotations

import numpy as np
import pytest

from tlworkbench import _validate as v
from tlworkbench.config import resolve_progress
from tlworkbench.errors import InvalidParameterError, TLWError, UnknownNameError


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_check_int_accepts_every_integer_type(value):
    out = v.check_int(value, "epochs", "fit", minimum=1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, 3.0, "3", None, 0, 11])
def test_check_int_rejects_with_the_template(value):
    with pytest.raises(InvalidParameterError) as info:
        v.check_int(value, "epochs", "fit", minimum=1, maximum=10)
    message = str(info.value)
    assert message.startswith("The 'epochs' parameter of fit must be an int >= 1 and <= 10. Got ")
    assert message.endswith(f"{value!r} instead.")
    assert isinstance(info.value, (TLWError, ValueError, TypeError))


def test_check_float_bounds_and_finiteness():
    assert v.check_float(np.float32(0.5), "lr", "fit", minimum=0, include_min=False) == 0.5
    assert v.check_float(2, "lr", "fit") == 2.0
    for bad in (0.0, float("nan"), float("inf"), True, "1e-3"):
        with pytest.raises(InvalidParameterError, match="'lr' parameter of fit must be a finite number"):
            v.check_float(bad, "lr", "fit", minimum=0, include_min=False)
    with pytest.raises(InvalidParameterError, match="> 0 and < 1"):
        v.check_fraction(1.0, "test_fraction", "load_image_folder")


def test_check_choice_suggests_the_closest_name():
    assert v.check_choice("train", "split", "load_dataset", ("train", "test")) == "train"
    with pytest.raises(UnknownNameError) as info:
        v.check_choice("tset", "split", "load_dataset", ("train", "test"))
    assert "Did you mean 'test'?" in str(info.value) and "'train', 'test'" in str(info.value)
    with pytest.raises(UnknownNameError):  # unhashable values are simply not among the choices
        v.check_choice(["train"], "split", "load_dataset", ("train", "test"))


def test_check_names_takes_one_name_or_many():
    assert v.check_names("a", "groups", "freeze", ["a", "b"]) == ("a",)
    assert v.check_names(["a", "b"], "groups", "freeze", ["a", "b"]) == ("a", "b")
    with pytest.raises(InvalidParameterError, match="non-empty"):
        v.check_names([], "groups", "freeze", ["a"])
    with pytest.raises(UnknownNameError, match="'c'"):
        v.check_names(["a", "c"], "groups", "freeze", ["a", "b"])


def test_check_kwargs_rejects_misspelt_keywords():
    v.check_kwargs({"num_classes": 3}, "load_model", ["num_classes", "weights"])
    with pytest.raises(InvalidParameterError, match="unexpected keyword argument 'num_clases'. Did you mean 'num_classes'"):
        v.check_kwargs({"num_clases": 3}, "load_model", ["num_classes", "weights"])


def test_bool_type_and_optional():
    assert v.check_bool(np.bool_(True), "frozen", "set_frozen") is True
    with pytest.raises(InvalidParameterError, match="True or False. Got 1 instead"):
        v.check_bool(1, "frozen", "set_frozen")
    assert v.check_type([1], "x", "f", list, "a list") == [1]
    with pytest.raises(InvalidParameterError, match="must be a list. Got 'ab' instead"):
        v.check_type("ab", "x", "f", list, "a list")
    assert v.check_optional(None, v.check_int, "n", "f", minimum=1) is None
    assert v.check_optional(np.int64(2), v.check_int, "n", "f", minimum=1) == 2


def test_long_values_are_shortened_in_messages():
    with pytest.raises(InvalidParameterError) as info:
        v.check_int(list(range(1000)), "n", "f")
    assert len(str(info.value)) < 200 and "..." in str(info.value)


def test_progress_none_means_off_outside_a_kernel():
    assert resolve_progress(None) is False
    assert resolve_progress(True) is True and resolve_progress(np.bool_(False)) is False
    with pytest.raises(InvalidParameterError, match="'progress' parameter"):
        resolve_progress("yes")
