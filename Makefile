# make report : set up, screenshot the FreezePanel in JupyterLab (when Chromium is installed),
#               run the numbered notebooks headless (quick profile), write runs/report.html
# make test   : set up, run the unit tests and nbval over every notebook
# make lab    : set up, open JupyterLab on notebooks/
PY := .venv/bin/python

.PHONY: setup report test lab sync

setup:
	@bash scripts/setup.sh

report: setup
	rm -f runs/freeze_panel.png
	-$(PY) -m pytest -q -p no:cacheprovider tests/test_browser.py
	$(PY) -m tlworkbench.cli report

test: setup
	$(PY) -m pytest tests notebooks --nbval-lax

lab: setup
	.venv/bin/jupyter lab notebooks/

sync:
	.venv/bin/jupytext --sync notebooks/*.py
