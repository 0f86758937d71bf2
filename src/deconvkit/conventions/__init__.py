"""Every framework's transposed convolution, exactly, on deconvkit's one operator.

Adapters compute each framework's operation with its own argument names, layouts and
defaults by translating them into a window of the full scatter (a
:class:`~deconvkit.ConvSpec`, plus zeros where a framework reaches beyond one) and
calling :func:`deconvkit.conv_transpose`. The reverse direction,
:func:`framework_call`, gives the arguments that reproduce a ``ConvSpec`` in a framework,
or the closest call plus the slice or pad that completes it.
"""

from ._call import FrameworkCall
from ._window import TransposeWindow, apply_fixup, block_diagonal_weight
from .onnx import onnx_call, onnx_conv, onnx_conv_pads, onnx_conv_transpose, onnx_window
from .pytorch import torch_call, torch_conv_transpose, torch_window

__all__ = ["FrameworkCall", "TransposeWindow", "apply_fixup", "block_diagonal_weight",
           "torch_conv_transpose", "torch_window", "torch_call",
           "onnx_conv_transpose", "onnx_conv", "onnx_conv_pads", "onnx_window", "onnx_call"]
