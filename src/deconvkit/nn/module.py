"""The layer contract: :class:`Parameter`, :class:`Module` and :class:`Sequential`.

Every layer follows the Caffe / cs231n contract:

* ``forward(*inputs)`` computes the output and keeps what ``backward`` needs;
* ``backward(dy)`` returns the gradient with respect to the input (a tuple when
  the layer has several inputs) and *adds* the parameter gradients to
  ``Parameter.grad``; it never modifies ``dy`` in place;
* both return new arrays: writable, C-contiguous, never views of their inputs
  (:class:`~deconvkit.nn.Dropout` in evaluation, the identity, returns its argument);
* ``zero_grad()`` resets the parameter gradients;
* ``train()`` / ``eval()`` switch the mode of the module and all its children.

A layer remembers one forward pass: a layer used twice in one network needs two
instances. Architectures with skips (FCN-8s, U-Net) are a :class:`Module` whose
``forward`` and ``backward`` call their children in order and in reverse order.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._checks import check_allocation, check_int, describe, is_int

__all__ = ["Parameter", "Module", "Sequential"]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy float32 or float64 dtype; ``TypeError`` otherwise."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None:
        raise TypeError(f"dtype must be float32 or float64, got {describe(dtype)}")
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_bool(value, name: str) -> bool:
    """``value`` as a bool if it is one (Python or NumPy); ``TypeError`` otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def check_real(value, name: str, low=None, high=None, *, high_open=False) -> float:
    """``value`` as a finite float in ``[low, high]`` (``[low, high)`` with ``high_open``).

    Bools, non-numbers, NaN and infinities raise ``TypeError`` or ``ValueError`` naming
    ``name``, the expected range and the received value.

    >>> check_real(0.5, "p", 0, 1, high_open=True)
    0.5
    >>> check_real(1, "p", 0, 1, high_open=True)
    Traceback (most recent call last):
    ...
    ValueError: p must be a finite number in [0, 1), got 1
    """
    bounds = "" if low is None and high is None else (
        f" in [{'-inf' if low is None else low}, {'inf' if high is None else high}"
        f"{')' if high_open or high is None else ']'}")
    expected = f"{name} must be a finite number{bounds}, got {describe(value)}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(expected)
    v = float(value)
    if (not math.isfinite(v) or (low is not None and v < low)
            or (high is not None and (v >= high if high_open else v > high))):
        raise ValueError(expected)
    return v


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """A NumPy ``Generator`` from ``None``, an int seed >= 0, a ``Generator`` (returned
    unchanged), a ``BitGenerator`` or a ``SeedSequence``."""
    if isinstance(rng, (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if rng is not None:
        if not is_int(rng):
            raise TypeError(f"{name} must be None, an int seed >= 0 or a numpy Generator, "
                            f"got {describe(rng)}")
        rng = check_int(rng, name, minimum=0, maximum=2**128 - 1)
    return np.random.default_rng(rng)


def check_parameter_size(shape, dtype, name: str, arrays: int = 3) -> tuple:
    """``shape`` if ``arrays`` arrays of that shape and ``dtype`` (a parameter, its gradient,
    and its initializer's float64 draw or buffers) fit in the memory available; a
    ``ValueError`` stating the size otherwise, before anything is allocated."""
    shape = tuple(shape)
    check_allocation(math.prod(shape) * np.dtype(dtype).itemsize * arrays,
                     f"{name} of shape {shape} ({arrays} arrays of {np.dtype(dtype)})")
    return shape


def fresh(y, *inputs) -> np.ndarray:
    """``y`` as an array the caller owns: writable, C-contiguous and sharing no memory
    with ``inputs`` (copied only when it is not already)."""
    if (y.flags.c_contiguous and y.flags.writeable
            and not any(isinstance(a, np.ndarray) and np.may_share_memory(y, a)
                        for a in inputs)):
        return y
    return np.array(y, order="C", copy=True)


class Parameter:
    """A learnable array and its accumulated gradient.

    Parameters
    ----------
    data : ndarray, float32 or float64
    requires_grad : bool
        A frozen parameter (``False``) gets no gradient and optimizers skip it.

    Examples
    --------
    >>> import numpy as np
    >>> p = Parameter(np.ones(3, dtype=np.float32))
    >>> p.grad
    array([0., 0., 0.], dtype=float32)
    """

    def __init__(self, data, requires_grad: bool = True):
        data = np.asarray(data)
        check_dtype(data.dtype)
        self.data = data
        self.grad = np.zeros_like(data)
        self.requires_grad = bool(requires_grad)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def accumulate(self, grad) -> None:
        """Add ``grad`` to :attr:`grad` (nothing when frozen)."""
        if self.requires_grad:
            self.grad += grad

    def __repr__(self):
        frozen = "" if self.requires_grad else ", frozen"
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}{frozen})"


