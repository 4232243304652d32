"""FreezePanel in a real JupyterLab, driven by headless Chromium through Playwright.

A private JupyterLab server (loopback, token, temporary config, data, runtime, workspace and
settings folders) opens ``tests/browser/freeze_panel.ipynb``; the page runs all cells, a group's
checkbox is clicked, and a second client attached to the kernel checks that the model changed.
A screenshot goes to ``runs/freeze_panel.png``.

Enabling it: Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` package
(``pip install playwright``; its own browser download is not needed). ``TLW_BROWSER=1`` makes a
missing browser a failure instead of a skip, ``TLW_BROWSER=0`` skips the test, and
``TLW_CHROMIUM`` names another Chromium executable.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "browser" / "freeze_panel.ipynb"
REPO = HERE.parent
RUNS = REPO / "runs"
CHROMIUM = os.environ.get("TLW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOW_TO_ENABLE = "install Debian's chromium and the playwright package: apt-get install chromium && pip install playwright"

pytestmark = [pytest.mark.browser, pytest.mark.allow_hosts(["127.0.0.1"])]


def _missing() -> str | None:
    """Why the test cannot run here, or None."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (TLW_CHROMIUM)"
    for module in ("playwright", "jupyterlab", "jupyter_client"):
        if importlib.util.find_spec(module) is None:
            return f"the {module!r} package is not installed"
    return None


@pytest.fixture(scope="module")
def browser_ready() -> None:
    mode = os.environ.get("TLW_BROWSER", "").strip()
    if mode == "0":
        pytest.skip("browser test turned off (TLW_BROWSER=0)")
    reason = _missing()
    if reason and mode == "1":
        pytest.fail(f"TLW_BROWSER=1 but {reason}; {HOW_TO_ENABLE}")
    if reason:
        pytest.skip(f"browser test needs Chromium and Playwright: {reason}; to enable it, {HOW_TO_ENABLE}")


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path
    runtime: Path
    log: Path
    process: subprocess.Popen[bytes]

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_settings(tmp: Path) -> dict[str, str]:
    """Temporary Jupyter folders: a kernel that runs this Python, and no news or update toasts."""
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "workspaces", "settings", "root")}
    for folder in dirs.values():
        folder.mkdir()
    kernel = dirs["data"] / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}))
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    shutil.copy(NOTEBOOK, dirs["root"] / NOTEBOOK.name)
    return {name: str(path) for name, path in dirs.items()}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # SIGINT would ask for confirmation
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def lab(browser_ready: None, tmp_path: Path) -> Iterator[Lab]:
    dirs = _write_settings(tmp_path)
    port, token = _free_port(), os.urandom(16).hex()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": dirs["config"], "JUPYTER_DATA_DIR": dirs["data"],
           "JUPYTER_RUNTIME_DIR": dirs["runtime"], "PYTHONUNBUFFERED": "1",
           # the kernel imports this checkout's tlworkbench, installed or not
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.pop("JUPYTER_PATH", None)
    log = tmp_path / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.allow_root=True",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={dirs['root']}",
               f"--LabApp.workspaces_dir={dirs['workspaces']}", f"--LabApp.user_settings_dir={dirs['settings']}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=dirs["root"])
    server = Lab(f"http://127.0.0.1:{port}", token, Path(dirs["root"]), Path(dirs["runtime"]), log, process)
    try:
        deadline = time.monotonic() + 45
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within 45 s:\n{server.log_tail()}")
                time.sleep(0.3)
        yield server
    finally:
        try:
            for kernel in server.api("/api/kernels") or []:  # type: ignore[union-attr]
                server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        _stop(process)


def _kernel_eval(lab: Lab, expressions: dict[str, str]) -> dict[str, str]:
    """Evaluate expressions in the notebook's kernel through a second client; return their reprs."""
    from jupyter_client import BlockingKernelClient

    files = sorted(lab.runtime.glob("kernel-*.json"))
    assert len(files) == 1, f"expected one kernel, found {files}"
    client = BlockingKernelClient(connection_file=str(files[0]))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        msg_id = client.execute("", silent=True, store_history=False, user_expressions=expressions)
        while True:
            reply = client.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        results = reply["content"]["user_expressions"]
        errors = {k: v for k, v in results.items() if v["status"] != "ok"}
        assert not errors, errors
        return {k: v["data"]["text/plain"] for k, v in results.items()}
    finally:
        client.stop_channels()


def test_freeze_panel_in_jupyterlab(lab: Lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    RUNS.mkdir(exist_ok=True)
    shot = RUNS / "freeze_panel.png"
    started = time.monotonic()
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(lab.root.parent / "chromium"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 1000})
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(40_000)
        expect.set_options(timeout=40_000)
        try:
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}?reset&token={lab.token}")
            # A real kernel, idle: before that, Run All would ask to select a kernel.
            expect(page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle"))).to_be_visible()
            expect(page.locator(".jp-KernelName").first).not_to_have_text(re.compile("No Kernel"))

            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

            panel = page.locator(".tlw-freeze-panel")
            counts = panel.locator(".tlw-counts")
            expect(counts).to_contain_text("Trainable:")
            expect(panel.locator(".tlw-group")).to_have_count(4)
            before = counts.inner_text()
            checkbox = panel.locator(".tlw-group-conv2 .widget-checkbox input[type=checkbox]")
            expect(checkbox).to_be_checked()

            checkbox.click()
            expect(panel.locator(".tlw-status")).to_contain_text("conv2 frozen")
            expect(counts).not_to_have_text(before)
            expect(checkbox).not_to_be_checked()
            after = counts.inner_text()

            state = _kernel_eval(lab, {
                "conv2": "sorted({p.requires_grad for p in model.groups['conv2'].parameters()})",
                "others": "sorted({p.requires_grad for g in ('conv1', 'conv3', 'head') "
                          "for p in model.groups[g].parameters()})",
                "counts": "(panel.trainable, panel.total)",
            })
            assert state["conv2"] == "[False]"
            assert state["others"] == "[True]"
            trainable, total = (int(n) for n in re.findall(r"\d+", state["counts"]))
            assert f"{trainable:,} of {total:,}" in after and f"{total:,} of {total:,}" in before
            assert trainable < total

            panel.locator(".tlw-group-conv2 button").click()  # show the submodules
            expect(panel.locator(".tlw-group-conv2 .tlw-submodules")).to_contain_text("BatchNorm2d")
            panel.scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
        except Exception:
            page.screenshot(path=str(RUNS / "freeze_panel_failure.png"))
            print(f"JupyterLab log:\n{lab.log_tail()}")
            raise
        finally:
            context.close()
    print(f"browser part took {time.monotonic() - started:.1f} s; screenshot {shot}")
    assert shot.stat().st_size > 10_000
