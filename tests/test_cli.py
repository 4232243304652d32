"""The report command's parts: the plot gallery and the report page, on small made-up notebooks."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest
import pandas as pd

from tlworkbench import cli, plots

ROOT = Path(__file__).resolve().parent.parent
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n-made-up-").decode()


def _executed(path: Path, cells: list[tuple[str, bool]]) -> Path:
    nb = nbformat.v4.new_notebook()
    for source, with_png in cells:
        cell = nbformat.v4.new_code_cell(source)
        if with_png:
            cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_plot_kinds_are_the_plot_functions():
    kinds = cli.plot_kinds()
    assert "plot_confusion" in kinds and "plot_worst" in kinds
    assert all(callable(getattr(plots, k)) for k in kinds)


def test_gallery_takes_the_first_figure_of_each_call(tmp_path):
    a = _executed(tmp_path / "00_a.ipynb", [("plots.plot_confusion(y, p)", True),
                                             ("x = 1  # plots.plot_history( in a cell without a figure", False),
                                             ("ax = plots.plot_history(h)\nplots.plot_per_class(t, ax=ax)", True)])
    b = _executed(tmp_path / "01_b.ipynb", [("plots.plot_confusion(y2, p2)", True),
                                             ("panel = tlw.FreezePanel(model)", True)])
    found = cli.gallery([a, b])
    assert set(found) == {"plot_confusion", "plot_history", "plot_per_class", "FreezePanel"}
    assert found["plot_confusion"][0] == "00_a"  # the first notebook wins
    assert found["FreezePanel"] == ("01_b", PNG)


def test_report_lists_every_plot_kind_and_says_which_are_missing(tmp_path):
    _executed(tmp_path / "00_a.ipynb", [("plots.plot_confusion(y, p)", True)])
    results = pd.DataFrame([{"notebook": "00_a", "status": "ok", "seconds": 1.0, "error": ""}])
    page = cli.write_report(results, tmp_path, profile="quick").read_text()
    assert "<code>plots.plot_confusion</code>" in page
    missing = re.search(r"Not drawn by the notebooks run: ([^<]*)", page).group(1).split(", ")
    assert set(missing) == set(cli.plot_kinds()) - {"plot_confusion"}
    assert "No screenshot" in page  # no freeze_panel.png in this folder


def test_the_notebooks_draw_every_plot_kind():
    sources = "\n".join(p.read_text() for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")))
    drawn = {m.group(1) for m in re.finditer(r"\bplots\.(plot_\w+)\s*\(", sources)}
    assert set(cli.plot_kinds()) <= drawn, set(cli.plot_kinds()) - drawn


def test_results_markdown_quotes_each_conclusion(tmp_path):
    path = _executed(tmp_path / "00_a.ipynb", [("print(result.conclusion)", False)])
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                  text="Accuracy reached 81.0% on 1,000 images. More text.\nLine 2\n")]
    nbformat.write(nb, path)
    results = pd.DataFrame([{"notebook": "00_a", "status": "ok", "seconds": 98.4, "error": ""},
                            {"notebook": "01_b", "status": "failed", "seconds": 3.0, "error": "PapermillExecutionError: x"}])
    table = cli.results_markdown(results, tmp_path, profile="quick").splitlines()
    assert table[0].startswith("| notebook | status | wall time (quick profile)")
    assert table[2] == "| 00_a | ok | 98 s | Accuracy reached 81.0% on 1,000 images. |"
    assert table[3] == "| 01_b | failed | 3 s | PapermillExecutionError: x |"


def test_tlw_notebooks_copies_the_numbered_notebooks_and_keeps_what_is_there(tmp_path, capsys):
    from tlworkbench.cli import copy_notebooks, main, notebooks_folder

    source = notebooks_folder()
    expected = sorted(p.name for p in source.glob("[0-9][0-9]_*") if p.suffix in (".ipynb", ".py"))
    assert main(["notebooks", str(tmp_path / "mine")]) == 0
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == expected
    assert "00_tour.ipynb" in expected and f"copied {len(expected)} files" in capsys.readouterr().out
    (tmp_path / "mine" / "00_tour.ipynb").write_text("my edits")
    with pytest.raises(FileExistsError, match="00_tour.ipynb.*--force"):
        copy_notebooks(tmp_path / "mine")
    assert (tmp_path / "mine" / "00_tour.ipynb").read_text() == "my edits"
    copy_notebooks(tmp_path / "mine", force=True)
    assert (tmp_path / "mine" / "00_tour.ipynb").read_text() != "my edits"


def test_the_wheel_carries_the_notebooks_and_the_tlw_command(tmp_path):
    import subprocess
    import sys
    import zipfile

    import shutil

    src = tmp_path / "src"  # a copy, so that the build leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("tlworkbench", "notebooks"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(src)], check=True)
    wheel = next(tmp_path.glob("tlworkbench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("data/share/tlworkbench/notebooks/00_tour.ipynb") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tlw = tlworkbench.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_run_notebooks_executes_in_the_profile_over_local_sockets(tmp_path, capfd):
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("profile = 'full'", metadata={"tags": ["parameters"]}),
                  nbformat.v4.new_code_cell("print(profile)")]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "books").mkdir()
    nbformat.write(book, tmp_path / "books" / "00_tiny.ipynb")
    results = cli.run_notebooks(tmp_path / "books", tmp_path / "out", profile="quick")
    assert results["status"].tolist() == ["ok"]
    executed = nbformat.read(tmp_path / "out" / "00_tiny.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "quick\n"
    assert "without encryption" not in capfd.readouterr().err


def _made_up_notebook(path: Path, *, title: str, question: str, conclusion: str, key_tag: bool = False) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n**Question.** {question}\nsecond line.\n\nMore text."),
                nbformat.v4.new_code_cell("plots.plot_samples(x)"),
                nbformat.v4.new_code_cell("result = run_thing(profile=prof.name)"),
                nbformat.v4.new_code_cell("plots.plot_history(h)", metadata={"tags": ["key_figure"]} if key_tag else {}),
                nbformat.v4.new_code_cell("print(result.conclusion)"),
                nbformat.v4.new_code_cell("sheet.check('k', 1)")]
    for i in (1, 3):
        nb.cells[i].outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG + str(i)})]
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text=conclusion + "\n")]
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", name="stdout", text="Right: 1.\n")]
    nbformat.write(nb, path)
    return path


def test_the_report_opens_with_each_question_conclusion_key_figure_and_link(tmp_path):
    _made_up_notebook(tmp_path / "00_a.ipynb", title="00 · A tour", question="What *does* it `know`?",
                      conclusion="Probe minus scratch +3 points [−3, +9], n = 5, inconclusive. More.")
    results = pd.DataFrame([{"notebook": "00_a", "status": "ok", "seconds": 21.0, "error": ""},
                            {"notebook": "01_b", "status": "failed", "seconds": 3.0, "error": "PapermillExecutionError: x"}])
    page = cli.write_report(results, tmp_path, profile="quick").read_text()
    card = page[page.index("<section class='notebook' id='nb-00_a'>"):page.index("</section>")]
    assert "<h2>00 · A tour</h2>" in card
    assert "<b>Question.</b> What <i>does</i> it <code>know</code>? second line.</p>" in card
    assert "Probe minus scratch +3 points [−3, +9], n = 5, inconclusive. More." in card
    assert f"base64,{PNG}3'" in card  # the first figure after the experiment's run_ cell
    assert "<a href='00_a.html'>the executed notebook</a>" in card and (tmp_path / "00_a.html").exists()
    assert "Failed: PapermillExecutionError: x" in page and "<style>" in page
    assert page.index("id='nb-00_a'") < page.index("<h2>The run</h2>")  # the cards come first
    assert cli.headline(tmp_path / "00_a.ipynb") == "Probe minus scratch +3 points [−3, +9], n = 5, inconclusive."


def test_a_cell_tagged_key_figure_wins(tmp_path):
    path = _made_up_notebook(tmp_path / "00_a.ipynb", title="t", question="q", conclusion="c", key_tag=True)
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].metadata["tags"] = ["key_figure"]
    nbformat.write(nb, path)
    assert cli.key_figure(path) == PNG + "1"
    assert cli.notebook_intro(path) == ("t", "q second line.")


def test_the_numbered_notebooks_state_their_question():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        title, question = cli.notebook_intro(path)
        assert title[:2] == path.name[:2] and question.endswith("?"), path.name
