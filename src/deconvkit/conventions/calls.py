"""The reverse direction and translation between frameworks.

:func:`framework_call` turns a :class:`~deconvkit.ConvSpec` (or any
:class:`TransposeWindow`) into one framework's arguments, or the closest call plus the
slice or pad that completes it. :func:`translate` reads one framework's arguments and
writes another's, with the warnings where a plausible call gives the same shape with
values shifted. :func:`run_call` executes a :class:`FrameworkCall` with deconvkit's own
adapters, which is how the tests check that every emitted call is right.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from .._checks import check_int, describe, is_int
from ..geometry import ConvSpec
from . import caffe, jax, keras, onnx, pytorch, tensorflow
from ._call import FrameworkCall
from ._window import (TransposeWindow, array, as_array, checked_call_args, owned, padding_pairs,
                      per_axis, seq_len, spatial_sizes)

__all__ = ["FRAMEWORKS", "framework_call", "framework_window", "run_call", "shift_warnings",
           "translate", "Translation", "canonical_name", "window_args"]

_MODULES = {"torch": (pytorch, "torch"), "tensorflow": (tensorflow, "tf"),
            "keras": (keras, "keras"), "onnx": (onnx, "onnx"), "caffe": (caffe, "caffe"),
            "jax": (jax, "jax")}
FRAMEWORKS = tuple(_MODULES)
_ALIASES = {"pytorch": "torch", "tf": "tensorflow", "tensorflow.nn": "tensorflow",
            "keras3": "keras", "onnxruntime": "onnx", "ort": "onnx", "caffe1": "caffe",
            "jax.lax": "jax", "lax": "jax"}


def canonical_name(framework: str) -> str:
    """``"pytorch"`` -> ``"torch"``, ``"tf"`` -> ``"tensorflow"``; ``ValueError`` if unknown."""
    if not isinstance(framework, str):
        raise TypeError(f"framework must be a str, one of {FRAMEWORKS} (or an alias), got "
                        f"{describe(framework)}")
    name = _ALIASES.get(framework.lower(), framework.lower())
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
    input_size = _input_size(input_size, kernel_size)
    if name == "tensorflow":
        if "output_size" not in args:
            raise ValueError(
                "tensorflow needs output_size (tf.nn.conv_transpose's output_shape is "
                "required: several output sizes map back to one input size under a stride); "
                f"for input {input_size}, give one, e.g. from window_args('tensorflow', ...)")
        _check_keywords(name, tensorflow.tf_window, args)
        size = args.pop("output_size")
        return tensorflow.tf_window(input_size, kernel_size, size, **args)
    fn = _fn(name, "window")
    _check_keywords(name, fn, args)
    return fn(input_size, kernel_size, **args)


def _check_keywords(name, fn, args):
    """``TypeError`` naming the framework's keywords for an unknown or a missing one."""
    params = list(inspect.signature(fn).parameters.values())[2:]  # after the sizes
    known = [p.name for p in params]
    unknown = [key for key in args if key not in known]
    if unknown:
        raise TypeError(f"{name}'s arguments are {', '.join(known)}; got unknown "
                        f"{', '.join(map(repr, unknown))}")
    needed = [p.name for p in params if p.default is inspect.Parameter.empty
              and p.name not in args]
    if needed:
        raise TypeError(f"{name} needs {', '.join(needed)} (of its arguments "
                        f"{', '.join(known)}), got only {', '.join(args) or 'none'}")


def _input_size(input_size, kernel_size):
    """Spatial input sizes; an int is one per axis of ``kernel_size``."""
    ndim = None
    if is_int(input_size) and seq_len(kernel_size):
        ndim = seq_len(kernel_size)
    return spatial_sizes(input_size, ndim)


