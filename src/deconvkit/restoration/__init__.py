"""Image restoration: recover ``f`` from ``g = h * f + noise`` for a known blur ``h``.

Restoration ("deconvolution" in the image-processing sense) is a regularised inverse of
the blur, not its transpose (the deconvolution *layer*, :func:`deconvkit.conv_transpose`).
Every method here is written against one blur operator,
:class:`deconvkit.linop.BlurOperator` (``H`` and ``H.T``), whose ``boundary=`` states
what the blur sees outside the image frame.

This package holds:

* PSFs: :func:`gaussian`, :func:`box`, :func:`disk`, :func:`motion`, and :func:`as_psf`,
  the check (and normalisation) every PSF passes;
* transfer functions: :func:`psf2otf`, :func:`otf2psf`;
* boundaries: :data:`BOUNDARIES`, :func:`check_boundary`, :func:`edgetaper`;
* methods: :func:`deconvolve` (the front door), the filters :func:`regularized` (the
  default: its parameter and the noise level chosen from the data), :func:`wiener`,
  :func:`inverse`; the iterative :func:`richardson_lucy`, :func:`tikhonov`,
  :func:`landweber`;
* :func:`estimate_noise`, and the metrics :func:`psnr`, :func:`ssim`;
* :func:`tiled`: any method on volumes larger than memory, chunk by chunk on Dask
  (NumPy, Dask or Zarr arrays, TIFF stacks, Zarr stores; ``pip install
  'deconvkit[dask]'``).

Every method returns an estimate with ``g``'s float dtype (float32 stays float32,
everything else float64, values never rescaled or clipped), leaves its inputs untouched,
and with ``full_output=True`` also returns what it chose (``lam``, ``noise``,
``iterations``, histories).
"""

from ..linop.blur import BlurOperator
from .boundary import BOUNDARIES, check_boundary, edgetaper
from .otf import otf2psf, psf2otf
from .filters import inverse, regularized, wiener
from .iterative import landweber, tikhonov
from .lucy import richardson_lucy
from .methods import METHODS, deconvolve
from .metrics import psnr, ssim
from .noise import estimate_noise
from .psf import as_psf, box, disk, gaussian, motion
from .tiled import tiled

__all__ = ["BlurOperator", "BOUNDARIES", "check_boundary", "edgetaper", "psf2otf", "otf2psf",
           "as_psf", "box", "disk", "gaussian", "motion", "deconvolve", "METHODS", "regularized",
           "wiener", "inverse", "richardson_lucy", "tikhonov", "landweber", "estimate_noise",
           "psnr", "ssim", "tiled"]
