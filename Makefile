# make report : set up, run the numbered notebooks headless (quick profile), write runs/report.html
# make test   : set up, run the unit tests and nbval over every notebook
# make lab    : set up, open JupyterLab on notebooks/
PY := .venv/bin/python

.PHONY: setup report test lab sync

setup:
	@bash scripts/setup.sh

report: setup
	$(PY) -m tlworkbench.cli report

test: setup
	$(PY) -m pytest tests notebooks --nbval-lax

lab: setup
	.venv/bin/jupyter lab notebooks/

sync:
	.venv/bin/jupytext --sync notebooks/*.py
