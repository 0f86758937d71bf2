"""Strategies, guards and oracles of the property-based fuzz (tests/test_fuzz_*.py).

The fuzz calls the public API with arguments drawn two ways:

* *valid-leaning*: consistent shapes and small geometry, so that most calls succeed and
  their results can be compared with an oracle (PyTorch in float64, or where PyTorch
  cannot take the geometry, an independent gather over the index formulas);
* *wild*: any argument may be replaced by a huge or negative int (up to 2**64), a float,
  a bool, ``None``, a string, a NumPy scalar or a nested sequence, and arrays may have
  other dtypes, no batch, or empty axes; the library must refuse these with a
  ``ValueError`` or ``TypeError``.

Every call goes through :func:`guarded`, which bounds its time (SIGALRM) and its address
space (``RLIMIT_AS``), lets only ``ValueError`` and ``TypeError`` escape (with a message
of the library's own), and checks that the inputs are unchanged.
"""

from __future__ import annotations

import contextlib
import math
import re
import resource
import signal

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# ---------------------------------------------------------------------------- settings

CALL_SECONDS = 3.0            # one library call; a refusal should take milliseconds
MEMORY_HEADROOM = 2 << 30     # address space a call may add (bytes); tiny inputs only
ORACLE_MAX_ELEMENTS = 50_000  # compare with an oracle only below this output size


def fuzz_settings(**overrides):
    """The loaded profile (``HYPOTHESIS_PROFILE``: 300 examples by default, 10**4 with
    ``fuzz``), no per-example deadline (each call has its own time bound), and the
    health checks that small-but-many-branched strategies trip disabled."""
    base = dict(deadline=None, suppress_health_check=list(HealthCheck))
    base.update(overrides)
    return settings(**base)


# ---------------------------------------------------------------------------- guards


class CallTooSlow(BaseException):
    """A library call ran past :data:`CALL_SECONDS` (BaseException: not swallowed by
    an ``except Exception`` inside the library)."""


def _on_alarm(signum, frame):
    raise CallTooSlow(f"the call ran longer than {CALL_SECONDS} s")


@contextlib.contextmanager
def time_limit(seconds=CALL_SECONDS):
    """Raise :class:`CallTooSlow` in the main thread after ``seconds``."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def memory_limit(headroom=MEMORY_HEADROOM):
    """Cap the address space at its current size plus ``headroom``: an allocation for
    a blown-up output fails fast with MemoryError instead of swapping the machine."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        size = _vm_size()
    except (OSError, ValueError):
        yield
        return
    limit = size + headroom if size else soft
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# Python's and NumPy's own words: a TypeError/ValueError with one of these leaked from
# inside the library instead of being a check that names the parameter.
INTERNAL_MESSAGES = re.compile("|".join([
    r"object is not iterable", r"object is not subscriptable", r"unsupported operand type",
    r"cannot be interpreted as an integer", r"has no len\(\)", r"not supported between",
    r"object has no attribute", r"invalid literal for int\(\)", r"cannot convert float",
    r"can't multiply sequence", r"can only concatenate", r"must be real number, not",
    r"too many values to unpack", r"not enough values to unpack", r"index out of range",
    r"Python int too large", r"math domain error", r"takes \d+ positional argument",
    r"missing \d+ required positional argument", r"setting an array element with a sequence",
    r"cannot reshape array", r"could not be broadcast", r"maximum supported dimension",
    r"negative dimensions are not allowed", r"array is too big",
    r"truth value of an array", r"only integer scalar arrays", r"only length-1 arrays",
    r"'NoneType'", r"'float' object", r"'str' object", r"'int' object", r"'bool' object",
    r"'tuple' object", r"'list' object", r"'bytes' object", r"'dict' object",
    r"'complex' object", r"object of type", r"int\(\) argument must be",
    r"float\(\) argument must be", r"unhashable type", r"ufunc '", r"did not contain a loop",
    r"Cannot cast", r"integer division or modulo by zero", r"division by zero",
    r"non-broadcastable output", r"zero-size array to reduction",
    r"axis \d+ is out of bounds", r"object too deep", r"inhomogeneous",
    r"Maximum allowed dimension exceeded", r"is out of bounds for axis",
]))