def framework_call(framework, spec, input_size) -> FrameworkCall:
    """The call that reproduces ``conv_transpose(x, w, spec)`` in a framework.

    Parameters
    ----------
    framework : str
        One of :data:`FRAMEWORKS` or an alias.
    spec : ConvSpec or TransposeWindow
    input_size : tuple of int, or int
        Spatial size of the transposed convolution's input (an int for every axis).

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
    return make(*checked_call_args(spec, input_size))


def shift_warnings(framework, window: TransposeWindow, input_size) -> list[str]:
    """Plausible calls in ``framework`` with the same output size but shifted values."""
    name = canonical_name(framework)
    module, prefix = _MODULES[name]
    window, input_size = checked_call_args(window, input_size)
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
    source_call: FrameworkCall = None

    @property
    def source_output_size(self) -> tuple:
        return self.window.output_size(self.input_size)

    def text(self) -> str:
        """The report ``deconvkit translate`` prints."""
        fmt = "x".join
        full = fmt(map(str, self.window.full_size(self.input_size)))
        lines = ["(code starts from deconvkit's layouts: x (N, C_in, *spatial), "
                 "w (C_in, C_out/groups, *k))",
                 f"{self.source}: input {fmt(map(str, self.input_size))} -> output "
                 f"{fmt(map(str, self.source_output_size))}"]
        if self.source_call is not None:
            lines += ["    " + line for line in self.source_call.code().splitlines()]
        lines += [f"  = the full {full} scatter cropped by {list(self.window.crop)} per axis "
                  "(lo, hi; negative adds zeros)",
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
    >>> print(t.warnings[0])  # doctest: +ELLIPSIS
    torch with stride=2, padding=1, output_padding=1, ... its y[i] is the intended y[i + 1] ...
    """
    canonical_name(target)
    input_size = _input_size(input_size, kernel_size)
    window = framework_window(source, input_size, kernel_size, **args)
    call = framework_call(target, window, input_size)
    return Translation(canonical_name(source), canonical_name(target), input_size,
                       window, call, tuple(shift_warnings(target, window, input_size)),
                       framework_call(source, window, input_size))


def window_args(framework, input_size, kernel_size, *, stride=1, padding=None, dilation=1,
                output_padding=None, output_size=None, groups=1, consistent_padding=False):
    """Generic arguments in one framework's vocabulary, for :func:`framework_window`.

    ``padding`` is an int, per-axis ints, ``(lo, hi)`` pairs, or a word: "same", "valid",
    "same_upper", "same_lower" (ONNX), any case; ``None`` is the framework's default (0,
    TensorFlow's "SAME", Keras' "valid"; JAX needs one). TensorFlow's ``output_size``
    defaults to what Keras would ask for (``m * s`` for SAME, ``(m-1)s + max(e, s)`` for
    VALID, the full size minus the padding for explicit pairs).

    >>> window_args("onnx", (5,), (3,), stride=2, padding="same_lower")
    {'strides': [2], 'dilations': [1], 'group': 1, 'auto_pad': 'SAME_LOWER'}
    """
    name = canonical_name(framework)
    input_size = _input_size(input_size, kernel_size)
    ndim = len(input_size)
    kernel_size = per_axis(kernel_size, ndim, "kernel_size", 1)
    s, d = per_axis(stride, ndim, "stride", 1), per_axis(dilation, ndim, "dilation", 1)
    r = None if output_padding is None else per_axis(output_padding, ndim, "output_padding")
    groups = check_int(groups, "groups")
    if output_size is not None:
        output_size = spatial_sizes(output_size, ndim, "output_size")
    if groups != 1 and name in ("tensorflow", "keras", "jax"):
        raise ValueError(f"{name}'s transposed convolution has no groups (use a block-diagonal "
                         "weight: deconvkit.conventions.block_diagonal_weight)")
    if padding is None and name == "jax":
        raise ValueError("jax.lax.conv_transpose needs padding: 'SAME', 'VALID' or pairs")
    if padding is None:
        padding = {"tensorflow": "SAME", "keras": "valid"}.get(name, 0)
    word = padding.upper() if isinstance(padding, str) else None
    if word not in (None, "SAME", "VALID") and name != "onnx":
        raise ValueError(f"padding {padding!r} is not a {name} padding")
    if name == "torch":
        return dict(stride=s, padding=_torch_padding(padding, ndim), dilation=d, groups=groups,
                    output_padding=r or 0, output_size=output_size)
    if name == "caffe":
        return dict(stride=s, pad=_torch_padding(padding, ndim), dilation=d, group=groups)
    if name == "onnx":
        out = dict(strides=list(s), dilations=list(d), group=groups)
        if word and word != "NOTSET":
            out["auto_pad"] = {"SAME": "SAME_UPPER"}.get(word, word)
        elif word != "NOTSET":
            pairs = padding_pairs(padding, ndim)
            out["pads"] = [lo for lo, _ in pairs] + [hi for _, hi in pairs]
        return dict(out, **({"output_padding": list(r)} if r else {}),
                    **({"output_shape": list(output_size)} if output_size else {}))
    _no(name, "output_padding", r if name != "keras" else None)
    if name == "keras":
        if word is None:
            raise ValueError(f"Keras' padding is 'valid' or 'same', got {padding!r}")
        return dict(strides=s, padding=word.lower(), output_padding=r,
                    dilation_rate=d)
    pad = word or padding_pairs(padding, ndim)
    if name == "jax":
        _no(name, "output_size", output_size)
        return dict(strides=s, padding=pad, rhs_dilation=d,
                    use_consistent_padding=consistent_padding)
    if not isinstance(pad, str) and ndim != 2:
        raise ValueError(f"explicit padding is only supported by conv2d_transpose, not "
                         f"conv{ndim}d_transpose")
    if output_size is None:
        output_size = _tf_default_size(input_size, kernel_size, s, d, pad)
    return dict(output_size=tuple(output_size), strides=s, padding=pad, dilations=d)


