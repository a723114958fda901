"""Backbones. Each returns a list of feature maps, with ``channels`` and ``reductions``
(stride of each map w.r.t. the input) as attributes."""
