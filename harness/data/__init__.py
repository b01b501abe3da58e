"""Layer 3, data: the problems claims are tested on and the Hypothesis strategies that draw them.

``problems`` (``ProblemSpec`` -> ``Problem``: unit inputs of named geometries, label kinds, lambda_0)
and ``strategies`` (problems, widths, step factors, depths: the domain a claim quantifies over).
May import the layers below: runtime, contract, kernels.
"""
