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
* boundaries: :data:`BOUNDARIES`, :func:`check_boundary`, :func:`edgetaper`.
"""

from ..linop.blur import BlurOperator
from .boundary import BOUNDARIES, check_boundary, edgetaper
from .otf import otf2psf, psf2otf
from .psf import as_psf, box, disk, gaussian, motion

__all__ = ["BlurOperator", "BOUNDARIES", "check_boundary", "edgetaper", "psf2otf", "otf2psf",
           "as_psf", "box", "disk", "gaussian", "motion"]
