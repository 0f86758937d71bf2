"""The forward convolution of a :class:`~deconvkit.ConvSpec` in each framework's words.

:func:`framework_call` spells the *transposed* convolution; a model file also holds
forward ``Conv`` nodes, and :func:`conv_spelling` writes those: the call (or the
explicit pad plus the call) that computes ``conv(x, w, spec)`` with the framework's
names, layouts and padding rules. Padding is the one place frameworks differ:

* PyTorch and Caffe pad both sides equally (asymmetric pads need a pad first; Caffe
  has no such layer in its standard set);
* TensorFlow's and Keras' ``"SAME"`` is SAME_UPPER (the odd pixel at the end) for the
  given input size; other pairs are explicit (``tf.nn.conv2d`` only) or a
  ``ZeroPadding`` layer;
* ``jax.lax.conv_general_dilated`` takes any ``(lo, hi)`` pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..geometry import ConvSpec, same_padding
from ._window import layout_name, spatial_sizes

__all__ = ["ConvSpelling", "conv_spelling", "FORWARD_FRAMEWORKS"]

FORWARD_FRAMEWORKS = ("torch", "tensorflow", "keras", "caffe", "jax")


@dataclass(frozen=True)
class ConvSpelling:
    """Source that computes one forward convolution in a framework.

    Attributes
    ----------
    framework : str
    code : str
        A few lines of Python starting from ``x`` in the framework's layout and ``w`` in
        deconvkit's ``(C_out, C_in/groups, *k)``.
    exact : bool
        False when the framework cannot express the padding at all.
    layout : str
    notes : tuple of str
    """

    framework: str
    code: str
    exact: bool
    layout: str
    notes: tuple = ()


def _one(values):
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def _is_same_upper(spec, input_size):
    return input_size is not None and all(
        tuple(p) == same_padding(n, k, s, d) for p, n, k, s, d in
        zip(spec.padding, input_size, spec.kernel_size, spec.stride, spec.dilation))


def _torch(spec, input_size):
    n = spec.ndim
    symmetric = all(lo == hi for lo, hi in spec.padding)
    lines, notes = [], []
    if not symmetric:
        flat = [v for lo, hi in reversed(spec.padding) for v in (lo, hi)]
        lines.append(f"x = torch.nn.functional.pad(x, {tuple(flat)})")
        notes.append("PyTorch's padding is symmetric: the asymmetric pads are an F.pad first")
    pad = _one(lo for lo, _ in spec.padding) if symmetric else 0
    args = f"stride={_one(spec.stride)}, padding={pad}"
    if any(d != 1 for d in spec.dilation):
        args += f", dilation={_one(spec.dilation)}"
    if spec.groups != 1:
        args += f", groups={spec.groups}"
    if n > 3:
        return ConvSpelling("torch", "(no conv{n}d in PyTorch)", False,
                            layout_name(n, channels_last=False), ("PyTorch has conv1d..3d",))
    lines.append(f"y = torch.nn.functional.conv{n}d(x, w, {args})")
    return ConvSpelling("torch", "\n".join(lines), True, layout_name(n, channels_last=False),
                        tuple(notes))


def _tensorflow(spec, input_size):
    """``tf.nn.convolution``: "VALID", "SAME" (SAME_UPPER for this input size) or explicit
    pads (``tf.nn.conv2d`` takes them in 2-D; otherwise a ``tf.pad`` first). TensorFlow
    refuses strides > 1 with dilations > 1, and its CPU kernels have no grouped
    convolution: those become a stride-1 convolution sampled every ``s``, and one
    convolution per group."""
    n = spec.ndim
    axes = tuple(range(2, 2 + n)) + (1, 0)
    strided_dilated = any(s > 1 for s in spec.stride) and any(d > 1 for d in spec.dilation)
    lines = [f"w = np.transpose(w, {axes})"]
    notes, fn = [], "tf.nn.convolution"
    pairs = [[0, 0]] + [list(p) for p in spec.padding] + [[0, 0]]
    if not any(lo or hi for lo, hi in spec.padding):
        padding = "'VALID'"
    elif _is_same_upper(spec, input_size) and not strided_dilated:
        padding = "'SAME'"
    elif n == 2 and not strided_dilated:
        padding, fn = repr(pairs), "tf.nn.conv2d"
        notes.append("explicit (lo, hi) padding: tf.nn.conv2d takes it"
                     + ("" if input_size is not None else "; 'SAME' cannot be checked "
                        "without the input size"))
    else:
        padding = "'VALID'"
        lines.append(f"x = tf.pad(x, {pairs})")
        notes.append("explicit (lo, hi) padding: a tf.pad first")
    strides = [1] * n if strided_dilated else list(spec.stride)
    args = f"strides={strides}, padding={padding}, dilations={list(spec.dilation)}"
    if spec.groups == 1:
        call = f"{fn}(x, w, {args})"
    else:
        g = spec.groups
        call = (f"tf.concat([{fn}(xg, wg, {args}) for xg, wg in zip(tf.split(x, {g}, "
                f"axis=-1), tf.split(w, {g}, axis=-1))], axis=-1)")
        notes.append("groups: one convolution per group (TensorFlow's CPU kernels have no "
                     "grouped convolution)")
    if strided_dilated:
        call += "[:, " + ", ".join(f"::{s}" for s in spec.stride) + ", :]"
        notes.append("TensorFlow refuses strides > 1 with dilations > 1: a stride-1 "
                     "convolution, sampled every stride")
    lines.append(f"y = {call}")
    return ConvSpelling("tensorflow", "\n".join(lines), True,
                        layout_name(n, channels_last=True), tuple(notes))


def _keras(spec, input_size):
    n = spec.ndim
    notes, lines, exact = [], [], True
    if not any(lo or hi for lo, hi in spec.padding):
        padding = "valid"
    elif _is_same_upper(spec, input_size):
        padding = "same"
    else:
        padding = "valid"
        pairs = tuple(tuple(p) for p in spec.padding)
        pairs = pairs[0] if n == 1 else pairs     # ZeroPadding1D takes one (lo, hi)
        lines.append(f"x = keras.layers.ZeroPadding{n}D({pairs})(x)")
        notes.append("Keras' padding is 'valid' or 'same' (SAME_UPPER): other pads are a "
                     "ZeroPadding layer first")
        exact = n <= 3
    if any(s > 1 for s in spec.stride) and any(d > 1 for d in spec.dilation):
        notes.append("Keras rejects strides > 1 together with dilation_rate > 1")
        exact = False
    args = (f"filters=C_out, kernel_size={spec.kernel_size}, strides={spec.stride}, "
            f"padding={padding!r}, dilation_rate={spec.dilation}")
    if spec.groups != 1:
        args += f", groups={spec.groups}"
    lines.append(f"y = keras.layers.Conv{n}D({args})(x)  # kernel = np.transpose(w, "
                 f"{tuple(range(2, 2 + n)) + (1, 0)})")
    return ConvSpelling("keras", "\n".join(lines), exact, layout_name(n, channels_last=True),
                        tuple(notes))


def _caffe(spec, input_size):
    symmetric = all(lo == hi for lo, hi in spec.padding)
    param = {"num_output": "C_out", "kernel_size": _one(spec.kernel_size),
             "stride": _one(spec.stride), "pad": _one(lo for lo, _ in spec.padding)}
    if any(d != 1 for d in spec.dilation):
        param["dilation"] = _one(spec.dilation)
    if spec.groups != 1:
        param["group"] = spec.groups
    text = ", ".join(f"{k}={v}" for k, v in param.items())
    notes = () if symmetric else (
        "Caffe pads both sides equally: these asymmetric pads have no Convolution "
        "spelling (pad the bottom blob first)",)
    return ConvSpelling("caffe", f"top = L.Convolution(bottom, convolution_param=dict({text}))",
                        symmetric, layout_name(spec.ndim, channels_last=False), notes)


def _jax(spec, input_size):
    args = (f"window_strides={spec.stride}, padding={[tuple(p) for p in spec.padding]}, "
            f"rhs_dilation={spec.dilation}")
    if spec.groups != 1:
        args += f", feature_group_count={spec.groups}"
    return ConvSpelling("jax", f"y = jax.lax.conv_general_dilated(x, w, {args})", True,
                        layout_name(spec.ndim, channels_last=False))


_SPELLERS = {"torch": _torch, "tensorflow": _tensorflow, "keras": _keras, "caffe": _caffe,
             "jax": _jax}


def conv_spelling(framework: str, spec: ConvSpec, input_size=None) -> ConvSpelling:
    """How ``framework`` computes the forward ``conv(x, w, spec)``.

    ``input_size`` (spatial) lets TensorFlow and Keras use ``"SAME"`` when the pads are
    SAME_UPPER's for that size.

    >>> spec = ConvSpec((3, 3), stride=2, padding=((0, 1), (0, 1)))
    >>> print(conv_spelling("torch", spec, (6, 6)).code)
    x = torch.nn.functional.pad(x, (0, 1, 0, 1))
    y = torch.nn.functional.conv2d(x, w, stride=2, padding=0)
    >>> conv_spelling("tensorflow", spec, (6, 6)).code.splitlines()[1]
    "y = tf.nn.convolution(x, w, strides=[2, 2], padding='SAME', dilations=[1, 1])"
    """
    from .calls import canonical_name

    name = canonical_name(framework)
    if name not in _SPELLERS:
        raise ValueError(f"conv_spelling covers {FORWARD_FRAMEWORKS}, got {framework!r}")
    if not isinstance(spec, ConvSpec):
        raise TypeError(f"spec must be a ConvSpec, got {type(spec).__name__}")
    if input_size is not None:
        input_size = spatial_sizes(input_size, spec.ndim)
    return _SPELLERS[name](spec, input_size)
