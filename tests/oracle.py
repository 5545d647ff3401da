"""A third, tiny definition of what a program computes: element by element, with no tiles at all.

Every tensor is a view of global element ids; the oracle keeps one value per id.
A compute set gathers each vertex's fields by id, calls the codelet's plain
Python function, and scatters what it wrote, all vertices reading the values
from before the compute set (BSP: a superstep's writes are seen by the next
one).  Copy moves values id to id; Sequence and Repeat are loops.  Nothing here
knows about SRAM, exchange or the compiler, so both backends are checked
against something that shares none of their code.
"""
import numpy as np

from ipukit import Copy, Execute, Repeat, Sequence


class Oracle:
    def __init__(self, size: int):
        self.values = np.zeros(size, np.float64)    # exact for float32 and int32 values

    def write(self, tensor, values):
        self.values[tensor.ids.reshape(-1)] = np.asarray(values, tensor.dtype).reshape(-1)

    def read(self, tensor) -> np.ndarray:
        return self.values[tensor.ids].astype(tensor.dtype)

    def run(self, program):
        if isinstance(program, Execute):
            self.compute(program.compute_set)
        elif isinstance(program, Copy):
            self.values[program.dst.ids.reshape(-1)] = self.values[program.src.ids.reshape(-1)]
        elif isinstance(program, Sequence):
            for p in program.programs:
                self.run(p)
        elif isinstance(program, Repeat):
            for _ in range(program.count):
                self.run(program.body)
        else:
            raise NotImplementedError(f"the oracle does not model {type(program).__name__}")

    def compute(self, compute_set):
        writes = []
        for v in compute_set.vertices:
            arrays = {name: self.read(t).copy() for name, t in v.tensors.items()}
            v.codelet.fn(**arrays, **v.scalars)
            writes += [(v.tensors[f.name], arrays[f.name]) for f in v.codelet.fields if f.writes]
        for tensor, array in writes:                  # after every vertex has read: BSP
            self.write(tensor, array)
