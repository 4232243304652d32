"""The notebook here is opened by tests/test_browser.py in JupyterLab; nbval must not collect it."""

collect_ignore_glob = ["*.ipynb"]
