"""docs/glossary.md covers every term the notebooks set in bold or in a heading, and every
numbered notebook links to it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Headings that name a part of a notebook rather than a concept.
IGNORE_HEADINGS = {"conclusion", "the experiment", "the whole experiment", "the whole experiment in one call",
                   "the runs", "what to take away"}
#: Numbering in front of a heading: "00 · ", "Step 1 · ", "2 · ".
NUMBERING = re.compile(r"^(?:\d\d · |step \d+ · |\d+ · )")


def _normal(text: str) -> str:
    text = " ".join(text.lower().replace("’", "'").split()).strip(" :,")
    return re.sub(r"^(?:the|a|an) ", "", text)


def glossary_names() -> dict[str, str]:
    """Every English form in the glossary's table, normalised, mapped to its row's first term."""
    names = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("English", "---"):
            continue
        forms = [f.strip() for f in cells[0].split(" / ")]
        assert cells[1] and cells[3], f"glossary row without Japanese or meaning: {line}"
        for form in forms:
            names[_normal(form)] = forms[0]
    return names


def notebook_terms() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The bold phrases and the headings of the numbered notebooks, each with the notebooks it is in."""
    bold: dict[str, set[str]] = {}
    headings: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            for m in re.finditer(r"\*\*([^*]+?)\*\*", cell.source):
                bold.setdefault(m.group(1).strip(), set()).add(path.name[:2])
            for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", cell.source, flags=re.M):
                headings.setdefault(m.group(1).strip(), set()).add(path.name[:2])
    return bold, headings


def _known(phrase: str, names: dict[str, str]) -> bool:
    p = _normal(phrase)
    return p in names or p.removesuffix("s") in names or f"{p}s" in names


def _mentions(heading: str, names: dict[str, str]) -> list[str]:
    text = _normal(heading)
    return [n for n in names if re.search(r"(?<![\w-])" + re.escape(n) + r"s?(?![\w-])", text)]


def test_the_glossary_reads_as_a_table_of_many_terms():
    names = glossary_names()
    assert len(set(names.values())) >= 60
    assert names["transfer learning"] == "transfer learning"
    text = GLOSSARY.read_text(encoding="utf-8")
    for pair in ("転移学習", "転送学習", "導入転送学習", "負の転移", "負の転送", "ファインチューニング", "微調整"):
        assert pair in text


def test_every_bold_term_is_in_the_glossary():
    """Bold phrases ending in a full stop or question mark are paragraph lead-ins ("**Question.**"), not terms."""
    names = glossary_names()
    bold, _ = notebook_terms()
    missing = {term: sorted(nbs) for term, nbs in bold.items()
               if not term.endswith((".", "?")) and not _known(term, names)}
    assert not missing, f"bold terms missing from docs/glossary.md: {missing}"


def test_every_heading_names_a_term_of_the_glossary():
    """Exercise titles ("Exercise 1 · ...") and the headings of IGNORE_HEADINGS are exempt."""
    names = glossary_names()
    _, headings = notebook_terms()
    missing = {}
    for heading, nbs in headings.items():
        text = NUMBERING.sub("", _normal(heading))
        if text.startswith("exercise") or text in {_normal(h) for h in IGNORE_HEADINGS}:
            continue
        if not _mentions(text, names):
            missing[heading] = sorted(nbs)
    assert not missing, f"headings with no term of docs/glossary.md: {missing}"


def test_the_checks_see_a_missing_term(tmp_path, monkeypatch):
    names = glossary_names()
    assert _known("Transferability scores", names) and _known("the no-source twin", names)
    assert not _known("quantum annealing", names)
    assert _mentions("Which depth transfers best?", names) and not _mentions("Quantum annealing", names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_notebook_links_the_glossary(path):
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    assert "(../docs/glossary.md)" in first.source, f"{path.name}: no link to the glossary in its first cell"
