"""The experiments behind the numbered notebooks, one module per notebook.

Each notebook calls its module's functions; ``tests/test_nbNN_*.py`` calls the same
functions in the quick profile and checks the effect the notebook states. This package sits at
the top of tlworkbench and may use every module below it.
"""

from .tour import ProbeResult, classify_photos, head_change, photos, run_tour, tour_probe

__all__ = ["ProbeResult", "classify_photos", "head_change", "photos", "run_tour", "tour_probe"]
