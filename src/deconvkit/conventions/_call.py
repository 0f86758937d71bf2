"""``FrameworkCall``: the arguments that reproduce a transposed convolution in a framework."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._window import apply_fixup, block_diagonal_weight, dilated_weight

__all__ = ["FrameworkCall", "Code", "OutputShape"]


class Code(str):
    """Text shown as is in generated code (``[N, 10, 10, C_out]``), not as a string literal."""

    def __repr__(self):
        return str(self)


@dataclass(frozen=True)
class OutputShape:
    """TensorFlow's full ``output_shape``, shown as ``[N, 10, 10, C_out]`` in code."""

    spatial: tuple
    channels_last: bool = True

    def resolve(self, batch: int, channels: int) -> list:
        spatial = list(self.spatial)
        return [batch] + spatial + [channels] if self.channels_last else \
            [batch, channels] + spatial

    def __repr__(self):
        spatial = ", ".join(str(n) for n in self.spatial)
        return f"[N, {spatial}, C_out]" if self.channels_last else f"[N, C_out, {spatial}]"


@dataclass(frozen=True)
class FrameworkCall:
    """One framework call, and the slice or pad that completes it when it cannot be exact.

    Parameters
    ----------
    framework : str
        ``"torch"``, ``"tensorflow"``, ``"keras"``, ``"onnx"``, ``"caffe"`` or ``"jax"``.
    function : str
        The framework's function or layer, e.g. ``"torch.nn.functional.conv_transpose2d"``.
    args : dict
        Keyword arguments with the framework's names and conventions.
    output_size : tuple of int
        Spatial output size of the call itself.
    fixup : tuple of (lo, hi)
        Per spatial axis, crop ``lo`` from the start and ``hi`` from the end of the call's
        output; a negative value pads that many zeros instead. All zero when exact.
    layout : str
        Data layout the call takes, e.g. ``"NCHW"`` or ``"NHWC"``.
    channels_last : bool
        Whether the call takes ``(N, *spatial, C)`` data.
    notes : tuple of str
        Why a fix-up is needed, limits of the framework, pitfalls.
    inputs : tuple of str
        Positional argument names in generated code.
    result : str
        Name the generated code assigns the call to.
    weight_groups : int
        > 1 when the framework has no groups: the weight is made block diagonal first.
    weight_dilation : tuple of int or None
        Set when the framework cannot dilate: zeros are inserted into the kernel.
    weight_flip : bool
        Whether the kernel's spatial axes are reversed (``jax.lax.conv_transpose`` without
        ``transpose_kernel``).
    weight_axes : tuple of int or None
        Axis permutation from deconvkit's ``(C_in, C_out, *k)`` to the framework's layout.
    """

    framework: str
    function: str
    args: dict
    output_size: tuple
    fixup: tuple
    layout: str
    channels_last: bool = False
    notes: tuple = ()
    inputs: tuple = field(default=("x", "w"))
    result: str = "y"
    weight_groups: int = 1
    weight_dilation: tuple = None
    weight_flip: bool = False
    weight_axes: tuple = None

    @property
    def exact(self) -> bool:
        """Whether the call alone reproduces the operation (no slice or pad needed)."""
        return not any(lo or hi for lo, hi in self.fixup)

    @property
    def final_size(self) -> tuple:
        """Spatial size after the fix-up."""
        return tuple(n - lo - hi for n, (lo, hi) in zip(self.output_size, self.fixup))

    @property
    def weight(self) -> str:
        """Expression turning deconvkit's ``w`` ``(C_in, C_out/groups, *k)`` into the
        framework's weight."""
        text = "w"
        if self.weight_groups != 1:
            text = f"block_diagonal_weight({text}, {self.weight_groups})"
        if self.weight_dilation is not None:
            text = f"dilated_weight({text}, {self.weight_dilation})"
        if self.weight_flip:
            text = f"np.flip({text}, axis={tuple(range(2, 2 + len(self.output_size)))})"
        if self.weight_axes is not None:
            text = f"np.transpose({text}, {self.weight_axes})"
        return text

    def convert_weight(self, w):
        """Apply :attr:`weight` to an array."""
        if self.weight_groups != 1:
            w = block_diagonal_weight(w, self.weight_groups)
        if self.weight_dilation is not None:
            w = dilated_weight(w, self.weight_dilation)
        if self.weight_flip:
            w = np.flip(w, axis=tuple(range(2, w.ndim)))
        return np.transpose(w, self.weight_axes) if self.weight_axes is not None else w

    def convert_input(self, x):
        """deconvkit's ``(N, C, *spatial)`` data in the call's layout."""
        return np.moveaxis(x, 1, -1) if self.channels_last else x

    def finish(self, y):
        """The call's output, fixed up and back in ``(N, C, *spatial)``."""
        axes = range(1, y.ndim - 1) if self.channels_last else None
        y = apply_fixup(y, self.fixup, spatial_axes=axes)
        return np.moveaxis(y, -1, 1) if self.channels_last else y

    def call_text(self) -> str:
        """The call as Python source, e.g. ``F.conv_transpose2d(x, w, stride=(2, 2))``."""
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.function}({', '.join(self.inputs)}{', ' if kwargs else ''}{kwargs})"

    def fixup_text(self) -> str:
        """The slice and/or ``np.pad`` completing the call, or ``""`` when exact."""
        if self.exact:
            return ""
        first = 1 if self.channels_last else 2
        lead = [":"] * first
        slices = lead + [f"{lo if lo > 0 else ''}:{-hi if hi > 0 else ''}"
                         for lo, hi in self.fixup]
        lines = []
        if any(lo > 0 or hi > 0 for lo, hi in self.fixup):
            lines.append(f"y = y[{', '.join(slices + ([':'] if self.channels_last else []))}]")
        if any(lo < 0 or hi < 0 for lo, hi in self.fixup):
            pads = ["(0, 0)"] * first + [f"({max(-lo, 0)}, {max(-hi, 0)})"
                                         for lo, hi in self.fixup]
            pads += ["(0, 0)"] if self.channels_last else []
            lines.append(f"y = np.pad(y, ({', '.join(pads)}))")
        return "\n".join(lines)

    def code(self) -> str:
        """Weight conversion, call and fix-up as a few lines of Python."""
        lines = []
        if self.channels_last:
            lines.append("x = np.moveaxis(x, 1, -1)  # (N, C, *spatial) -> (N, *spatial, C)")
        if self.weight != "w":
            lines.append(f"{self.inputs[1]} = {self.weight}")
        lines.append(f"{self.result} = {self.call_text()}")
        fix = self.fixup_text()
        return "\n".join(lines + ([fix] if fix else []))