def check_message(exc):
    """A refusal must say, in the library's words, what was wrong."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} with an empty message"
    found = INTERNAL_MESSAGES.search(text)
    assert found is None, (f"{type(exc).__name__} carries Python's/NumPy's own message "
                           f"({found.group(0)!r}) instead of the library's: {text[:300]}")


def _arrays(value, out, depth=0):
    """Every ndarray inside ``value`` (through tuples, lists and dicts)."""
    if depth > 8:
        return out
    if isinstance(value, np.ndarray):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _arrays(v, out, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _arrays(v, out, depth + 1)
    return out


def same_array(a, b) -> bool:
    """Equal shape, dtype and values, NaN positions included."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    try:
        return bool(np.array_equal(a, b))
    except Exception:  # object arrays of odd things
        return all(x is y or x == y for x, y in zip(a.ravel(), b.ravel()))


class Refused:
    """A call that raised ValueError or TypeError."""

    def __init__(self, exc):
        self.exc = exc

    def __repr__(self):
        return f"Refused({type(self.exc).__name__}: {self.exc})"


def guarded(fn, *args, seconds=CALL_SECONDS, **kwargs):
    """Call ``fn``, bounded in time and memory; return its result or :class:`Refused`.

    Any exception other than ValueError/TypeError propagates (a fuzz failure). The
    arrays among the arguments must be unchanged afterwards.
    """
    inputs = _arrays((args, kwargs), [])
    before = [a.copy() for a in inputs]
    try:
        with memory_limit(), time_limit(seconds):
            result = fn(*args, **kwargs)
    except CallTooSlow as exc:  # an Exception from here on, so that hypothesis shrinks it
        raise AssertionError(f"{getattr(fn, '__qualname__', fn)} {exc}") from None
    except (ValueError, TypeError) as exc:
        _check_unchanged(inputs, before, fn)
        check_message(exc)
        return Refused(exc)
    _check_unchanged(inputs, before, fn)
    return result


def _check_unchanged(inputs, before, fn):
    for i, (a, b) in enumerate(zip(inputs, before)):
        assert same_array(a, b), (f"{getattr(fn, '__name__', fn)} modified its input "
                                  f"array #{i} of shape {b.shape}")


def check_result_array(y, inputs=(), *, shape=None, dtype=None, what="result"):
    """An owned-or-fresh, writable, C-contiguous ndarray of the documented shape/dtype."""
    assert isinstance(y, np.ndarray), f"{what} is a {type(y).__name__}, not an ndarray"
    assert y.flags.c_contiguous, f"{what} of shape {y.shape} is not C-contiguous"
    assert y.flags.writeable, f"{what} is read-only"
    for a in _arrays(list(inputs), []):
        assert not np.shares_memory(y, a), f"{what} is a view of an input of shape {a.shape}"
    if shape is not None:
        assert y.shape == tuple(shape), f"{what} has shape {y.shape}, expected {tuple(shape)}"
    if dtype is not None:
        assert y.dtype == np.dtype(dtype), f"{what} has dtype {y.dtype}, expected {dtype}"


