"""Layer 8, the tools on top of reports: regression compare, history, shard merge, run plans,
seed sweeps and the command line (``python -m harness``). May import every layer below, the
reports (layer 7) included; nothing below imports from here.
"""
