"""Every notebook's exercises: each solution runs through the package and is judged right, a
wrong answer is told it is wrong, and the exercise API itself behaves (fast unit tests)."""

from __future__ import annotations

import importlib

import pytest

from tlworkbench.errors import InvalidParameterError
from tlworkbench.exercises import Exercise, Verdict, exercise_sheet, same_answer

#: The exercise modules of notebooks 00 to 07 and the seconds their solutions took on a loaded 2-core
#: machine (1 thread): those that load a data set and train or probe are marked slow.
MODULES = {
    "tlworkbench.experiments.exercises_tour": "slow",             # ~10 s: a probe on 500 + 1,000 images
    "tlworkbench.experiments.feature_extraction.exercises": "slow",  # ~20 s: three probes
    "tlworkbench.experiments.fine_tuning.exercises": "slow",      # ~20 s: two small CNNs trained
    "tlworkbench.experiments.domain_mismatch.exercises": "slow",  # ~25 s: AdaBN, MMD on 900 images
    "tlworkbench.experiments.negative_transfer.exercises": "slow",  # ~35 s: 15 probes
    "tlworkbench.experiments.model_selection.exercises": "slow",  # ~15 s: LogME of two sources
    "tlworkbench.experiments.exercises_unsupervised": "fast",     # ~2 s: k-means and k-NN on pixels
}


def _name(module: str) -> str:
    parts = module.split(".")
    return parts[-2] if parts[-1] == "exercises" else parts[-1].removeprefix("exercises_")


CASES = [pytest.param(mod, spec["key"], marks=[pytest.mark.slow] if speed == "slow" else [],
                      id=f"{_name(mod)}-{spec['key']}")
         for mod, speed in MODULES.items() for spec in importlib.import_module(mod).EXERCISES]


@pytest.mark.parametrize(("module", "key"), CASES)
def test_solution_is_right_and_a_wrong_answer_is_not(module, key):
    sheet = exercise_sheet(importlib.import_module(module))
    ex = sheet[key]
    right = ex.right_answer()
    verdict = ex.check(right)
    assert verdict.ok and verdict.message.startswith("Right:"), verdict.message
    assert "wrong" in next(s for s in importlib.import_module(module).EXERCISES if s["key"] == key)
    wrong = ex.check(ex.wrong)
    assert not wrong.ok and wrong.message.startswith("Not yet:") and "Hint:" in wrong.message, wrong.message
    assert not ex.check(None).ok


def test_every_numbered_exercise_module_has_two_or_three_exercises_with_a_prompt_and_a_hint():
    for module in MODULES:
        specs = importlib.import_module(module).EXERCISES
        assert 2 <= len(specs) <= 3, module
        for spec in specs:
            assert len(spec["prompt"]) > 60 and spec.get("hint"), (module, spec["key"])


def test_same_answer_compares_numbers_strings_and_sequences():
    assert same_answer(0.501, 0.5, tolerance=0.002) and not same_answer(0.51, 0.5, tolerance=0.002)
    assert same_answer(3, 3.0) and not same_answer(True, 1) and not same_answer("3", 3)
    assert same_answer(" MNIST ", "mnist") and not same_answer("mnist+invert1", "mnist")
    assert same_answer([1, "a"], (1.0, "A")) and not same_answer([1, 2], [1])
    assert same_answer({"a": 0.5}, {"a": 0.5004}, tolerance=0.001) and not same_answer({"b": 1}, {"a": 1})


def test_check_says_right_with_the_reason_or_not_yet_with_the_hint():
    calls = []
    ex = Exercise.from_spec({"key": "k", "prompt": "Double 21.", "solution": lambda: calls.append(1) or 42,
                             "hint": "multiply by two", "explain": lambda r: f"{r} is 2 x 21.", "wrong": 21})
    right = ex.check(42)
    assert isinstance(right, Verdict) and bool(right) and repr(right) == "Right: 42. 42 is 2 x 21."
    wrong = ex.check(41)
    assert not wrong and str(wrong) == "Not yet: 41 is not it. Hint: multiply by two."
    assert "no answer" in ex.check(None).message
    assert calls == [1]  # the solution ran once, however many checks


def test_a_judge_replaces_the_comparison():
    ex = Exercise.from_spec({"key": "k", "prompt": "Name a prime.", "solution": lambda: 7,
                             "judge": lambda answer, right: answer in (2, 3, 5, 7)})
    assert ex.check(3) and not ex.check(4)


def test_bad_specs_are_refused_with_the_reason():
    with pytest.raises(InvalidParameterError, match="callable under 'solution'"):
        Exercise.from_spec({"key": "k", "prompt": "p", "solution": 42})
    with pytest.raises(InvalidParameterError, match="keys among"):
        Exercise.from_spec({"key": "k", "prompt": "p", "solution": lambda: 1, "answer": 1})
    with pytest.raises(InvalidParameterError, match="tolerance >= 0"):
        Exercise.from_spec({"key": "k", "prompt": "p", "solution": lambda: 1, "tolerance": -1})
    spec = {"key": "k", "prompt": "p", "solution": lambda: 1}
    with pytest.raises(InvalidParameterError, match="unique keys"):
        exercise_sheet([spec, spec])
    with pytest.raises(InvalidParameterError, match="EXERCISES"):
        exercise_sheet(pytest)


def test_a_sheet_checks_by_key_and_lists_its_prompts():
    sheet = exercise_sheet([{"key": "a", "prompt": "Say yes.", "solution": lambda: "yes"}])
    assert sheet.check("a", "Yes").ok
    assert "**a**: Say yes." in sheet._repr_markdown_()
    with pytest.raises(InvalidParameterError, match="one of"):
        sheet.check("b", 1)


@pytest.mark.slow
def test_the_hand_written_loop_of_notebook_02_gives_fits_weights(tmp_path):
    """Runs the notebook's own cells of the section (about 15 s): the loop and fit on the same start."""
    from pathlib import Path

    import jupytext
    import matplotlib

    matplotlib.use("Agg")
    nb = jupytext.read(Path(__file__).resolve().parents[1] / "notebooks" / "02_fine_tuning.py")
    start = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## The training loop, by hand"))
    end = next(i for i, c in enumerate(nb.cells) if i > start and c.source.startswith("## "))
    code = [c.source for c in nb.cells[start:end] if c.cell_type == "code"]
    assert any("loss.backward()" in c and "optimizer.step()" in c for c in code)
    namespace: dict = {}
    exec("import matplotlib.pyplot as plt\nimport tlworkbench as tlw\nprof = tlw.get_profile('quick')", namespace)
    for source in code:
        exec(source, namespace)
    import matplotlib.pyplot as plt

    plt.close("all")
    # seen: 0.0 on the CPU (the same batches, the same float operations in the same order)
    assert namespace["largest_difference"] == 0.0
    assert namespace["losses"] == pytest.approx(namespace["fit_losses"], abs=1e-6)
    net, twin, test = namespace["net"], namespace["twin"], namespace["loop_test"]
    assert namespace["tlw"].evaluate(net, test).accuracy == namespace["tlw"].evaluate(twin, test).accuracy
    assert namespace["losses"][-1] < namespace["losses"][0]  # it learned
