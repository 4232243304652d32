"""The report ``tlw report`` writes, opened in the real browser the FreezePanel test uses.

A small made-up runs folder (two executed notebooks with a question, a printed conclusion and a
real figure, and one that failed) goes through :func:`tlworkbench.cli.write_report`; Chromium
(Debian's, through Playwright) then shows each headline, draws each key figure and follows the
link to an executed notebook. Skips as tests/test_browser.py does when Chromium or Playwright is
missing (``TLW_BROWSER=1`` makes that a failure).
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from tlworkbench import cli

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TLW_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HEADLINES = {
    "00_tour": "The probe reaches 79.5%, scratch 76.3%: probe minus scratch +3 points [−3, +9], n = 5, inconclusive.",
    "07_unsupervised_transfer": "k-means NMI 0.315 on pixels, 0.398 on ImageNet features (+8.3 [+6.1, +10.6], n = 5).",
}


@pytest.fixture(scope="module")
def chromium_ready() -> None:
    import importlib.util

    mode = os.environ.get("TLW_BROWSER", "").strip()
    if mode == "0":
        pytest.skip("browser test turned off (TLW_BROWSER=0)")
    reason = None
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        reason = f"no Chromium at {CHROMIUM} (TLW_CHROMIUM)"
    elif importlib.util.find_spec("playwright") is None:
        reason = "the 'playwright' package is not installed"
    if reason and mode == "1":
        pytest.fail(f"TLW_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(f"the report's browser test needs Chromium and Playwright: {reason}; apt-get install chromium "
                    "&& pip install playwright")


def _png(label: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.plot([1, 10, 100], [0.5, 0.7, 0.9], "o-")
    ax.set_title(label)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _executed(folder: Path, name: str, headline: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    experiment = nbformat.v4.new_code_cell(f"result = experiments.run_{name[3:]}(profile=prof.name)")
    figure = nbformat.v4.new_code_cell("plots.plot_data_efficiency(result.runs)")
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(name), "text/plain": "<Figure>"})]
    printed = nbformat.v4.new_code_cell("print(result.conclusion)")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text=headline + " Why it holds.\n")]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name[:2]} · Notebook {name}\n\n**Question.** What does {name} "
                                              "show?\n\nThe method."), experiment, figure, printed]
    nbformat.write(nb, folder / f"{name}.ipynb")


def test_the_report_reads_in_a_browser(chromium_ready, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    runs = tmp_path / "runs"
    runs.mkdir()
    for name, text in HEADLINES.items():
        _executed(runs, name, text)
    results = pd.DataFrame([{"notebook": n, "status": "ok", "seconds": 20.0, "error": ""} for n in HEADLINES]
                           + [{"notebook": "03_domain_mismatch", "status": "failed", "seconds": 2.0,
                               "error": "PapermillExecutionError: boom"}])
    report = cli.write_report(results, runs, profile="quick")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(str(tmp_path / "chromium"), executable_path=CHROMIUM,
                                                        headless=True, args=ARGS,
                                                        viewport={"width": 1200, "height": 900})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            page.goto(report.as_uri())
            expect(page).to_have_title("tlworkbench report")
            for name, text in HEADLINES.items():
                card = page.locator(f"section#nb-{name}")
                expect(card.locator(".headline")).to_contain_text(text)
                expect(card.locator(".question")).to_contain_text(f"What does {name} show?")
                image = card.locator("figure img")
                expect(image).to_be_visible()
                assert image.evaluate("img => img.complete && img.naturalWidth > 100")  # a real, decoded PNG
            expect(page.locator("section#nb-03_domain_mismatch .headline")).to_contain_text("Failed: PapermillExecutionError")
            # the style sheet applies: cards are laid out, not an unstyled table
            assert page.locator("section.notebook").first.evaluate("e => getComputedStyle(e).borderRadius") == "8px"
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            page.locator("section#nb-00_tour a", has_text="the executed notebook").click()
            page.wait_for_load_state()
            assert page.url.endswith("00_tour.html")
            expect(page.locator("body")).to_contain_text("Why it holds.")
        finally:
            context.close()
