"""The PyTorch twin of a :class:`deconvkit.nn.models.FCN`, for the training benchmark.

:func:`mirror` builds ``torch.nn`` layers with the same geometry and parameter names
as the deconvkit network (``encoder.stage1.0.0.weight``, ``up0.weight``, ...), loads
the given deconvkit state into them and freezes what is frozen there. Only the layer
types of the FCN family with transposed-convolution upsampling are supported; other
layers raise ``ValueError``. Import this module only when torch is installed.
"""

from __future__ import annotations

import torch

from .. import nn

__all__ = ["mirror", "TorchFCN"]


def _pair_padding(spec_padding, what):
    """Symmetric ``(lo, hi)`` pairs as PyTorch's per-axis ints; ``ValueError`` otherwise."""
    if any(lo != hi for lo, hi in spec_padding):
        raise ValueError(f"{what}: PyTorch needs symmetric padding, got {spec_padding}")
    return tuple(lo for lo, _ in spec_padding)


def _conv(m):
    args = dict(stride=m.stride, padding=m.padding, dilation=m.dilation, groups=m.groups,
                bias=m.bias is not None)
    if isinstance(m, nn.ConvTranspose):
        return torch.nn.ConvTranspose2d(m.in_channels, m.out_channels, m.kernel_size,
                                        output_padding=m.output_padding, **args)
    return torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, **args)


def layer(m):
    """The ``torch.nn`` layer equivalent to the deconvkit layer ``m`` (2-D)."""
    if isinstance(m, nn.Sequential):
        return torch.nn.Sequential(*(layer(child) for child in m))
    if isinstance(m, (nn.Conv, nn.ConvTranspose)):
        if len(m.kernel_size) != 2:
            raise ValueError(f"only 2-D layers are mirrored, got kernel {m.kernel_size}")
        return _conv(m)
    if isinstance(m, nn.BatchNorm):
        return torch.nn.BatchNorm2d(m.num_features, eps=m.eps, momentum=m.momentum,
                                    affine=m.weight is not None)
    if isinstance(m, nn.ReLU):
        return torch.nn.ReLU()
    if isinstance(m, nn.MaxPool):
        s = m.spec
        return torch.nn.MaxPool2d(s.kernel_size, s.stride, _pair_padding(s.padding, "MaxPool"),
                                  s.dilation, ceil_mode=m.ceil_mode)
    raise ValueError(f"no PyTorch mirror for {type(m).__name__}")


class TorchFCN(torch.nn.Module):
    """:class:`deconvkit.nn.models.FCN`'s forward pass, on ``torch.nn`` layers of the same names."""

    def __init__(self, net):
        super().__init__()
        self.encoder = torch.nn.Module()
        for name in ("stage1", "stage2", "stage3", "stage4"):
            self.encoder.add_module(name, layer(getattr(net.encoder, name)))
        self.score8 = layer(net.score8)
        self.ups = len(net._ups)
        for i, up in enumerate(net._ups):
            self.add_module(f"up{i}", layer(up))
        self.skips = []
        for stride, score, crop, _ in net._skips:
            if not isinstance(crop.offset, int):
                raise ValueError(f"only integer Crop offsets are mirrored, got {crop.offset!r}")
            self.add_module(f"score{stride}", layer(score))
            self.skips.append((stride, crop.offset))

    def forward(self, x):
        e = self.encoder
        f2 = e.stage1(x)
        f4 = e.stage2(f2)
        features = {2: f2, 4: f4}
        s = self.score8(e.stage4(e.stage3(f4)))
        for i, (stride, offset) in enumerate(self.skips):
            skip = getattr(self, f"score{stride}")(features[stride])
            up = getattr(self, f"up{i}")(s)
            h, w = skip.shape[2:]
            s = up[:, :, offset:offset + h, offset:offset + w] + skip
        return getattr(self, f"up{self.ups - 1}")(s)


def mirror(net, state=None):
    """A :class:`TorchFCN` of ``net`` holding ``state`` (default ``net.state_dict()``).

    Every deconvkit parameter and buffer must find its PyTorch namesake of the same
    shape (``ValueError`` otherwise); frozen deconvkit parameters are frozen in PyTorch.
    """
    state = net.state_dict() if state is None else state
    model = TorchFCN(net)
    targets = model.state_dict()
    with torch.no_grad():
        for name, value in state.items():
            if name not in targets or tuple(targets[name].shape) != value.shape:
                raise ValueError(f"{name} {value.shape} has no PyTorch namesake of that shape")
            targets[name].copy_(torch.from_numpy(value))
    for name, p in model.named_parameters():
        p.requires_grad_(net.parameter(name).requires_grad)
    return model


def op_times(step, steps=5):
    """Seconds per step of each PyTorch operator (profiler self time on the calling
    thread) over ``steps`` calls of ``step``."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    return {e.key: e.self_cpu_time_total * 1e-6 / steps for e in prof.key_averages()}
