"""Explanations of what a convolution and its transpose do: text (and later figures).

* :func:`explain`: one convolution geometry, its matrix C, Cᵀ, the "fractionally
  strided" view and the sliding windows, checked against the library;
* :func:`worked_examples`: the worked examples of the seeds, recomputed;
* :func:`symbolic_matrix`, :func:`numeric_matrix`: the matrix C as names or numbers;
* :func:`picture_views`, :func:`views`: the transposed convolution step by step as
  frames of numbers (:class:`Frame`, :class:`Panel`), drawn by :func:`save_pictures`
  into PNG and GIF (matplotlib, the ``viz`` extra);
* :func:`overlap_maps`, :func:`checkerboard`: how many taps reach each output, and
  the verdict (uniform or periodic), drawn by :func:`save_checkerboard`;
* :func:`explain_page`, :func:`checkerboard_page`: the same as one self-contained HTML
  page, built by :func:`deconvkit.explain.html.page` from :class:`Section` s of frames;
* :func:`inspect_onnx`: every Conv / ConvTranspose node of an ONNX model file, explained;
* :func:`deconvkit.explain.deconvnet.visualize` (imported on use): a trained network's
  strongest activations projected back to pixels next to the patches that caused them.
"""

from .seeds import worked_examples
from .frames import VIEWS, Frame, Panel
from .overlap import Verdict, checkerboard, overlap_maps
from .inspect import ModelReport, NodeReport, inspect_onnx
from .html import Section, page
from .pictures import picture_views, save_checkerboard, save_pictures
from .report import checkerboard_page, explain_page, save_html
from .text import explain, fractional_input, make_spec, numeric_matrix, symbolic_matrix
from .views import views

__all__ = ["explain", "worked_examples", "make_spec", "symbolic_matrix", "numeric_matrix",
           "fractional_input", "picture_views", "views", "save_pictures", "save_checkerboard",
           "overlap_maps", "checkerboard", "Verdict", "Frame", "Panel", "VIEWS",
           "page", "Section", "explain_page", "checkerboard_page", "save_html",
           "inspect_onnx", "NodeReport", "ModelReport"]