class Module:
    """Base class of every layer, loss and network.

    Subclasses implement :meth:`forward` and :meth:`backward`. Parameters,
    buffers and child modules are found by attribute: a :class:`Parameter`
    attribute is a parameter, a :class:`Module` attribute a child, and the names
    listed in ``_buffers`` are arrays saved with the parameters (running
    statistics). Attributes whose names start with ``_`` are private and never
    traversed. Names are dotted paths, as in PyTorch: ``"conv1.weight"``.

    Examples
    --------
    >>> import numpy as np
    >>> class Scale(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a = Parameter(np.array([2.0]))
    ...     def forward(self, x):
    ...         self._x = x
    ...         return self.a.data * x
    ...     def backward(self, dy):
    ...         self.a.accumulate(np.array([np.vdot(self._x, dy)]))
    ...         return self.a.data * dy
    >>> m = Scale()
    >>> m.forward(np.array([1.0, 3.0]))
    array([2., 6.])
    >>> m.backward(np.array([1.0, 1.0]))
    array([2., 2.])
    >>> m.a.grad
    array([4.])
    """

    _buffers: tuple = ()
    training = True

    def __init__(self):
        self.training = True

    # ------------------------------------------------------------------ contract
    def forward(self, *inputs):
        """Compute the output; keep what :meth:`backward` needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, dy):
        """Return the input gradient(s); accumulate parameter gradients."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    # ------------------------------------------------------------------ traversal
    def named_children(self):
        """``(name, module)`` for the direct children, in definition order."""
        for name, value in vars(self).items():
            if isinstance(value, Module) and not name.startswith("_"):
                yield name, value

    def named_modules(self, prefix: str = ""):
        """``(name, module)`` for this module (name ``prefix``) and all descendants."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = ""):
        """``(dotted name, Parameter)`` for every parameter, own ones first."""
        for path, module in self.named_modules(prefix):
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and not name.startswith("_"):
                    yield (f"{path}.{name}" if path else name), value

    def parameters(self) -> list:
        """All parameters, in :meth:`named_parameters` order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        """``(dotted name, ndarray)`` for every buffer (e.g. BatchNorm running stats)."""
        for path, module in self.named_modules():
            for name in module._buffers:
                yield (f"{path}.{name}" if path else name), getattr(module, name)

    def parameter(self, name: str) -> Parameter:
        """The parameter with dotted ``name``; ``KeyError`` listing the names otherwise."""
        params = dict(self.named_parameters())
        if name not in params:
            raise KeyError(f"no parameter {name!r}; parameters are {sorted(params)}")
        return params[name]

    # ------------------------------------------------------------------ state
    def zero_grad(self) -> None:
        """Set every parameter gradient to zero."""
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``True``) or evaluation mode on this module and its children."""
        for _, module in self.named_modules():
            module.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: BatchNorm uses running statistics, Dropout is the identity."""
        return self.train(False)

    def freeze(self, frozen: bool = True) -> "Module":
        """Mark every parameter as frozen (no gradient, skipped by optimizers) or not."""
        for p in self.parameters():
            p.requires_grad = not frozen
        return self

    def astype(self, dtype) -> "Module":
        """Convert parameters, gradients and buffers to ``dtype`` (float32 or float64)."""
        dtype = check_dtype(dtype)
        for p in self.parameters():
            p.data, p.grad = p.data.astype(dtype), p.grad.astype(dtype)
        for path, module in self.named_modules():
            for name in module._buffers:
                setattr(module, name, getattr(module, name).astype(dtype))
        return self

    def state_dict(self) -> dict:
        """Copies of all parameters and buffers, by dotted name."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state, strict: bool = True) -> "Module":
        """Copy arrays from ``state`` into the parameters and buffers of the same names.

        Raises ``ValueError`` for a shape mismatch, and with ``strict`` for missing
        or unexpected names. Values are cast to each target's dtype.
        """
        targets = dict(self.named_parameters())
        buffers = {name: name for name, _ in self.named_buffers()}
        expected = set(targets) | set(buffers)
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if strict and (missing or unexpected):
            raise ValueError(f"state does not match the module: missing {missing}, "
                             f"unexpected {unexpected}")
        for name in sorted(expected & set(state)):
            value = np.asarray(state[name])
            old = targets[name].data if name in targets else self._buffer(name)
            if value.shape != old.shape:
                raise ValueError(f"{name}: expected shape {old.shape}, got {value.shape}")
            old[...] = value
        return self

    def _buffer(self, dotted: str):
        *path, name = dotted.split(".")
        module = dict(self.named_modules())[".".join(path)]
        return getattr(module, name)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """Constructor arguments shown by ``repr``."""
        return ""

    def __repr__(self):
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + (")" if not children else "\n" + "\n".join(children) + "\n)")


class Sequential(Module):
    """Layers applied in order; ``backward`` runs them in reverse order.

    Children are named ``"0"``, ``"1"``, ... as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit.nn import ReLU
    >>> net = Sequential(ReLU(), ReLU())
    >>> net.forward(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> net.backward(np.array([5.0, 5.0]))
    array([0., 5.])
    """

    def __init__(self, *layers):
        super().__init__()
        self._layers = []
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> "Sequential":
        """Add a layer at the end."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential takes Module instances, got {type(layer).__name__}")
        setattr(self, str(len(self._layers)), layer)
        self._layers.append(layer)
        return self

    def __len__(self):
        return len(self._layers)

    def __getitem__(self, i):
        return self._layers[i]

    def __iter__(self):
        return iter(self._layers)

    def forward(self, x):
        if not self._layers:
            return np.array(x, order="C", copy=True)
        for layer in self._layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        if not self._layers:
            return np.array(dy, order="C", copy=True)
        for layer in reversed(self._layers):
            dy = layer.backward(dy)
        return dy
