"""``FrameworkCall``: the arguments that reproduce a transposed convolution in a framework."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FrameworkCall", "Code"]


class Code(str):
    """Text shown as is in generated code (``[N, 10, 10, C_out]``), not as a string literal."""

    def __repr__(self):
        return str(self)


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
    weight : str
        Expression turning deconvkit's weight ``w`` of shape ``(C_in, C_out/groups, *k)``
        into the framework's.
    channels_last : bool
    notes : tuple of str
        Why a fix-up is needed, limits of the framework, pitfalls.
    inputs : tuple of str
        Positional argument names in generated code.
    result : str
        Name the generated code assigns the call to.
    """

    framework: str
    function: str
    args: dict
    output_size: tuple
    fixup: tuple
    layout: str
    weight: str = "w"
    channels_last: bool = False
    notes: tuple = ()
    inputs: tuple = field(default=("x", "w"))
    result: str = "y"

    @property
    def exact(self) -> bool:
        """Whether the call alone reproduces the operation (no slice or pad needed)."""
        return not any(lo or hi for lo, hi in self.fixup)

    @property
    def final_size(self) -> tuple:
        """Spatial size after the fix-up."""
        return tuple(n - lo - hi for n, (lo, hi) in zip(self.output_size, self.fixup))

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
        if self.weight != "w":
            lines.append(f"{self.inputs[1]} = {self.weight}")
        lines.append(f"{self.result} = {self.call_text()}")
        fix = self.fixup_text()
        return "\n".join(lines + ([fix] if fix else []))
