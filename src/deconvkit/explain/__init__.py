"""Explanations of what a convolution and its transpose do: text (and later figures).

* :func:`explain`: one convolution geometry, its matrix C, Cᵀ, the "fractionally
  strided" view and the sliding windows, checked against the library;
* :func:`worked_examples`: the worked examples of the seeds, recomputed;
* :func:`symbolic_matrix`, :func:`numeric_matrix`: the matrix C as names or numbers.
"""

from .seeds import worked_examples
from .text import explain, fractional_input, make_spec, numeric_matrix, symbolic_matrix

__all__ = ["explain", "worked_examples", "make_spec", "symbolic_matrix", "numeric_matrix",
           "fractional_input"]