def assert_matches(got, want, *, dtype, terms=1, what="result"):
    """Same non-finite pattern (NaN and ±Inf positions) and close finite values."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, oracle {want.shape}"
    for name, test in (("NaN", np.isnan), ("+Inf", np.isposinf), ("-Inf", np.isneginf)):
        a, b = test(got), test(want)
        if not np.array_equal(a, b):
            extra = np.argwhere(a & ~b)[:4].tolist()
            missing = np.argwhere(b & ~a)[:4].tolist()
            raise AssertionError(
                f"{what}: {name} positions differ from PyTorch's: {int((a & ~b).sum())} extra "
                f"(e.g. {extra}), {int((b & ~a).sum())} missing (e.g. {missing})")
    finite = np.isfinite(want)
    if not finite.any():
        return
    eps = 1e-5 if np.dtype(dtype) == np.float32 else 1e-11
    scale = max(1.0, float(np.abs(want[finite]).max()))
    tol = eps * scale * max(1, terms) ** 0.5 * 8
    err = np.abs(got[finite] - want[finite])
    worst = float(err.max())
    assert worst <= tol, (f"{what}: differs from the oracle by {worst:.3g} "
                          f"(tolerance {tol:.3g})")


# ---------------------------------------------------------------------------- reference rules


class Invalid(Exception):
    """The arguments are outside the documented domain: the library must refuse them."""


def is_int(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, np.ndarray):  # a 0-d integer array is an int (operator.index)
        return v.ndim == 0 and v.dtype.kind in "iu"
    return isinstance(v, (int, np.integer))


def _is_seq(v) -> bool:
    return isinstance(v, (tuple, list)) or (isinstance(v, np.ndarray) and v.ndim == 1)


def ref_axes(value, ndim, name, minimum=1):
    """An int for every axis or ``ndim`` ints, each ``>= minimum``."""
    if is_int(value):
        items = (int(value),) * ndim
    elif _is_seq(value):
        items = list(value)
        if len(items) != ndim or not all(is_int(v) for v in items):
            raise Invalid(f"{name}={value!r}")
        items = tuple(int(v) for v in items)
    else:
        raise Invalid(f"{name}={value!r}")
    if any(v < minimum for v in items):
        raise Invalid(f"{name}={value!r} below {minimum}")
    return items


def ref_padding(value, ndim):
    """Pairs per axis, or the word "same"/"valid"."""
    if isinstance(value, str):
        word = value.lower()
        if word not in ("same", "valid"):
            raise Invalid(f"padding={value!r}")
        return word
    if is_int(value):
        pairs = ((int(value), int(value)),) * ndim
    elif _is_seq(value):
        items = list(value)
        if ndim == 1 and len(items) == 2 and all(is_int(v) for v in items):
            pairs = ((int(items[0]), int(items[1])),)
        elif len(items) != ndim:
            raise Invalid(f"padding={value!r}")
        else:
            pairs = []
            for item in items:
                if is_int(item):
                    pairs.append((int(item), int(item)))
                elif isinstance(item, (tuple, list)) and len(item) == 2 and \
                        all(is_int(v) for v in item):
                    pairs.append((int(item[0]), int(item[1])))
                else:
                    raise Invalid(f"padding={value!r}")
            pairs = tuple(pairs)
    else:
        raise Invalid(f"padding={value!r}")
    if any(p < 0 for pair in pairs for p in pair):
        raise Invalid(f"padding={value!r} negative")
    return pairs


def ref_groups(groups):
    if not is_int(groups) or groups < 1:
        raise Invalid(f"groups={groups!r}")
    return int(groups)


def ref_method(method, available):
    if not isinstance(method, str) or (method != "auto" and method not in available):
        raise Invalid(f"method={method!r}")
    return method


def ref_float_array(a, name):
    """The array the library sees: float32/float64 only."""
    if isinstance(a, np.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except Exception:
            raise Invalid(f"{name} is not an array") from None
    if arr.dtype not in (np.float32, np.float64):
        raise Invalid(f"{name} has dtype {arr.dtype}")
    return arr


def same_pad(n, k, s, d):
    """SAME_UPPER padding of a forward convolution of input size ``n``."""
    m = -(-n // s)
    total = max((m - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


class Geometry:
    """Per-axis kernel, stride, padding pairs, dilation, output padding; sizes."""

    def __init__(self, k, s, pads, d, r=None, groups=1):
        self.k, self.s, self.pads, self.d, self.groups = k, s, pads, d, groups
        self.r = r if r is not None else (0,) * len(k)
        self.e = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))

    @property
    def ndim(self):
        return len(self.k)

    def conv_out(self, n):
        out = []
        for ni, (lo, hi), e, s in zip(n, self.pads, self.e, self.s):
            if ni < 1 or ni + lo + hi < e:
                raise Invalid(f"no output for input {n}")
            out.append((ni + lo + hi - e) // s + 1)
        return tuple(out)

    def full(self, m):
        return tuple((mi - 1) * s + e for mi, s, e in zip(m, self.s, self.e))

    def transpose_out(self, m):
        out = tuple(L - lo - hi + r for L, (lo, hi), r in zip(self.full(m), self.pads, self.r))
        if any(v < 1 for v in out):
            raise Invalid(f"no transposed output for input {m}")
        return out


def conv_geometry(x_spatial, k, stride, padding, dilation, groups):
    ndim = len(k)
    s = ref_axes(stride, ndim, "stride")
    d = ref_axes(dilation, ndim, "dilation")
    if any(v < 1 for v in k):
        raise Invalid(f"kernel {k}")
    pads = ref_padding(padding, ndim)
    if pads == "valid":
        pads = ((0, 0),) * ndim
    elif pads == "same":
        pads = tuple(same_pad(n, ki, si, di) for n, ki, si, di in zip(x_spatial, k, s, d))
    geo = Geometry(tuple(k), s, pads, d, None, ref_groups(groups))
    return geo, geo.conv_out(x_spatial)


def _output_size(value, ndim):
    if is_int(value):
        items = (int(value),) * ndim
    elif _is_seq(value) and all(is_int(v) for v in value):
        items = tuple(int(v) for v in value)
        if len(items) == ndim + 2:
            items = items[2:]
        if len(items) != ndim:
            raise Invalid(f"output_size={value!r}")
    else:
        raise Invalid(f"output_size={value!r}")
    if any(v < 1 for v in items):
        raise Invalid(f"output_size={value!r}")
    return items


def transpose_geometry(m, k, stride, padding, dilation, groups, output_padding=0,
                       output_size=None):
    """The documented rules of ``conv_transpose``'s geometry; returns (geo, out)."""
    ndim = len(k)
    s = ref_axes(stride, ndim, "stride")
    d = ref_axes(dilation, ndim, "dilation")
    groups = ref_groups(groups)
    if any(v < 1 for v in k):
        raise Invalid(f"kernel {k}")
    r = ref_axes(output_padding, ndim, "output_padding", minimum=0)
    pads = ref_padding(padding, ndim)
    want = None
    if output_size is not None:
        want = _output_size(output_size, ndim)
        if any(r):
            raise Invalid("output_padding and output_size together")
    if pads == "valid":
        pads = ((0, 0),) * ndim
    elif pads == "same":
        if want is None:
            if any(r):
                raise Invalid("output_padding with padding='same'")
            want = tuple(mi * si for mi, si in zip(m, s))
        if any(-(-n // si) != mi for n, si, mi in zip(want, s, m)):
            raise Invalid(f"output_size {want} inconsistent with 'same'")
        pads = tuple(same_pad(n, ki, si, di) for n, ki, si, di in zip(want, k, s, d))
    geo = Geometry(tuple(k), s, pads, d, r, groups)
    if want is not None:
        base = tuple(L - lo - hi for L, (lo, hi) in zip(geo.full(m), pads))
        r = tuple(n - b for n, b in zip(want, base))
        geo = Geometry(tuple(k), s, pads, d, r, groups)
    if any(not 0 <= ri < max(si, di) for ri, si, di in zip(geo.r, s, d)):
        raise Invalid(f"output_padding {geo.r}")
    return geo, geo.transpose_out(m)


# ---------------------------------------------------------------------------- oracles

def _torch():
    import torch
    return torch


def _feasible(sizes, geo):
    """Whether PyTorch can run the problem with explicit padding in reasonable memory."""
    limit = 4096
    return geo.ndim <= 3 and all(v <= limit for v in sizes) and all(v <= limit for v in geo.s + geo.d) and \
        all(lo + hi <= limit for lo, hi in geo.pads) and all(e <= limit for e in geo.e)


def _tconv(ndim):
    F = _torch().nn.functional
    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[ndim]


def _tconvT(ndim):
    F = _torch().nn.functional
    return {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[ndim]


def _t(a):
    # a fresh C-ordered copy: views (flipped, strided) may keep negative strides on
    # length-1 axes, which PyTorch refuses
    return _torch().from_numpy(np.array(a, dtype=np.float64, order="C", copy=True))


def _flat_pads(pairs):
    out = []
    for lo, hi in reversed(pairs):
        out += [lo, hi]
    return out


def torch_conv(x, w, b, geo, *, dy=None, grads=False):
    """conv by PyTorch in float64 (explicit padding); with ``dy``: the weight gradient,
    or with ``grads`` too the tuple (y, dx, dw)."""
    torch = _torch()
    x0 = xt = _t(x)
    wt = _t(w)
    if dy is not None:
        wt.requires_grad_(True)
        xt.requires_grad_(grads)
    if any(lo or hi for lo, hi in geo.pads):
        xt = torch.nn.functional.pad(xt, _flat_pads(geo.pads))
    n_pad = xt.shape[2:]
    # a stride beyond the padded input gives one output: PyTorch needs it small
    s = tuple(min(si, max(1, n)) for si, n in zip(geo.s, n_pad))
    y = _tconv(geo.ndim)(xt, wt, None if b is None else _t(b), stride=s, padding=0,
                         dilation=geo.d, groups=geo.groups)
    if dy is None:
        return y.detach().numpy()
    y.backward(_t(dy))
    if grads:
        return y.detach().numpy(), x0.grad.numpy(), wt.grad.numpy()
    return wt.grad.numpy()


def window(full, starts, sizes):
    """``full[..., q]`` for q in ``[lo, lo + n)`` per spatial axis, zeros outside ``full``
    (on either side): the window every transposed convolution is."""
    torch = _torch()
    index, pads = [slice(None), slice(None)], []
    for axis, (lo, n) in enumerate(zip(starts, sizes)):
        L = full.shape[2 + axis]
        a, stop = min(max(lo, 0), L), max(min(lo + n, L), 0)
        stop = max(stop, a)
        before = min(max(-lo, 0), n)
        index.append(slice(a, stop))
        pads.append((before, n - before - (stop - a)))
    y = full[tuple(index)]
    if any(a or b for a, b in pads):
        y = torch.nn.functional.pad(y, _flat_pads(pads))
    return y


def torch_conv_transpose(x, w, b, geo, out, *, dy=None, grads=False):
    """conv_transpose by PyTorch in float64: the full scatter cropped to ``out`` with
    zeros beyond it; with ``dy``: the weight gradient, or with ``grads`` (y, dx, dw)."""
    xt, wt = _t(x), _t(w)
    if dy is not None:
        wt.requires_grad_(True)
        xt.requires_grad_(grads)
    full = _tconvT(geo.ndim)(xt, wt, None, stride=geo.s, padding=0, dilation=geo.d,
                             groups=geo.groups)
    y = window(full, [lo for lo, _ in geo.pads], out)
    if b is not None:
        y = y + _t(b).reshape((1, -1) + (1,) * geo.ndim)
    if dy is None:
        return y.detach().numpy()
    y.backward(_t(dy))
    if grads:
        return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()
    return wt.grad.numpy()


def _gather(src, index_lists):
    """``src[:, :, i1, i2, ...]`` over per-axis index tables ``(P_a, K_a)`` with -1 for
    "no element": (N, C, P1, K1, P2, K2, ...) values and the validity mask."""
    ndim = len(index_lists)
    grids, valid = [], None
    for a, table in enumerate(index_lists):
        t = np.asarray(table, dtype=np.int64).reshape(len(table), -1)
        shape = [1] * (2 * ndim)
        shape[2 * a], shape[2 * a + 1] = t.shape
        grids.append(np.where(t < 0, 0, t).reshape(shape))
        ok = (t >= 0).reshape(shape)
        valid = ok if valid is None else valid & ok
    g = src[(slice(None), slice(None)) + tuple(grids)]
    return np.where(valid, g, 0.0), np.broadcast_to(valid, g.shape[2:])


def gather_conv(x, w, b, geo, out):
    """conv from the index formula ``x_pad[i*s + j*d]`` (products with padding
    zeros included, as PyTorch computes them)."""
    if x.shape[0] == 0:     # an empty batch: no products, whatever the geometry
        return np.zeros((0, w.shape[0]) + tuple(out))
    tables = []
    for n, m, (lo, _), s, d, k in zip(x.shape[2:], out, geo.pads, geo.s, geo.d, geo.k):
        tables.append([[(i * s + j * d - lo) if 0 <= i * s + j * d - lo < n else -1
                        for j in range(k)] for i in range(m)])
    xg, _ = _gather(x.astype(np.float64), tables)      # (N, C, P1, K1, ...)
    G = geo.groups
    N, C = x.shape[:2]
    cog = w.shape[0] // G
    xg = xg.reshape((N, G, C // G) + xg.shape[2:])
    wg = w.astype(np.float64).reshape((G, cog, C // G) + w.shape[2:])
    nd = geo.ndim
    # y[n, g, o, P...] = sum_{c, K...} w[g, o, c, K...] * xg[n, g, c, P1, K1, ...]
    letters = "abcdefghijklm"
    p, kk = letters[:nd], letters[nd:2 * nd]
    xs = "NGC" + "".join(pi + ki for pi, ki in zip(p, kk))
    ws = "GOC" + kk
    y = np.einsum(f"{xs},{ws}->NGO{p}", xg, wg, optimize=False)
    y = y.reshape((N, G * cog) + tuple(out))
    if b is not None:
        y = y + b.astype(np.float64).reshape((1, -1) + (1,) * nd)
    return y


def gather_conv_transpose(x, w, b, geo, out):
    """conv_transpose from ``y[i*s + j*d - lo] += x[i] w[j]`` (only those products)."""
    if x.shape[0] == 0:     # an empty batch: no products, whatever the geometry
        return np.zeros((0, w.shape[1] * geo.groups) + tuple(out))
    tables = []
    for m, n, (lo, _), s, d, k in zip(x.shape[2:], out, geo.pads, geo.s, geo.d, geo.k):
        rows = []
        for q in range(n):
            row = []
            for j in range(k):
                t = q + lo - j * d
                row.append(t // s if t % s == 0 and 0 <= t // s < m else -1)
            rows.append(row)
        tables.append(rows)
    xg, valid = _gather(x.astype(np.float64), tables)   # (N, C_in, Q1, K1, ...)
    G = geo.groups
    N, C = x.shape[:2]
    cog = w.shape[1]
    nd = geo.ndim
    xg = xg.reshape((N, G, C // G) + xg.shape[2:])
    wg = w.astype(np.float64).reshape((G, C // G, cog) + w.shape[2:])
    # products only where valid: x * w, masked, summed over c and taps
    xe = xg.reshape(xg.shape[:3] + (1,) + xg.shape[3:])          # N G C 1 Q1 K1 ...
    wshape = list(wg.shape[:3])
    for ki in w.shape[2:]:
        wshape += [1, ki]
    we = wg.reshape(wshape)                                     # G C O 1 K1 1 K2 ...
    terms = np.where(valid, xe * we[None], 0.0)                 # N G C O Q1 K1 ...
    axes = (2,) + tuple(4 + 2 * a + 1 for a in range(nd))
    y = terms.sum(axis=axes).reshape((N, G * cog) + tuple(out))
    if b is not None:
        y = y + b.astype(np.float64).reshape((1, -1) + (1,) * nd)
    return y


def oracle_conv(x, w, b, geo, out):
    if _feasible(x.shape[2:], geo):
        return torch_conv(x, w, b, geo)
    return gather_conv(x, w, b, geo, out)


def oracle_conv_transpose(x, w, b, geo, out):
    if _feasible(x.shape[2:] + tuple(out), geo):
        return torch_conv_transpose(x, w, b, geo, out)
    return gather_conv_transpose(x, w, b, geo, out)


def oracle_conv_weight_grad(x, dy, geo, w_shape):
    if _feasible(x.shape[2:], geo):
        return torch_conv(x, np.zeros(w_shape), None, geo, dy=dy)
    # dw[o, c, j] = sum_{n, i} dy[n, o, i] x_pad[n, c, i*s + j*d]
    tables = []
    for n, m, (lo, _), s, d, k in zip(x.shape[2:], dy.shape[2:], geo.pads, geo.s, geo.d,
                                      geo.k):
        tables.append([[(i * s + j * d - lo) if 0 <= i * s + j * d - lo < n else -1
                        for j in range(k)] for i in range(m)])
    xg, _ = _gather(x.astype(np.float64), tables)
    G, nd = geo.groups, geo.ndim
    N, C = x.shape[:2]
    O = dy.shape[1]
    xg = xg.reshape((N, G, C // G) + xg.shape[2:])
    dyg = dy.astype(np.float64).reshape((N, G, O // G) + dy.shape[2:])
    letters = "abcdefghijklm"
    p, kk = letters[:nd], letters[nd:2 * nd]
    xs = "NGC" + "".join(pi + ki for pi, ki in zip(p, kk))
    dw = np.einsum(f"{xs},NGO{p}->GOC{kk}", xg, dyg, optimize=False)
    return dw.reshape(w_shape)


def oracle_conv_transpose_weight_grad(x, dy, geo, w_shape):
    out = dy.shape[2:]
    if _feasible(x.shape[2:] + tuple(out), geo):
        return torch_conv_transpose(x, np.zeros(w_shape), None, geo, out, dy=dy)
    # dw[c, o, j] = sum_{n, i} x[n, c, i] dy_full[n, o, i*s + j*d - lo] (zeros outside)
    tables = []
    for m, n, (lo, _), s, d, k in zip(x.shape[2:], out, geo.pads, geo.s, geo.d, geo.k):
        tables.append([[(i * s + j * d - lo) if 0 <= i * s + j * d - lo < n else -1
                        for j in range(k)] for i in range(m)])
    full = geo.full(x.shape[2:])
    if any(L > 10**6 for L in full):
        raise Invalid("oracle: no feasible comparison")
    dyg, _ = _gather(dy.astype(np.float64), tables)        # N O I1 K1 ...
    G, nd = geo.groups, geo.ndim
    N, C = x.shape[:2]
    O = dy.shape[1]
    xg = x.astype(np.float64).reshape((N, G, C // G) + x.shape[2:])
    dyg = dyg.reshape((N, G, O // G) + dyg.shape[2:])
    letters = "abcdefghijklm"
    p, kk = letters[:nd], letters[nd:2 * nd]
    ds = "NGO" + "".join(pi + ki for pi, ki in zip(p, kk))
    dw = np.einsum(f"NGC{p},{ds}->GCO{kk}", xg, dyg, optimize=False)
    return dw.reshape(w_shape)


# ---------------------------------------------------------------------------- strategies

HUGE = [2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
        10**6, 10**9, 10**12, 10**18, 10**30]
FLOATS = [6.0, 1.0, 0.0, 1.5, -1.0, 2.0**64, float("nan"), float("inf"), float("-inf"),
          1e300]
WORDS = ["same", "valid", "SAME", "Valid", "full", "", "2", "1,1", "same_upper", "none",
         "auto", "direct", "0x2"]

wild_ints = st.one_of(
    st.integers(-3, 8),
    st.sampled_from(HUGE + [-v for v in HUGE] + [-2**63, -2**64]),
    st.integers(-2**65, 2**65),
)


def _numpy_int(v):
    for t in (np.int64, np.uint64, np.int32, np.uint8, np.int8):
        try:
            if np.iinfo(t).min <= v <= np.iinfo(t).max:
                return t(v)
        except OverflowError:
            continue
    return v


wild_scalars = st.one_of(
    wild_ints,
    wild_ints.map(_numpy_int),
    st.sampled_from(FLOATS),
    st.sampled_from(FLOATS).map(np.float64),
    st.booleans(),
    st.booleans().map(np.bool_),
    st.none(),
    st.sampled_from(WORDS),
    st.just(b"2"),
    st.just(2 + 0j),
    st.integers(-2, 4).map(np.array),          # 0-d integer arrays
)

wild_geometry = st.recursive(
    wild_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4).map(tuple), st.lists(inner, max_size=4),
                            st.lists(st.integers(-2, 4), max_size=4).map(np.array)),
    max_leaves=8,
)
"""Anything a user might pass for a stride, a padding, a size: mostly nonsense."""


huge_geometry = st.one_of(
    st.sampled_from(HUGE),
    st.lists(st.one_of(st.integers(0, 3), st.sampled_from(HUGE)), min_size=1, max_size=3)
    .map(tuple),
)
"""Ints of the right type but huge: the library must refuse them (or compute a small
result) without blowing up time or memory."""


def maybe_wild(valid, wild_flag):
    """``valid`` values, or in wild mode sometimes a wild or a huge one instead."""
    if not wild_flag:
        return valid
    return st.one_of(valid, valid, wild_geometry, huge_geometry)


def per_axis(values, ndim):
    """An int, or a tuple/list of ``ndim`` ints, from ``values``."""
    return st.one_of(values, st.tuples(*[values] * ndim),
                     st.lists(values, min_size=ndim, max_size=ndim))


def paddings(ndim, hi=2):
    ints = st.integers(0, hi)
    pair = st.tuples(ints, ints)
    return st.one_of(ints, st.tuples(*[ints] * ndim),
                     st.tuples(*[st.one_of(ints, pair)] * ndim),
                     st.sampled_from(["same", "valid", "SAME"]))


ELEMENTS = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]
NONFINITE = [np.nan, np.inf, -np.inf]


@st.composite
def float_arrays(draw, shape, dtype, nonfinite=False):
    """Small exact values (sums stay exact in float32): all ones or seeded random
    multiples of 0.5; optionally one to three NaN/Inf planted."""
    size = math.prod(shape)
    seed = draw(st.integers(0, 2**16))
    if seed == 0:
        a = np.ones(shape)
    else:
        a = np.random.default_rng(seed).choice(ELEMENTS, size=shape)
    if nonfinite and size:
        count = draw(st.integers(1, min(3, size)))
        for _ in range(count):
            a.flat[draw(st.integers(0, size - 1))] = draw(st.sampled_from(NONFINITE))
    return np.asarray(a, dtype=dtype).reshape(shape)


def wild_array(shape_hint):
    """Not a float32/float64 ndarray of the right shape: other dtypes, ranks, lists, None."""
    shape = tuple(shape_hint)
    return st.one_of(
        st.sampled_from([np.int64, np.int32, np.bool_, np.complex128, np.float16,
                         object, np.uint8]).map(lambda t: np.ones(shape, dtype=t)),
        st.just(np.ones(shape).tolist()),
        st.just(np.ones(shape[1:])),                      # no batch axis
        st.just(np.ones(shape + (1,))),                   # one axis too many
        st.just(np.ones((0,) + shape[1:])),               # empty batch
        st.just(np.ones(shape[:1] + (0,) + shape[2:])),   # no channels
        st.just(np.ones(shape[:2] + (0,) * (len(shape) - 2))),  # empty spatial axes
        st.just(np.ones(shape)[..., ::-1]),               # a negatively strided view
        st.just(np.asfortranarray(np.ones(shape))),
        st.just(np.float64(1.0)),
        st.just(None),
        st.just("x"),
        st.just([[1.0], [1.0, 2.0]]),                     # ragged
    )


MAX_SPATIAL = {1: 7, 2: 5, 3: 4}
MAX_KERNEL = {1: 4, 2: 3, 3: 2}


def oracle_window(x, w, b, s, d, groups, starts, sizes):
    """The window ``[lo, lo + n)`` per axis of the zero-extended full scatter of
    ``conv_transpose`` (PyTorch, float64): every framework's transposed convolution.
    Geometry PyTorch cannot take (huge strides, 4-d) goes to the index-formula gather."""
    geo = Geometry(tuple(w.shape[2:]), tuple(s), tuple((lo, 0) for lo in starts), tuple(d),
                   None, groups)
    if not _feasible(x.shape[2:] + tuple(sizes), geo) or any(lo < -4096 for lo in starts):
        return gather_conv_transpose(x, w, b, geo, tuple(sizes))
    full = _tconvT(len(s))(_t(x), _t(w), None, stride=tuple(s), padding=0,
                           dilation=tuple(d), groups=groups)
    y = window(full, starts, sizes)
    if b is not None:
        y = y + _t(b).reshape((1, -1) + (1,) * len(s))
    return y.numpy()
