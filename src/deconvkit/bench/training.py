"""Training throughput: the FCN-8s-like model in deconvkit against the same model in PyTorch.

One training step is forward, softmax cross-entropy, backward and an SGD (momentum 0.9)
update on a batch of :func:`deconvkit.datasets.shapes` images. The PyTorch model is built
from the deconvkit one, layer by layer, with the same initial weights and buffers, so the
two runners train the same network; their first-step losses are reported as a check.
Both steps are timed interleaved in one process after a warm-up (see
:func:`deconvkit.bench._time_interleaved`), with PyTorch on as many threads as deconvkit.

Where deconvkit's time goes is measured separately, by timing every leaf layer's
``forward`` and ``backward`` (and the loss and the optimizer step) during a few steps;
the timers are instance attributes that are removed afterwards, so the library's classes
are never patched.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
from collections import defaultdict

from .._checks import check_int
from .. import nn
from ..datasets import shapes
from ..threads import get_num_threads, set_num_threads
from . import _time_interleaved

__all__ = ["TrainingSetup", "deconvkit_step", "torch_step", "layer_breakdown", "run", "report"]

SGD_ARGS = dict(lr=0.01, momentum=0.9)


class TrainingSetup:
    """The model, its optimizer and loss, and a few batches to cycle through.

    Parameters
    ----------
    batch : int
        Images per step.
    size : int
        Height and width of the images, a multiple of 8.
    head, upsampling, num_classes, width, seed
        As for :func:`deconvkit.nn.fcn`.
    batches : int
        Distinct batches generated (steps cycle through them).
    method : str
        The :mod:`deconvkit.functional` method of every convolution layer (default
        ``"auto"``).
    """

    def __init__(self, batch=16, size=64, *, head="fcn8s", upsampling="learned_bilinear",
                 num_classes=6, width=16, seed=0, batches=2, method="auto"):
        self.batch, self.size = check_int(batch, "batch"), check_int(size, "size")
        if size % 8:
            raise ValueError(f"size must be a multiple of 8 (the output stride), got {size}")
        images, labels = shapes(batch * check_int(batches, "batches"), size=size, seed=seed)
        self.data = [(images[i:i + batch], labels[i:i + batch])
                     for i in range(0, len(images), batch)]
        self.net = nn.fcn(head, upsampling, num_classes=num_classes, width=width, seed=seed)
        first_conv(self.net).needs_input_grad = False   # the images need no gradient
        self.method = _check_method(method)
        for _, m in self.net.named_modules():
            if isinstance(m, (nn.Conv, nn.ConvTranspose)):
                m.method = self.method
        self.initial_state = self.net.state_dict()
        self.loss = nn.SoftmaxCrossEntropy()
        self.optimizer = nn.SGD(self.net, **SGD_ARGS)


def _check_method(method):
    from ..functional import available_methods
    if method != "auto" and method not in available_methods():
        raise ValueError(f"method must be 'auto' or one of {available_methods()}, got {method!r}")
    return method


def first_conv(net):
    """The first :class:`~deconvkit.nn.Conv` of ``net`` (in definition order)."""
    return next(m for _, m in net.named_modules() if isinstance(m, nn.Conv))


def deconvkit_step(setup: TrainingSetup):
    """A function that runs one training step on the next batch and returns the loss."""
    batches = itertools.cycle(setup.data)
    net, loss_fn, opt = setup.net, setup.loss, setup.optimizer

    def step():
        x, y = next(batches)
        opt.zero_grad()
        loss = loss_fn.forward(net.forward(x), y)
        net.backward(loss_fn.backward())
        opt.step()
        return float(loss)
    return step


def torch_step(setup: TrainingSetup):
    """``(step, None)`` for the same model in PyTorch, or ``(None, why)`` without torch."""
    try:
        import torch
    except ImportError:
        return None, "torch not installed (pip install torch), PyTorch side skipped"
    from . import torch_fcn
    torch.set_num_threads(get_num_threads())
    model = torch_fcn.mirror(setup.net, setup.initial_state)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, **SGD_ARGS)
    batches = itertools.cycle([(torch.from_numpy(x), torch.from_numpy(y))
                               for x, y in setup.data])

    def step():
        x, y = next(batches)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step, None


# ---------------------------------------------------------------- breakdown
def _leaves(net):
    return [m for _, m in net.named_modules() if not any(True for _ in m.named_children())]


def _phases(obj):
    """The timed methods of ``obj``: a convolution's backward is split into its weight
    gradient, its input gradient and the rest (bias sum, bookkeeping)."""
    if isinstance(obj, nn.Optimizer):
        return ("step",)
    if hasattr(obj, "weight_grad") and hasattr(obj, "input_grad"):
        return ("forward", "backward", "weight_grad", "input_grad")
    return ("forward", "backward")


@contextlib.contextmanager
def _timers(objects, totals):
    """Time the :func:`_phases` of each object into ``totals[(class, phase)]`` through
    instance attributes, deleted on exit (the classes are left alone)."""
    wrapped = []

    def wrap(obj, phase):
        method, key = getattr(obj, phase), (type(obj).__name__, phase)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                totals[key] += time.perf_counter() - t0
        setattr(obj, phase, timed)
        wrapped.append((obj, phase))

    try:
        for obj in objects:
            for phase in _phases(obj):
                wrap(obj, phase)
        yield
    finally:
        for obj, phase in wrapped:
            delattr(obj, phase)


def _split_backward(per_step):
    """Rename the nested conv timings: ``backward`` keeps only what is outside
    ``weight_grad`` and ``input_grad``."""
    out = {}
    for (name, phase), t in per_step.items():
        if phase == "backward":
            t -= per_step.get((name, "weight_grad"), 0.0) + per_step.get((name, "input_grad"), 0.0)
            if (name, "weight_grad") in per_step:
                phase = "backward, rest"
        label = {"weight_grad": "backward, weight grad",
                 "input_grad": "backward, input grad"}.get(phase, phase)
        out[(name, label)] = max(t, 0.0)
    return out


def layer_breakdown(setup: TrainingSetup, steps=5):
    """Seconds per step spent in each ``(layer class, phase)``, plus ``("other", "")``
    (the network's glue, zero_grad and Python overhead), after one untimed step."""
    step = deconvkit_step(setup)
    step()
    totals = defaultdict(float)
    objects = _leaves(setup.net) + [setup.loss, setup.optimizer]
    with _timers(objects, totals):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        total = time.perf_counter() - t0
    per_step = _split_backward({key: t / steps for key, t in totals.items()})
    per_step[("other", "")] = max(total / steps - sum(per_step.values()), 0.0)
    return per_step


# ---------------------------------------------------------------- side by side
PARTS = (("convolution", ("Conv", "ConvTranspose"), ("conv",)),
         ("batch norm", ("BatchNorm",), ("batch_norm",)),
         ("max pool", ("MaxPool",), ("max_pool",)),
         ("ReLU", ("ReLU",), ("relu", "threshold", "clamp_min")),
         ("loss", ("SoftmaxCrossEntropy",), ("softmax", "nll_loss", "cross_entropy")))
"""``(part, deconvkit layer classes, substrings of PyTorch operator names)``; the rest
(optimizer, crops and sums, glue) is "other"."""


def _part(name, column):
    for part, classes, ops in PARTS:
        if (name in classes) if column == 1 else any(op in name for op in ops):
            return part
    return "other"


def side_by_side(breakdown, torch_ops=None):
    """``{(part, "forward" | "backward"): {"deconvkit": s, "torch": s}}`` from a
    :func:`layer_breakdown` and PyTorch's ``op_times`` (optional)."""
    table = defaultdict(lambda: defaultdict(float))
    for (name, phase), t in breakdown.items():
        part = _part(name, 1)
        table[(part, "backward" if phase.startswith("backward") else "forward")][
            "deconvkit"] += t
    for name, t in (torch_ops or {}).items():
        if name.startswith("ProfilerStep") or name.startswith("Optimizer."):
            continue  # wrappers whose self time is nested work
        part = _part(name, 2)
        table[(part, "backward" if "backward" in name else "forward")]["torch"] += t
    return table


# ---------------------------------------------------------------- run and report
def run(batch=16, size=64, rounds=5, block_time=1.0, breakdown_steps=5, method="auto",
        threads=None, out=None):
    """Measure images/s of both runners and deconvkit's breakdown; print the report to
    ``out`` (default ``sys.stdout``) and return the measurements.

    ``threads`` sets deconvkit's threads (:func:`deconvkit.threads.set_num_threads`, the
    BLAS too when ``threadpoolctl`` is installed) and PyTorch's for this run only.
    """
    previous = get_num_threads()
    if threads is not None:
        set_num_threads(threads)
    try:
        return _run(batch, size, rounds, block_time, breakdown_steps, method, out)
    finally:
        set_num_threads(previous)


def _run(batch, size, rounds, block_time, breakdown_steps, method, out):
    setup = TrainingSetup(batch, size, method=method)
    runners = {"deconvkit": deconvkit_step(setup)}
    first_loss = {"deconvkit": runners["deconvkit"]()}
    tstep, note = torch_step(setup)
    if tstep is not None:
        runners["torch"] = tstep
        first_loss["torch"] = tstep()
    load = [_load()]
    medians = _time_interleaved(runners, rounds, block_time)
    load.append(_load())
    breakdown = layer_breakdown(setup, breakdown_steps)
    torch_ops = None
    if tstep is not None:
        from .torch_fcn import op_times
        torch_ops = op_times(tstep, breakdown_steps)
    result = dict(batch=setup.batch, size=setup.size, threads=get_num_threads(), method=method,
                  seconds=medians, images_per_s={n: setup.batch / t for n, t in medians.items()},
                  first_loss=first_loss, note=note, load=load, breakdown=breakdown,
                  parts=side_by_side(breakdown, torch_ops), blas_env=_blas_env())
    print(report(result), file=sys.stdout if out is None else out, flush=True)
    return result


def _blas_env():
    """The thread variables the BLAS reads at import, as ``NAME=value`` (those set)."""
    names = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
    return " ".join(f"{n}={os.environ[n]}" for n in names if n in os.environ)


def _load():
    """The 1-minute load average (other work on the machine skews every timing)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _ratio(result):
    rates = result["images_per_s"]
    return rates["deconvkit"] / rates["torch"] if "torch" in rates else None


def report(result):
    """The result of :func:`run` as Markdown: throughput table, ratio, breakdown table."""
    rates, secs, ratio = result["images_per_s"], result["seconds"], _ratio(result)
    lines = [f"FCN-8s-like training step (learned bilinear, width 16), batch "
             f"{result['batch']} of {result['size']}x{result['size']}, "
             f"{result['threads']} thread(s) {result['blas_env']}".rstrip()
             + f", deconvkit method={result['method']}", "",
             "| runner | ms/step | images/s | first loss |", "|---|---:|---:|---:|"]
    for name in rates:
        lines.append(f"| {name} | {secs[name] * 1e3:.1f} | {rates[name]:.1f} | "
                     f"{result['first_loss'][name]:.6f} |")
    lines.append("")
    lines.append(f"deconvkit / torch images/s: {ratio:.2f}x" if ratio is not None
                 else f"skipped torch: {result['note']}")
    lines.append(f"1-minute load average {result['load'][0]:.2f} before, "
                 f"{result['load'][1]:.2f} after the timing")
    lines += ["", "Side by side, ms per step (PyTorch: profiler self time per operator):", "",
              "| part | phase | deconvkit | torch |", "|---|---|---:|---:|"]
    order = [part for part, _, _ in PARTS] + ["other"]
    rows = sorted(result["parts"].items(),
                  key=lambda kv: (order.index(kv[0][0]), kv[0][1] != "forward"))
    for (part, phase), cell in rows:
        theirs = f"{cell['torch'] * 1e3:.2f}" if "torch" in cell else "-"
        lines.append(f"| {part} | {phase} | {cell.get('deconvkit', 0.0) * 1e3:.2f} | {theirs} |")
    lines += ["", "Where deconvkit's step goes:", "",
              "| layer | phase | ms/step | share |", "|---|---|---:|---:|"]
    breakdown = result["breakdown"]
    total = sum(breakdown.values())
    for (name, phase), t in sorted(breakdown.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {phase} | {t * 1e3:.2f} | {t / total:.0%} |")
    return "\n".join(lines)
