"""Shared set-up for the harness's own unit tests.

Deliberately minimal: the tests seed every random draw themselves (a ``torch.Generator`` or a
NumPy ``default_rng``), work in float64 on the CPU, and leave thread counts to the plugin
(``configure_threads`` gives each xdist worker its share of the cores).
"""
