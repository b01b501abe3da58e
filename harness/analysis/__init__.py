"""Layer 6, analysis of trained networks and landscapes.

``hessian`` (Hessian spectra, forward-mode products), ``paths`` (segments, Bezier curves, the
string method, barriers), ``critical`` (critical points and their index) and ``linearize`` (the
linearized network of Lee et al.). May import every layer below.
"""
