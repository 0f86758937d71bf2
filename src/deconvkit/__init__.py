"""deconvkit: deconvolution in both of its senses.

* the transposed convolution ("deconvolution layer"), exactly the adjoint of a
  strided convolution, N-d, with its gradients: :func:`conv_transpose`;
* the convolution it is the transpose of: :func:`conv`, and its matrix :func:`conv_matrix`;
* both as one linear operator for SciPy's solvers: :class:`ConvOperator` (:mod:`deconvkit.linop`).

A :class:`ConvSpec` describes the forward convolution; both operations share it.
"""

from .functional import (available_methods, choose_method, conv, conv_matrix, conv_transpose,
                         conv_transpose_weight_grad, conv_weight_grad)
from ._checks import available_bytes, set_memory_limit
from .geometry import ConvSpec
from .threads import get_num_threads, set_num_threads

__version__ = "0.1.0"

_SUBMODULES = ("nn", "datasets", "conventions", "explain", "bench", "testing", "linop",
               "sparse")


def __getattr__(name):
    """Import the larger submodules on first use: ``deconvkit.nn``, ``deconvkit.datasets``..."""
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "ConvOperator":
        return importlib.import_module(f"{__name__}.linop").ConvOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConvSpec", "conv", "conv_transpose", "conv_weight_grad",
           "conv_transpose_weight_grad", "conv_matrix", "available_methods", "choose_method",
           "get_num_threads", "set_num_threads", "ConvOperator",
           "set_memory_limit", "available_bytes"]
