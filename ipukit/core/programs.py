"""Programs: plain, frozen data that say what the engine runs, in order.

The names are Poplar's (``poplar::program``).  A program does nothing by itself;
``Engine`` compiles the tree once and interprets it on every ``run()``::

    Sequence(Copy(stream, x), Repeat(10, Execute(cs)), Copy(x, y))
"""
from __future__ import annotations

from dataclasses import dataclass

from .graph import ComputeSet, HostStream, RemoteBuffer
from .tensor import Tensor


class Program:
    """Base class of the program nodes."""


@dataclass(frozen=True, eq=False)
class Execute(Program):
    """Run every vertex of a compute set: one BSP superstep."""
    compute_set: ComputeSet


@dataclass(frozen=True, eq=False)
class Copy(Program):
    """Copy tensor to tensor (an exchange), or between a tensor and a host stream or a remote
    buffer in Streaming Memory."""
    src: Tensor | HostStream | RemoteBuffer
    dst: Tensor | HostStream | RemoteBuffer


@dataclass(frozen=True, eq=False, init=False)
class Sequence(Program):
    """Run programs one after the other: ``Sequence(p1, p2, ...)``."""
    programs: tuple

    def __init__(self, *programs):
        if len(programs) == 1 and isinstance(programs[0], (list, tuple)):
            programs = tuple(programs[0])
        object.__setattr__(self, "programs", tuple(programs))

    def __len__(self):
        return len(self.programs)


@dataclass(frozen=True, eq=False)
class Repeat(Program):
    """Run ``body`` ``count`` times."""
    count: int
    body: Program


@dataclass(frozen=True, eq=False)
class RepeatWhileTrue(Program):
    """Run ``cond``; while the one-element ``predicate`` is non-zero, run ``body`` and ``cond`` again."""
    cond: Program
    predicate: Tensor
    body: Program


@dataclass(frozen=True, eq=False)
class If(Program):
    """Run ``then`` if the one-element ``predicate`` is non-zero, else ``else_``."""
    predicate: Tensor
    then: Program
    else_: Program = Sequence()
