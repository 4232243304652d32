"""The ``tlw`` command: run the numbered notebooks headless, open them, or copy them out.

``tlw report`` (or ``python -m tlworkbench.cli report``) executes ``notebooks/NN_*.ipynb`` with papermill in the
chosen profile, saves each executed notebook and its HTML under ``runs/``, and writes
``runs/report.html``: per notebook its wall time, its plots and its summary tables (the outputs
of cells tagged ``summary``), with a link to the whole executed notebook. ``tlw notebooks DIR``
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

import pandas as pd

__all__ = ["notebooks_folder", "copy_notebooks", "run_notebooks", "plot_kinds", "gallery", "headline", "results_markdown", "write_report", "main"]

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


def headline(nb_path: Path) -> str:
    """The first sentence of the last printed text of an executed notebook (its conclusion)."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if o.get("output_type") == "stream" and o.get("name") == "stdout" and o.get("text", "").strip()]
    if not texts:
        return ""
    first = texts[-1].strip().splitlines()[0]
    end = re.search(r"(?<=[a-z0-9)%])\.(\s|$)", first)
    return first[: end.end()].strip() if end else first


def results_markdown(results: pd.DataFrame, out: Path, *, profile: str) -> str:
    """A Markdown table of the run: notebook, status, wall time and the conclusion's first sentence."""
    lines = [f"| notebook | status | wall time ({profile} profile) | headline |", "|---|---|---|---|"]
    for row in results.itertuples():
        executed = out / f"{row.notebook}.ipynb"
        text = headline(executed) if executed.exists() and row.status == "ok" else row.error
        lines.append(f"| {row.notebook} | {row.status} | {row.seconds:.0f} s | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def write_report(results: pd.DataFrame, out: Path, *, profile: str) -> Path:
    """Write ``out/report.html`` (and each notebook's HTML) from executed notebooks in ``out``."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    parts = [f"<h1>tlworkbench report</h1><p>profile: <b>{profile}</b>, "
             f"{time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}</p>",
             results.to_html(index=False)]
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
    ran = [out / f"{row.notebook}.ipynb" for row in results.itertuples()]
    parts.append(_gallery_html([p for p in ran if p.exists()]))
    for row in results.itertuples():
        executed = out / f"{row.notebook}.ipynb"
        parts.append(f"<h2>{html.escape(row.notebook)}</h2><p>{row.status}, {row.seconds:.0f} s"
                     + (f" — {html.escape(row.error)}" if row.error else "") + "</p>")
        if not executed.exists():
            continue
        body, _ = exporter.from_filename(str(executed))
        (out / f"{row.notebook}.html").write_text(body, encoding="utf-8")
        parts.append(f"<p><a href='{row.notebook}.html'>the executed notebook</a></p>")
        images, tables = _outputs(executed)
        parts.extend(tables)
        parts.extend(f"<img style='max-width:700px' src='data:image/png;base64,{img}'>" for img in images)
    report = out / "report.html"
    report.write_text("<html><head><meta charset='utf-8'><title>tlworkbench report</title></head><body>"
                      + "\n".join(parts) + "</body></html>", encoding="utf-8")
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
