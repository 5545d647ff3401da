"""Errors the emulator raises.

The IPU toolchain refuses programs that cannot run (a tile out of memory, an
unmapped tensor); ipukit refuses the same programs, and a few more that would
silently give a wrong answer. Every message names the tile, tensor, vertex or
field involved, gives the numbers, and says how to fix it.
"""


class IPUError(Exception):
    """Base class of every error ipukit raises on purpose."""


class TileMemoryError(IPUError):
    """A tile needs more SRAM than it has (the IPU has no DRAM to spill to)."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report  # the MemoryReport, so the failing layout can be drawn


class MappingError(IPUError):
    """A tensor is not (fully) mapped to tiles, or a tile index is out of range."""


class VertexFieldError(IPUError):
    """A vertex field does not match its codelet (name, shape or dtype)."""


class WriteConflictError(IPUError):
    """Two writers (or a writer and a reader) touch one element in one step."""


class CopyOverlapError(IPUError):
    """A Copy whose source and destination share elements."""


class HostTransferError(IPUError):
    """Misuse of engine.write / engine.read / host streams."""


class HostValueError(HostTransferError, ValueError):
    """A host value would change on its way to the IPU (0.5 into an int tensor, 150000 into int16)."""


class StepBudgetError(IPUError):
    """A program ran more supersteps than the engine's max_steps allows."""


class CodeletError(IPUError):
    """A codelet raised while running on a tile; wraps the original exception."""


class LoopBudgetError(CodeletError):
    """A learner's codelet ran more loop iterations in one call than the budget: an endless loop."""


class ProgramError(IPUError):
    """A program is malformed (wrong node types, a compute set of another graph...)."""
