"""What the engine asks of a backend: three operations on one flat SRAM.

The engine compiles a graph once into steps; each step is a gather (exchange
runs copied into the compute set's buffers), groups of vertices to run, and a
scatter.  A backend only has to do those three things on the engine's bytes:

- :class:`~ipukit.run.reference.ReferenceExecutor`: plain Python and NumPy, one
  vertex at a time: the definition of what a program does;
- :class:`~ipukit.run.numba_executor.NumbaExecutor`: the same, compiled, and
  tested equal to it (SRAM bytes, profiles, traces).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    def prepare(self, groups) -> None:
        """Get ready to run these vertex groups (compile drivers, check learner code)."""

    def copy_runs(self, src, dst, nbytes) -> None:
        """Copy ``nbytes[i]`` bytes from SRAM offset ``src[i]`` to ``dst[i]``, for every run i, in order."""

    def run_group(self, group) -> None:
        """Run every vertex of one group (one codelet, one set of field types) on the SRAM."""
