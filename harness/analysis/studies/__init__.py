"""What the claims of one paper run, one module per claim file (``claims/test_<x>.py`` uses
``harness.analysis.studies.<x>``): grids and sweeps, model set-ups, decision sequences and plots
that the claim and its planted twins share. A claim file then reads as citation, statement,
strategy and predicate. Part of the analysis layer: may import every layer below it.
"""
