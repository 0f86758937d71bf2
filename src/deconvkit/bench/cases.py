"""The benchmark cases: transposed convolutions that real networks run."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..geometry import ConvSpec


@dataclass(frozen=True)
class Case:
    """A float32 transposed convolution ``(N, c_in, *size) -> (N, c_out, *out)``."""

    name: str
    about: str
    batch: int
    c_in: int
    c_out: int
    size: tuple
    kernel: int
    stride: int
    padding: int
    groups: int = 1
    backward: bool = False

    @property
    def ndim(self):
        return len(self.size)

    @property
    def spec(self) -> ConvSpec:
        """The geometry (of the forward convolution this case is the transpose of)."""
        return ConvSpec((self.kernel,) * self.ndim, self.stride, self.padding,
                        groups=self.groups)

    def kwargs(self):
        """The geometry as PyTorch's ``conv_transposeNd`` keywords."""
        return dict(stride=self.stride, padding=self.padding, groups=self.groups)

    def arrays(self, seed=0):
        """Input ``x``, weights ``w (c_in, c_out/g, *k)`` and an upstream gradient ``dy``."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((self.batch, self.c_in) + self.size, dtype=np.float32)
        spec = self.spec
        w = rng.standard_normal((self.c_in, self.c_out // self.groups) + spec.kernel_size,
                                dtype=np.float32)
        out = spec.transpose_output_size(self.size)
        dy = rng.standard_normal((self.batch, self.c_out) + out, dtype=np.float32)
        return x, w, dy

    def flops(self):
        """Multiply-adds x 2 of the forward pass (every input sample times every tap);
        the backward pass (input and weight gradients) is twice that."""
        fwd = 2 * self.batch * self.c_in * (self.c_out // self.groups) \
            * math.prod(self.spec.kernel_size) * math.prod(self.size)
        return 2 * fwd if self.backward else fwd

    def nbytes(self):
        """Bytes of input + output + weights (the least a pass must touch)."""
        return sum(a.nbytes for a in self.arrays())


CASES = (
    Case("S1", "DCGAN/U-Net decoder", 8, 64, 64, (32, 32), 4, 2, 1),
    Case("S2", "U-Net up-convolution", 1, 256, 128, (28, 28), 2, 2, 0),
    Case("S3", "FCN-32s bilinear upsampling", 1, 21, 21, (16, 16), 64, 32, 16, groups=21),
    Case("S4", "FCN-8s upscore", 1, 21, 21, (16, 16), 4, 2, 0),
    Case("S5", "1-D audio decoder upsampling", 4, 256, 128, (1024,), 16, 8, 4),
    Case("S6", "3-D U-Net decoder", 1, 32, 32, (16, 16, 16), 4, 2, 1),
    Case("B1", "backward of S1", 8, 64, 64, (32, 32), 4, 2, 1, backward=True),
    Case("B5", "backward of S5", 4, 256, 128, (1024,), 16, 8, 4, backward=True),
)
