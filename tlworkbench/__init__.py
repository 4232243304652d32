"""tlworkbench: a notebook-first workbench for transfer learning."""

__version__ = "0.1.0"
