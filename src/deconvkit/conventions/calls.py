"""The reverse direction and translation between frameworks.

:func:`framework_call` turns a :class:`~deconvkit.ConvSpec` (or any
:class:`TransposeWindow`) into one framework's arguments, or the closest call plus the
slice or pad that completes it. :func:`translate` reads one framework's arguments and
writes another's, with the warnings where a plausible call gives the same shape with
values shifted. :func:`run_call` executes a :class:`FrameworkCall` with deconvkit's own
adapters, which is how the tests check that every emitted call is right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import ConvSpec  # noqa: F401  (used in the examples)
from . import caffe, jax, keras, onnx, pytorch, tensorflow
from ._call import FrameworkCall
from ._window import TransposeWindow

__all__ = ["FRAMEWORKS", "framework_call", "framework_window", "run_call", "shift_warnings",
           "translate", "Translation", "canonical_name"]

_MODULES = {"torch": (pytorch, "torch"), "tensorflow": (tensorflow, "tf"),
            "keras": (keras, "keras"), "onnx": (onnx, "onnx"), "caffe": (caffe, "caffe"),
            "jax": (jax, "jax")}
FRAMEWORKS = tuple(_MODULES)
_ALIASES = {"pytorch": "torch", "tf": "tensorflow", "tensorflow.nn": "tensorflow",
            "keras3": "keras", "onnxruntime": "onnx", "ort": "onnx", "caffe1": "caffe",
            "jax.lax": "jax", "lax": "jax"}


def canonical_name(framework: str) -> str:
    """``"pytorch"`` -> ``"torch"``, ``"tf"`` -> ``"tensorflow"``; ``ValueError`` if unknown."""
    name = _ALIASES.get(str(framework).lower(), str(framework).lower())
    if name not in _MODULES:
        raise ValueError(f"framework must be one of {FRAMEWORKS} (or an alias: "
                         f"{sorted(_ALIASES)}), got {framework!r}")
    return name


def _fn(framework, suffix):
    module, prefix = _MODULES[canonical_name(framework)]
    return getattr(module, f"{prefix}_{suffix}")


def framework_window(framework, input_size, kernel_size, **args) -> TransposeWindow:
    """The window a framework computes for its own arguments (spatial, no arrays).

    ``args`` are the framework's ``<prefix>_window`` keywords, e.g. TensorFlow's
    ``output_size``, ``strides``, ``padding``; ONNX's ``pads``, ``auto_pad``.
    """
    name = canonical_name(framework)
    if name == "tensorflow":
        size = args.pop("output_size")
        return tensorflow.tf_window(tuple(input_size), tuple(kernel_size), size, **args)
    return _fn(name, "window")(tuple(input_size), tuple(kernel_size), **args)


def framework_call(framework, spec, input_size) -> FrameworkCall:
    """The call that reproduces ``conv_transpose(x, w, spec)`` in a framework.

    Parameters
    ----------
    framework : str
        One of :data:`FRAMEWORKS` or an alias.
    spec : ConvSpec or TransposeWindow
    input_size : tuple of int
        Spatial size of the transposed convolution's input.

    Examples
    --------
    >>> spec = ConvSpec((3, 3), stride=2, padding=((0, 1), (0, 1)))  # TensorFlow's SAME
    >>> call = framework_call("torch", spec, (5, 5))
    >>> print(call.code())
    y = torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=0)
    y = y[:, :, :-1, :-1]
    >>> framework_call("tensorflow", spec, (5, 5)).args["padding"]
    'SAME'
    """
    make = _fn(framework, "call")
    window = spec if isinstance(spec, TransposeWindow) else TransposeWindow.from_spec(spec)
    return make(window, tuple(input_size))


def shift_warnings(framework, window: TransposeWindow, input_size) -> list[str]:
    """Plausible calls in ``framework`` with the same output size but shifted values."""
    name = canonical_name(framework)
    module, prefix = _MODULES[name]
    target = window.output_size(input_size)
    seen, warnings = set(), []
    for args in getattr(module, f"{prefix}_candidates")(window, input_size):
        try:
            other = framework_window(name, input_size, window.kernel_size, **dict(args))
            size = other.output_size(input_size)
        except ValueError:
            continue
        shift = tuple(o - lo for (lo, _), (o, _) in zip(window.crop, other.crop))
        if size != target or not any(shift) or shift in seen:
            continue
        seen.add(shift)
        shown = {k: v for k, v in args.items() if k not in ("output_size",)}
        warnings.append(f"{name} with {_show(shown)} gives the same output size "
                        f"{'x'.join(map(str, size))} but shifted values: its y[i] is the "
                        f"intended y[i + {_show(shift)}] (per spatial axis)")
    return warnings


def _show(value):
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    if isinstance(value, (tuple, list)) and value and len(set(map(repr, value))) == 1 and \
            not isinstance(value[0], (tuple, list)):
        return repr(value[0])
    return repr(value)


@dataclass(frozen=True)
class Translation:
    """One framework's call translated into another's."""

    source: str
    target: str
    input_size: tuple
    window: TransposeWindow
    call: FrameworkCall
    warnings: tuple

    @property
    def source_output_size(self) -> tuple:
        return self.window.output_size(self.input_size)

    def text(self) -> str:
        """The report ``deconvkit translate`` prints."""
        fmt = "x".join
        lines = [f"{self.source}: input {fmt(map(str, self.input_size))} -> output "
                 f"{fmt(map(str, self.source_output_size))}",
                 f"  as a window of the full output {fmt(map(str, self.window.full_size(self.input_size)))}: "
                 f"crop {list(self.window.crop)} (negative = zeros added)",
                 f"{self.target}: {'exact' if self.call.exact else 'call plus fix-up'}"
                 f", call output {fmt(map(str, self.call.output_size))}, final "
                 f"{fmt(map(str, self.call.final_size))} ({self.call.layout})"]
        lines += ["    " + line for line in self.call.code().splitlines()]
        lines += [f"  note: {n}" for n in self.call.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def translate(source, target, input_size, kernel_size, **args) -> Translation:
    """Read ``source``'s arguments (see :func:`framework_window`) and write ``target``'s.

    >>> t = translate("tensorflow", "torch", (5, 5), (3, 3), output_size=(10, 10),
    ...               strides=2, padding="SAME")
    >>> t.call.args, t.call.fixup
    ({'stride': 2, 'padding': 0}, ((0, 1), (0, 1)))
    >>> print(t.warnings[0])
    torch with stride=2, padding=1, output_padding=1, dilation=1, groups=1 gives the same output size 10x10 but shifted values: its y[i] is the intended y[i + 1] (per spatial axis)
    """
    window = framework_window(source, input_size, kernel_size, **args)
    call = framework_call(target, window, input_size)
    return Translation(canonical_name(source), canonical_name(target), tuple(input_size),
                       window, call, tuple(shift_warnings(target, window, input_size)))


def run_call(call: FrameworkCall, x, w, b=None):
    """Execute ``call`` with deconvkit's adapter for its framework, fix-up included.

    ``x`` is ``(N, C_in, *m)`` and ``w`` deconvkit's ``(C_in, C_out/groups, *k)``; the
    result is ``(N, C_out, *n)``. For every spec, ``run_call(framework_call(fw, spec, m),
    x, w)`` equals ``conv_transpose(x, w, spec)``.
    """
    xf, wf = call.convert_input(np.asarray(x)), call.convert_weight(np.asarray(w))
    args = dict(call.args)
    c_out = w.shape[1] * (call.weight_groups if call.weight_groups != 1 else
                          args.get("groups", args.get("group", 1)))
    if call.framework == "tensorflow":
        args["output_shape"] = args["output_shape"].resolve(x.shape[0], c_out)
        y = tensorflow.tf_conv_transpose(xf, wf, **args)
    elif call.framework == "caffe":
        param = dict(args["convolution_param"])
        y = caffe.caffe_deconvolution(xf, wf, **param)
    else:
        y = _fn(call.framework, "conv_transpose")(xf, wf, **args)
    y = call.finish(y)
    if b is not None:
        y = y + np.asarray(b, y.dtype).reshape((1, -1) + (1,) * (y.ndim - 2))
    return y

