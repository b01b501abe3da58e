"""Layer 5, training: engines that run many trials at once, and what they record.

``engine`` (the closed-form two-layer GD engine), ``deep_engine`` (``train_deep``: GD/SGD with
autograd for the deep families), ``trajectory`` (loss, drift, flips, Gram records and the rate
bound check) and ``sweeps`` (width sweeps and threshold brackets). May import every layer below.
"""
