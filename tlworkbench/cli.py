"""The ``tlw`` command: run the numbered notebooks headless, open them, or copy them out.

``tlw report`` (or ``python -m tlworkbench.cli report``) executes ``notebooks/NN_*.ipynb`` with papermill in the
chosen profile, saves each executed notebook and its HTML under ``runs/``, and writes
``runs/report.html``: it opens with each notebook's question, its conclusion (the headline, with
n and intervals) and its key figure, linked to the whole executed notebook, then the run's wall
times, one figure of each plot kind and each notebook's summary tables (cells tagged ``summary``). ``tlw notebooks DIR``
copies the notebooks into ``DIR`` (from a checkout, or from the copy an installed package keeps
under ``<prefix>/share/tlworkbench/notebooks``), and ``tlw lab [DIR]`` opens JupyterLab there.
"""

from __future__ import annotations

import argparse
import base64
import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["notebooks_folder", "copy_notebooks", "run_notebooks", "plot_kinds", "gallery", "conclusion", "headline", "notebook_intro", "key_figure",
           "results_markdown", "write_report", "main"]

ROOT = Path(__file__).resolve().parent.parent
#: Where an installed package keeps its notebooks (pyproject.toml's data-files).
INSTALLED = Path(sys.prefix) / "share" / "tlworkbench" / "notebooks"


def notebooks_folder() -> Path:
    """The folder of the numbered notebooks: a checkout's ``notebooks/``, else the installed copy.

    Raises:
        MissingAssetError: neither holds a notebook.
    """
    from .errors import MissingAssetError

    for folder in (ROOT / "notebooks", INSTALLED):
        if any(folder.glob("[0-9][0-9]_*.ipynb")):
            return folder
    raise MissingAssetError(f"No notebooks in {str(ROOT / 'notebooks')!r} or {str(INSTALLED)!r}. Install "
                            "tlworkbench with pip (not as an egg link only), or clone the repository.")


def copy_notebooks(dest: Path, *, force: bool = False) -> list[Path]:
    """Copy the numbered notebooks (``.ipynb`` and their ``.py`` pairs) into ``dest``.

    Raises:
        FileExistsError: a notebook is already in ``dest`` and ``force`` is false.
    """
    source = notebooks_folder()
    files = sorted(p for p in source.glob("[0-9][0-9]_*") if p.suffix in (".ipynb", ".py"))
    dest.mkdir(parents=True, exist_ok=True)
    clash = [p.name for p in files if (dest / p.name).exists()]
    if clash and not force:
        raise FileExistsError(f"{dest} already has {', '.join(clash)}; pass --force to overwrite them.")
    return [Path(shutil.copy2(p, dest / p.name)) for p in files]


def _notebooks(folder: Path, only: list[str] | None) -> list[Path]:
    books = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        books = [p for p in books if any(p.name.startswith(o) for o in only)]
    return books


def run_notebooks(folder: Path, out: Path, *, profile: str = "quick", only: list[str] | None = None,
                  kernel: str = "python3") -> pd.DataFrame:
    """Execute each notebook with papermill into ``out``; return notebook, status, seconds, error."""
    import papermill as pm
    from traitlets.config import Config

    # kernels talk over local sockets where there are some (no plain-text TCP, and no warning about it)
    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for nb in _notebooks(folder, only):
        target = out / nb.name
        start = time.perf_counter()
        status, error = "ok", ""
        print(f"running {nb.name} ({profile} profile) ...", flush=True)
        try:
            pm.execute_notebook(str(nb), str(target), parameters={"profile": profile}, kernel_name=kernel,
                                cwd=str(folder), progress_bar=False, config=config)
        except Exception as err:  # papermill raises its own types; the report shows the failure
            status, error = "failed", f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        seconds = time.perf_counter() - start
        print(f"  {status} in {seconds:.0f} s", flush=True)
        rows.append({"notebook": nb.stem, "status": status, "seconds": round(seconds, 1), "error": error})
    return pd.DataFrame(rows)


