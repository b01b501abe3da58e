"""Layer 1, the claim contract and its decisions.

``claim`` (the ``@claim`` decorator, the registry, evidence, verdicts, the search and its error
control), ``checks`` (decision helpers claims share: probabilities over seeds, exponents,
thresholds), ``stats`` (exact binomial bounds, scaling fits, bracketed exponents) and ``papers``
(the citations). May import :mod:`harness.runtime` only.
"""
