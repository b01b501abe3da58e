"""Layer 4, network families, batched over trials (one generator per trial), with their empirical NTKs.

``two_layer`` (Du et al.'s two-layer ReLU net, ``TwoLayerReLU`` and ``Params``), ``deep`` (the fc,
ResNet, He-init and convolutional ResNet families of DLLWZ 2019 and Allen-Zhu et al., with
empirical and layer-wise NTKs), ``mlp`` (flat-parameter MLPs for landscapes and paths),
``mf_resnet`` (the mean-field ResNet of Ding et al.) and ``toy_landscapes``. A new model family goes
here. May import runtime, contract, kernels, data.
"""