def _outputs(nb_path: Path) -> tuple[list[str], list[str]]:
    """The PNG images and the summary-tagged HTML/text outputs of an executed notebook."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    images, tables = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tagged = "summary" in cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                images.append(data["image/png"])
            if tagged and "text/html" in data:
                tables.append(data["text/html"])
            elif tagged and out.get("output_type") == "stream":
                tables.append(f"<pre>{html.escape(out.get('text', ''))}</pre>")
            elif tagged and "text/plain" in data and "image/png" not in data:
                tables.append(f"<pre>{html.escape(data['text/plain'])}</pre>")
    return images, tables


_PLOT_CALL = re.compile(r"\bplots\.(plot_\w+)\s*\(|\b(FreezePanel)\s*\(")


def plot_kinds() -> list[str]:
    """The plot functions of :mod:`tlworkbench.plots`: one report figure is wanted of each."""
    from . import plots

    return [name for name in plots.__all__ if name.startswith("plot_")]


def gallery(executed: list[Path]) -> dict[str, tuple[str, str]]:
    """The first figure drawn by each plot function in the executed notebooks.

    A code cell that calls ``plots.plot_x(...)`` and outputs one PNG is taken as that figure of
    ``plot_x`` (a cell calling several plot functions into one figure counts for each of them).

    Returns:
        ``{plot function: (notebook name, base64 PNG)}``.
    """
    import nbformat

    found: dict[str, tuple[str, str]] = {}
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
            if not pngs:
                continue
            for match in _PLOT_CALL.finditer(cell.source):
                kind = match.group(1) or match.group(2)
                found.setdefault(kind, (path.stem, pngs[0]))
    return found


def _gallery_html(executed: list[Path]) -> str:
    figures = gallery(executed)
    parts = ["<h2>One figure of each plot kind</h2>"]
    missing = [k for k in plot_kinds() if k not in figures]
    if missing:
        parts.append("<p>Not drawn by the notebooks run: " + ", ".join(missing) + "</p>")
    for kind in plot_kinds():
        if kind in figures:
            notebook, png = figures[kind]
            parts.append(f"<h3><code>plots.{kind}</code> <small>({html.escape(notebook)})</small></h3>"
                         f"<img style='max-width:700px' src='data:image/png;base64,{png}'>")
    return "\n".join(parts)


def _stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def conclusion(nb_path: Path) -> str:
    """The conclusion an executed notebook printed: the output of its cell that prints a
    ``conclusion`` (the last such), else its last printed text."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    printed = [_stdout(c).strip() for c in code if "conclusion" in c.source and _stdout(c).strip()]
    if not printed:
        printed = [_stdout(c).strip() for c in code if _stdout(c).strip()]
    return printed[-1] if printed else ""


def headline(nb_path: Path) -> str:
    """The first sentence of an executed notebook's conclusion (see :func:`conclusion`)."""
    text = conclusion(nb_path)
    if not text:
        return ""
    first = text.splitlines()[0]
    end = re.search(r"(?<=[a-z0-9)%])\.(\s|$)", first)
    return first[: end.end()].strip() if end else first


def notebook_intro(nb_path: Path) -> tuple[str, str]:
    """The title (the first heading, without ``#``) and the question (the paragraph that starts with
    ``**Question.**``, without that label) of a notebook; empty strings where there are none."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    title = question = ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if not title:
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            title = match.group(1).strip() if match else ""
        if not question:
            match = re.search(r"\*\*Question\.?\*\*\s*(.+?)(?:\n\s*\n|$)", cell.source, flags=re.S)
            question = " ".join(match.group(1).split()) if match else ""
        if title and question:
            break
    return title, question


def key_figure(nb_path: Path) -> str:
    """The notebook's key figure (base64 PNG): the first figure of a cell tagged ``key_figure``, else
    the first figure a ``plots.`` call draws after the experiment's ``run_`` cell, else the first."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]

    def png(cell: Any) -> str:
        return next((o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})), "")

    tagged = [png(c) for c in cells if "key_figure" in c.get("metadata", {}).get("tags", []) and png(c)]
    if tagged:
        return tagged[0]
    run = next((i for i, c in enumerate(cells) if re.search(r"\brun_\w+\(", c.source)), 0)
    after = [png(c) for c in cells[run:] if "plots." in c.source and png(c)]
    anywhere = [png(c) for c in cells if png(c)]
    return (after or anywhere or [""])[0]


