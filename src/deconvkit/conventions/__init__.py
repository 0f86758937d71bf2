"""Every framework's transposed convolution, exactly, on deconvkit's one operator.

Adapters compute each framework's operation with its own argument names, layouts and
defaults by translating them into a window of the full scatter (a
:class:`~deconvkit.ConvSpec`, plus zeros where a framework reaches beyond one) and
calling :func:`deconvkit.conv_transpose`:

=========================  ==========================================================
:func:`torch_conv_transpose`   ``F.conv_transposeNd`` / ``nn.ConvTransposeNd``
:func:`tf_conv_transpose`      ``tf.nn.conv_transpose``
:func:`keras_conv_transpose`   Keras 3 ``ConvNDTranspose`` / ``ops.conv_transpose``
:func:`onnx_conv_transpose`    ONNX ``ConvTranspose`` (and :func:`onnx_conv`)
:func:`caffe_deconvolution`    Caffe ``Deconvolution`` (and :func:`fcn_crop_offset`)
:func:`jax_conv_transpose`     ``jax.lax.conv_transpose``
=========================  ==========================================================

:func:`conv_spelling` writes a forward convolution in each framework's words.
The reverse direction, :func:`framework_call`, gives the arguments that reproduce a
``ConvSpec`` in a framework, or the closest call plus the slice or pad that completes it;
:func:`translate` goes from one framework's arguments to another's.
"""

from ._call import FrameworkCall, OutputShape
from ._window import TransposeWindow, apply_fixup, block_diagonal_weight, dilated_weight
from .forward import FORWARD_FRAMEWORKS, ConvSpelling, conv_spelling
from .caffe import caffe_call, caffe_deconvolution, caffe_window, fcn_crop_offset
from .calls import (FRAMEWORKS, Translation, canonical_name, framework_call, framework_window,
                    run_call, shift_warnings, translate, window_args)
from .jax import jax_call, jax_conv_transpose, jax_window
from .keras import keras_call, keras_conv_transpose, keras_window
from .onnx import (onnx_call, onnx_conv, onnx_conv_pads, onnx_conv_transpose, onnx_spec,
                   onnx_window)
from .pytorch import torch_call, torch_conv_transpose, torch_window
from .tensorflow import tf_call, tf_conv_transpose, tf_window

__all__ = [
    "torch_conv_transpose", "tf_conv_transpose", "keras_conv_transpose", "onnx_conv_transpose",
    "onnx_conv", "caffe_deconvolution", "jax_conv_transpose", "fcn_crop_offset",
    "framework_call", "framework_window", "translate", "run_call", "shift_warnings",
    "window_args",
    "FrameworkCall", "Translation", "TransposeWindow", "OutputShape", "FRAMEWORKS",
    "canonical_name", "apply_fixup", "block_diagonal_weight", "dilated_weight",
    "onnx_conv_pads", "onnx_spec", "conv_spelling", "ConvSpelling", "FORWARD_FRAMEWORKS",
    "torch_window", "tf_window", "keras_window", "onnx_window", "caffe_window", "jax_window",
    "torch_call", "tf_call", "keras_call", "onnx_call", "caffe_call", "jax_call",
]
