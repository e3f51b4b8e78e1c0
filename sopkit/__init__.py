"""sopkit — a Sales & Operations Planning workbench.

Notebooks narrate the monthly cycle; this package computes it.
"""

__version__ = "0.1.0"
