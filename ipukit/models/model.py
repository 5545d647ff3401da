"""A model: an ordered list of layers, with totals and a readable description."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import _format as fmt
from .layers import Layer


@dataclass(frozen=True)
class Model:
    """A network as the layers it runs in order; all counts are per sample.

    ``sample`` says what one sample is (a 128-token sequence, a 224x224 image);
    ``config`` holds the sizes it was built from; ``source`` cites where they come from.
    """

    name: str
    layers: tuple
    sample: str
    source: str = ""
    config: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise ValueError(f"model {self.name!r} has no layers")
        seen = set()
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"model {self.name!r}: every layer must be a Layer record, got "
                                f"{type(layer).__name__}")
            if layer.name in seen:
                raise ValueError(f"model {self.name!r}: two layers are named {layer.name!r}; "
                                 f"layer names must be unique")
            seen.add(layer.name)
        for layer in self.layers:
            if layer.tied_to is not None and layer.tied_to not in seen:
                raise ValueError(f"model {self.name!r}: layer {layer.name!r} is tied to "
                                 f"{layer.tied_to!r}, which is not a layer of the model")

    # --- totals ----------------------------------------------------------------------
    def _sum(self, field: str) -> int:
        return sum(getattr(layer, field) for layer in self.layers)

    @property
    def params(self) -> int:
        """Trainable parameters (tied weights counted once, as PyTorch's ``parameters()``)."""
        return self._sum("params")

    @property
    def buffers(self) -> int:
        return self._sum("buffers")

    @property
    def macs(self) -> int:
        return self._sum("macs")

    @property
    def flops(self) -> int:
        """Forward FLOPs per sample."""
        return self._sum("flops")

    @property
    def stored(self) -> int:
        """Activation elements per sample kept for the backward pass."""
        return self._sum("stored")

    @property
    def peak_live(self) -> int:
        """The most activation elements resident at once at inference, per sample."""
        return max(layer.live for layer in self.layers)

    # --- lookup ------------------------------------------------------------------------
    def index(self, name: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.name == name:
                return i
        close = [layer.name for layer in self.layers if name in layer.name][:5]
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise KeyError(f"model {self.name!r} has no layer {name!r}{hint}")

    def layer(self, name: str) -> Layer:
        return self.layers[self.index(name)]

    def by_kind(self) -> dict:
        """Totals per layer kind: {kind: {"layers", "params", "flops", "stored"}}."""
        out = {}
        for layer in self.layers:
            row = out.setdefault(layer.kind, Counter())
            row.update(layers=1, params=layer.params, flops=layer.flops, stored=layer.stored)
        return {kind: dict(row) for kind, row in out.items()}

    # --- reports -------------------------------------------------------------------------
    def describe(self) -> str:
        """Totals, then a table per kind of layer."""
        config = ", ".join(f"{k}={v}" for k, v in self.config)
        lines = [f"{self.name}" + (f" ({config})" if config else ""),
                 f"  per sample = {self.sample}",
                 f"  {len(self.layers)} layers, {self.params:,} parameters"
                 + (f" (+ {self.buffers:,} buffers)" if self.buffers else ""),
                 f"  forward: {fmt.count(self.flops, 'FLOP')} "
                 f"({fmt.count(self.macs)} multiply-adds)",
                 f"  activations kept for backward: {fmt.count(self.stored)} elements; "
                 f"peak live at inference: {fmt.count(self.peak_live)}",
                 "",
                 f"  {'kind':<11}{'layers':>7}{'params':>12}{'FLOP':>12}{'stored':>12}"]
        for kind, row in self.by_kind().items():
            lines.append(f"  {kind:<11}{row['layers']:>7}{fmt.count(row['params']):>12}"
                         f"{fmt.count(row['flops']):>12}{fmt.count(row['stored']):>12}")
        if self.source:
            lines += ["", f"  sizes from: {self.source}"]
        return "\n".join(lines)

    def layer_table(self) -> str:
        """Every layer on one line: name, kind, parameters, FLOPs, stored activations."""
        width = max(len(layer.name) for layer in self.layers) + 2
        lines = [f"{'layer':<{width}}{'kind':<11}{'params':>12}{'FLOP':>12}{'stored':>12}"
                 f"{'output':>12}"]
        for layer in self.layers:
            lines.append(f"{layer.name:<{width}}{layer.kind:<11}{layer.params:>12,}"
                         f"{fmt.count(layer.flops):>12}{fmt.count(layer.stored):>12}"
                         f"{fmt.count(layer.output):>12}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"name": self.name, "sample": self.sample, "source": self.source,
                "config": dict(self.config), "params": self.params, "buffers": self.buffers,
                "macs": self.macs, "flops": self.flops, "stored": self.stored,
                "peak_live": self.peak_live, "layers": [layer.to_dict() for layer in self.layers]}

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, {len(self.layers)} layers, {self.params:,} parameters, "
                f"{fmt.count(self.flops, 'FLOP')} per sample)")
