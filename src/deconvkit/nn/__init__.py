"""Layers with an explicit forward/backward contract, and what trains them.

Every layer is a :class:`Module`: ``forward(*inputs)`` keeps what the backward
pass needs, ``backward(dy)`` returns the input gradient and *accumulates* the
parameter gradients, ``zero_grad()`` resets them, ``train()`` / ``eval()`` set
the mode, and parameters are reachable by dotted name (``named_parameters``,
``state_dict``). The convolution layers delegate their math to
:mod:`deconvkit.functional`: the transposed convolution's backward pass *is* the
convolution.

* layers: :class:`Conv`, :class:`ConvTranspose` (alias :class:`Deconvolution`),
  :class:`ReLU`, :class:`LeakyReLU`, :class:`MaxPool`, :class:`MaxUnpool`,
  :class:`BatchNorm`, :class:`Dropout`, :class:`Upsample`, :class:`PixelShuffle`,
  :class:`ResizeConv`, :class:`Crop`, :class:`Add`, :class:`Concat`, :class:`Sequential`;
* :mod:`~deconvkit.nn.init` (He, Glorot, bilinear, ICNR), :class:`SoftmaxCrossEntropy`,
  :class:`SGD`, :class:`Adam` and schedules, :func:`save` / :func:`load`,
  :func:`check_gradients`;
* :func:`fcn`, a small FCN-32s / -16s / -8s family with a choice of upsampling
  (:data:`HEADS`, :data:`UPSAMPLINGS`, :mod:`~deconvkit.nn.models`);
* :func:`pretrained`: trained FCNs that ship with the package (:data:`PRETRAINED`,
  :mod:`~deconvkit.nn.zoo`);
* :mod:`~deconvkit.nn.deconvnet`: Zeiler & Fergus's deconvnet, a trained encoder's
  activations projected back to pixel space.

A network with skips is a :class:`Module` whose ``forward`` calls its children
and whose ``backward`` calls their ``backward`` in reverse order, summing the
gradients of a tensor used twice.
"""

from . import deconvnet, init
from .activation import Identity, LeakyReLU, ReLU
from .conv import Conv, ConvTranspose, Deconvolution
from .gradcheck import check_gradients
from .io import load, load_model, save, save_model
from .loss import SoftmaxCrossEntropy, log_softmax
from .merge import Add, Concat
from .models import HEADS, UPSAMPLINGS, fcn
from .module import Module, Parameter, Sequential
from .norm import BatchNorm, Dropout
from .optim import SGD, Adam, CosineLR, LRSchedule, Optimizer, PolyLR, StepLR
from .pooling import MaxPool, MaxUnpool
from .resample import Crop, PixelShuffle, ResizeConv, Upsample, interpolation_matrix
from .zoo import PRETRAINED, pretrained, pretrained_path

__all__ = ["Module", "Parameter", "Sequential", "Conv", "ConvTranspose", "Deconvolution",
           "ReLU", "LeakyReLU", "Identity", "MaxPool", "MaxUnpool", "BatchNorm", "Dropout",
           "Upsample", "PixelShuffle", "ResizeConv", "Crop", "Add", "Concat",
           "interpolation_matrix", "init", "deconvnet", "SoftmaxCrossEntropy", "log_softmax",
           "Optimizer",
           "SGD", "Adam", "LRSchedule", "StepLR", "PolyLR", "CosineLR", "save", "load",
           "save_model", "load_model",
           "check_gradients", "fcn", "HEADS", "UPSAMPLINGS", "pretrained", "pretrained_path",
           "PRETRAINED"]