def _md_inline(text: str) -> str:
    """Escaped text with Markdown's ``code``, **bold** and *italics* as HTML."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<i>\1</i>", out)


def results_markdown(results: pd.DataFrame, out: Path, *, profile: str) -> str:
    """A Markdown table of the run: notebook, status, wall time and the conclusion's first sentence."""
    lines = [f"| notebook | status | wall time ({profile} profile) | headline |", "|---|---|---|---|"]
    for row in results.itertuples():
        executed = out / f"{row.notebook}.ipynb"
        text = headline(executed) if executed.exists() and row.status == "ok" else row.error
        lines.append(f"| {row.notebook} | {row.status} | {row.seconds:.0f} s | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


#: The report's style sheet: readable on a projector and in a browser window alike.
CSS = """
body { font: 17px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "IPAexGothic", sans-serif;
       color: #1d232b; background: #fafafa; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 2rem; margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #d7dde5; }
.meta { color: #5a6573; margin-top: 0; } nav ol { columns: 2; padding-left: 1.2rem; }
section.notebook { background: #fff; border: 1px solid #d7dde5; border-radius: 8px; padding: .4rem 1.4rem 1rem;
                   margin: 1.4rem 0; box-shadow: 0 1px 3px rgba(0,0,0,.06); }
section.notebook h2 { border: none; margin-top: .8rem; }
.question { font-size: 1.05rem; } .headline { background: #eef5ff; border-left: 4px solid #2f6fde;
             padding: .6rem 1rem; margin: .8rem 0; }
.failed { background: #fff0f0; border-left-color: #c62828; }
figure { margin: .8rem 0; text-align: center; } figure img, img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .92rem; margin: .6rem 0; } th, td { border: 1px solid #d7dde5;
        padding: .25rem .55rem; text-align: right; } th { background: #f0f3f7; }
code { background: #f0f3f7; padding: 0 .25rem; border-radius: 3px; } .status-ok { color: #1b7f3b; }
.status-failed { color: #c62828; font-weight: bold; } details { margin: .8rem 0; }
"""


def _overview(row: Any, executed: Path) -> str:
    """One notebook's card: title, question, headline, key figure and link."""
    name = html.escape(row.notebook)
    title, question, text, figure = row.notebook, "", "", ""
    if executed.exists():
        title, question = notebook_intro(executed)
        title = title or row.notebook
        text = conclusion(executed) if row.status == "ok" else ""
        figure = key_figure(executed)
    parts = [f"<section class='notebook' id='nb-{name}'><h2>{_md_inline(title)}</h2>"]
    if question:
        parts.append(f"<p class='question'><b>Question.</b> {_md_inline(question)}</p>")
    if row.status == "ok":
        parts.append(f"<p class='headline'>{html.escape(text) or 'No conclusion was printed.'}</p>")
    else:
        parts.append(f"<p class='headline failed'>Failed: {html.escape(row.error)}</p>")
    if figure:
        parts.append(f"<figure><img alt='key figure of {name}' src='data:image/png;base64,{figure}'></figure>")
    link = f"<a href='{name}.html'>the executed notebook</a> · " if executed.exists() else ""
    parts.append(f"<p>{link}<span class='status-{row.status}'>{row.status}</span>, {row.seconds:.0f} s</p>"
                 "</section>")
    return "\n".join(parts)


def write_report(results: pd.DataFrame, out: Path, *, profile: str) -> Path:
    """Write ``out/report.html`` (and each notebook's HTML) from executed notebooks in ``out``.

    The page opens with one card per notebook (its question, its conclusion with n and intervals,
    its key figure and a link to the whole executed notebook), then the run's table, the
    FreezePanel screenshot, one figure of each plot kind, and each notebook's summary tables.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    executed = {row.notebook: out / f"{row.notebook}.ipynb" for row in results.itertuples()}
    nav = "".join(f"<li><a href='#nb-{html.escape(r.notebook)}'>{html.escape(r.notebook)}</a>"
                  f" <span class='status-{r.status}'>{r.status}</span></li>" for r in results.itertuples())
    parts = [f"<h1>tlworkbench report</h1><p class='meta'>profile: <b>{profile}</b>, "
             f"{time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}</p>",
             f"<nav><ol>{nav}</ol></nav>"]
    parts.extend(_overview(row, executed[row.notebook]) for row in results.itertuples())
    parts.append("<h2>The run</h2>" + results.to_html(index=False))
    shot = out / "freeze_panel.png"
    if shot.exists():
        b64 = base64.b64encode(shot.read_bytes()).decode()
        taken = time.strftime("%Y-%m-%d %H:%M", time.localtime(shot.stat().st_mtime))
        parts.append(f"<h2>FreezePanel in JupyterLab</h2><p>screenshot by the browser test, {taken}</p>"
                     f"<img style='max-width:900px' src='data:image/png;base64,{b64}'>")
    else:
        parts.append("<h2>FreezePanel in JupyterLab</h2><p>No screenshot: the browser test "
                     "(tests/test_browser.py, run by <code>make report</code>) did not run here; it needs "
                     "Debian's chromium and the playwright package.</p>")
    parts.append(_gallery_html([p for p in executed.values() if p.exists()]))
    parts.append("<h2>Every notebook's tables and figures</h2>")
    for row in results.itertuples():
        path = executed[row.notebook]
        if not path.exists():
            continue
        body, _ = exporter.from_filename(str(path))
        (out / f"{row.notebook}.html").write_text(body, encoding="utf-8")
        images, tables = _outputs(path)
        parts.append(f"<details><summary><b>{html.escape(row.notebook)}</b>: {len(tables)} tables, "
                     f"{len(images)} figures</summary>")
        parts.extend(tables)
        parts.extend(f"<img style='max-width:700px' src='data:image/png;base64,{img}'>" for img in images)
        parts.append("</details>")
    report = out / "report.html"
    report.write_text("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                      "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                      f"<title>tlworkbench report</title><style>{CSS}</style></head><body><main>"
                      + "\n".join(parts) + "</main></body></html>", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``tlw report [--profile quick] [--only 00 01]``, ``tlw notebooks DIR``, ``tlw lab [DIR]``."""
    parser = argparse.ArgumentParser(prog="tlw", description="tlworkbench's notebooks: run, copy, open.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="run the notebooks headless and write runs/report.html")
    rep.add_argument("--profile", default=os.environ.get("TLW_PROFILE", "quick"), choices=["quick", "full"])
    rep.add_argument("--only", nargs="*", help="notebook number prefixes, e.g. 00 01")
    rep.add_argument("--notebooks", type=Path, default=None, help="default: the checkout's or the installed ones")
    rep.add_argument("--out", type=Path, default=None, help="default: runs/ of the checkout, else ./runs")
    cp = sub.add_parser("notebooks", help="copy the numbered notebooks into a folder")
    cp.add_argument("dest", type=Path)
    cp.add_argument("--force", action="store_true", help="overwrite notebooks already there")
    lab = sub.add_parser("lab", help="open JupyterLab on the notebooks (or on DIR)")
    lab.add_argument("dest", type=Path, nargs="?", default=None)
    args = parser.parse_args(argv)
    if args.command == "notebooks":
        copied = copy_notebooks(args.dest, force=args.force)
        print(f"copied {len(copied)} files into {args.dest}")
        return 0
    if args.command == "lab":
        if shutil.which("jupyter") is None and not (Path(sys.executable).parent / "jupyter").exists():
            print("JupyterLab is not installed here: pip install 'tlworkbench[notebooks]'", file=sys.stderr)
            return 1
        folder = args.dest or notebooks_folder()
        return subprocess.call([sys.executable, "-m", "jupyter", "lab", str(folder)])
    os.environ["TLW_PROFILE"] = args.profile
    folder = args.notebooks or notebooks_folder()
    out = args.out or (ROOT / "runs" if folder == ROOT / "notebooks" else Path.cwd() / "runs")
    results = run_notebooks(folder, out, profile=args.profile, only=args.only)
    results.to_csv(out / "results.csv", index=False)
    (out / "results.md").write_text(results_markdown(results, out, profile=args.profile), encoding="utf-8")
    report = write_report(results, out, profile=args.profile)
    print(results.to_string(index=False))
    print(f"\nreport: {report}")
    return 0 if (results["status"] == "ok").all() else 1


if __name__ == "__main__":
    sys.exit(main())