def _torch_padding(padding, ndim):
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return 0
        raise ValueError(f"padding={padding!r}: PyTorch's and Caffe's transposed convolutions "
                         "take symmetric ints only")
    pairs = padding_pairs(padding, ndim)
    if any(lo != hi for lo, hi in pairs):
        raise ValueError(f"padding {pairs}: PyTorch's and Caffe's padding is symmetric")
    return tuple(lo for lo, _ in pairs)


def _no(name, what, value):
    if value is not None:
        raise ValueError(f"{name} has no {what} argument"
                         + ("; give the output size" if what == "output_padding" else ""))


def _tf_default_size(input_size, kernel_size, s, d, padding):
    """What Keras asks TensorFlow for (its ``deconv_output_length``); for explicit pairs,
    the transposed output of the forward convolution with that padding."""
    if isinstance(padding, str):
        return tuple(keras.keras_output_size(m, k, si, di, padding.lower(), None)
                     for m, k, si, di in zip(input_size, kernel_size, s, d))
    return ConvSpec(kernel_size, s, padding, d).transpose_output_size(input_size)


def run_call(call: FrameworkCall, x, w, b=None):
    """Execute ``call`` with deconvkit's adapter for its framework, fix-up included.

    ``x`` is ``(N, C_in, *m)`` and ``w`` deconvkit's ``(C_in, C_out/groups, *k)``; the
    result is ``(N, C_out, *n)``. For every spec, ``run_call(framework_call(fw, spec, m),
    x, w)`` equals ``conv_transpose(x, w, spec)``.
    """
    if not isinstance(call, FrameworkCall):
        raise TypeError(f"call must be a FrameworkCall (from framework_call), got "
                        f"{describe(call)}")
    x, w = array(x, "x"), array(w, "w")
    if x.ndim != len(call.output_size) + 2 or w.ndim != x.ndim:
        raise ValueError(f"x must be (N, C_in, *m) and w (C_in, C_out/groups, *k) with "
                         f"{len(call.output_size)} spatial axes, got shapes {x.shape} and "
                         f"{w.shape}")
    xf, wf = call.convert_input(x), call.convert_weight(w)
    args = dict(call.args)
    c_out = w.shape[1] * (call.weight_groups if call.weight_groups != 1 else
                          args.get("groups", args.get("group", 1)))
    if call.framework == "tensorflow":
        args["output_shape"] = args["output_shape"].resolve(x.shape[0], c_out)
        y = tensorflow.tf_conv_transpose(xf, wf, **args)
    elif call.framework == "caffe":
        param = dict(args["convolution_param"])
        param.pop("num_output")
        y = caffe.caffe_deconvolution(xf, wf, **param)
    else:
        y = _fn(call.framework, "conv_transpose")(xf, wf, **args)
    y = call.finish(y)
    if b is not None:
        y = y + as_array(b, "b").astype(y.dtype).reshape((1, -1) + (1,) * (y.ndim - 2))
    return owned(y, x, w)

