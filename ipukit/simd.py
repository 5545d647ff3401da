"""A lock-step (SIMD) machine, as a model to compare MIMD tiles with.

:class:`SIMDMachine` prices work on a GPU-like machine under stated assumptions
(see its docstring): items are dealt to lanes in order; a group of ``lanes``
items runs in lock-step and lasts as long as its longest item (shorter lanes are
masked off: padding); items of different kinds in one group run one kind after
another (divergence); each kernel pays a launch, and reads and writes its data
from a memory with a V100's ratio of bandwidth to compute.  It is a model, not
an emulator: only the IPU side of a comparison is run.

With ``warp=32`` the lock-step groups are warps of 32 lanes, as on NVIDIA GPUs,
and each warp starts on the next free warp slot, so a long item holds up only
its own warp.  :meth:`SIMDMachine.rows` prices work organised in rows (ragged
rows, sparse rows, rows of blocks) with the three ways a GPU library deals it
out: one thread per row (CSR-scalar), one warp per row (CSR-vector), and an
even split of the whole work over all threads (merge-path; Merrill & Garland,
"Merge-based parallel sparse matrix-vector multiplication", SC16).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

ROW_STRATEGIES = ("thread", "warp", "merge")

@dataclass(frozen=True)
class KernelCost:
    """One kernel on a :class:`SIMDMachine`, in the machine's cycles."""
    name: str
    items: int
    compute_cycles: float     # lock-step: every group as long as its longest item (per kind)
    useful_cycles: float      # the same work with no lane ever waiting: sum of work / lanes
    memory_cycles: float      # bytes to and from memory / bandwidth
    launch_cycles: int

    @property
    def cycles(self) -> float:
        """Launch, then compute and memory overlapped: whichever is longer (the roofline)."""
        return self.launch_cycles + max(self.compute_cycles, self.memory_cycles)

    @property
    def utilisation(self) -> float:
        """Share of the lanes' compute time spent on real work (1.0 = no padding)."""
        return self.useful_cycles / self.compute_cycles if self.compute_cycles else 1.0


@dataclass(frozen=True)
class SIMDCost:
    """What a sequence of kernels costs on a :class:`SIMDMachine`; kernel i runs ``runs[i]`` times."""
    kernels: tuple
    runs: tuple = ()

    def __post_init__(self):
        if not self.runs:
            object.__setattr__(self, "runs", (1,) * len(self.kernels))
        if len(self.runs) != len(self.kernels):
            raise ValueError(f"SIMDCost: {len(self.kernels)} kernels but {len(self.runs)} run counts")

    @property
    def cycles(self) -> int:
        return int(np.ceil(sum(r * k.cycles for k, r in zip(self.kernels, self.runs))))

    def total(self, part: str) -> float:
        """Summed ``"compute_cycles"``, ``"useful_cycles"``, ``"memory_cycles"`` or ``"launch_cycles"``."""
        return float(sum(r * getattr(k, part) for k, r in zip(self.kernels, self.runs)))

    @property
    def utilisation(self) -> float:
        compute = self.total("compute_cycles")
        return self.total("useful_cycles") / compute if compute else 1.0

    def describe(self) -> str:
        lines = [f"{'kernel (cycles of one run)':40}{'runs':>6}{'items':>7}{'compute':>10}{'of it padding':>15}"
                 f"{'memory':>9}{'launch':>8}{'cycles':>9}"]
        for k, r in zip(self.kernels, self.runs):
            lines.append(f"{k.name[:39]:40}{r:>6,}{k.items:>7,}{k.compute_cycles:>10,.0f}"
                         f"{k.compute_cycles - k.useful_cycles:>15,.0f}{k.memory_cycles:>9,.0f}"
                         f"{k.launch_cycles:>8,}{k.cycles:>9,.0f}")
        lines.append(f"{'total of all runs':40}{'':13}{self.total('compute_cycles'):>10,.0f}"
                     f"{self.total('compute_cycles') - self.total('useful_cycles'):>15,.0f}"
                     f"{self.total('memory_cycles'):>9,.0f}{self.total('launch_cycles'):>8,.0f}{self.cycles:>9,}")
        return "\n".join(lines)


@dataclass(frozen=True)
class SIMDMachine:
    """A GPU-like lock-step machine, priced by a model (nothing runs on it).

    Assumptions, all stated so they can be argued with:

    - One instruction stream drives ``lanes`` lanes.  A kernel's work items are
      dealt to lanes in order, ``lanes`` at a time: a *group* (a warp, or a wave
      of thread blocks).  A group lasts as long as its longest item; lanes that
      finish early are masked off and wait.  Items of different ``kinds`` (code
      paths) in one group run one kind after another (branch divergence).
    - Work is counted in instructions of one lane, the unit of a vertex's
      ``cycles`` estimate; a lane issues one every ``issue_cycles`` cycles.
    - Each kernel starts with ``launch_cycles``, and moves its data to and from
      a memory of ``memory_bytes_per_cycle`` (None: memory is free), overlapped
      with compute: a kernel lasts launch + max(compute, memory).  Caches are
      perfect: every distinct byte moves once.
    - ``warp=None``: a group is all ``lanes`` lanes, and groups run one after
      another.  ``warp=w`` (a divisor of ``lanes``): a group is a warp of ``w``
      lanes, the machine has ``lanes // w`` warp slots, and each warp, in order,
      starts on the slot that frees first (list scheduling, as a GPU dispatches
      blocks to its SMs); the kernel's compute ends when the last warp does.

    :meth:`like` builds one with the same peak as an IPU, so a comparison
    isolates the execution model from the size of the chip.
    """
    name: str
    lanes: int
    issue_cycles: int = 1
    launch_cycles: int = 0
    memory_bytes_per_cycle: float | None = None
    warp: int | None = None

    def __post_init__(self):
        for label in ("lanes", "issue_cycles"):
            v = getattr(self, label)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"SIMDMachine.{label} must be a positive int, got {v!r}")
        if self.launch_cycles < 0:
            raise ValueError(f"SIMDMachine.launch_cycles must be >= 0, got {self.launch_cycles!r}")
        if self.memory_bytes_per_cycle is not None and self.memory_bytes_per_cycle <= 0:
            raise ValueError("SIMDMachine.memory_bytes_per_cycle must be positive, or None for free memory")
        if self.warp is not None and (not isinstance(self.warp, (int, np.integer)) or self.warp < 1
                                      or self.lanes % self.warp):
            raise ValueError(f"SIMDMachine.warp must be a positive int dividing lanes ({self.lanes}), "
                             f"or None for one group of all lanes; got {self.warp!r}")

    @property
    def group_lanes(self) -> int:
        """Lanes that run in lock-step: a warp, or every lane when ``warp`` is None."""
        return self.warp or self.lanes

    @property
    def slots(self) -> int:
        """Groups that run at the same time: ``lanes // warp`` warp slots, or 1."""
        return self.lanes // self.group_lanes

    @classmethod
    def like(cls, spec, launch_cycles: int | None = None, memory: str | None = "V100",
             warp: int | None = None) -> "SIMDMachine":
        """A lock-step machine with ``spec``'s peak: one lane per worker of every tile.

        A lane issues one instruction every ``workers_per_tile`` cycles, as a worker
        does, so lanes x rate equals the IPU's issue rate.  ``launch_cycles``
        defaults to ``spec.sync_cycles``: ASSUMPTION, starting a kernel costs what
        the IPU pays to start a superstep, so neither side is charged more for it.
        ``memory`` names a device of :data:`ipukit.viz.HARDWARE` whose ratio of
        float32 peak to memory bandwidth the machine keeps (the V100 datasheet:
        15.7 TFLOPS, 900 GB/s, 17.4 FLOP per byte); None makes memory free.
        ``warp=32`` deals the lanes in warps of 32, as NVIDIA GPUs do (CUDA C++
        Programming Guide, "SIMT Architecture"); None keeps one group of all lanes.
        """
        bandwidth = None
        if memory is not None:
            from .core.devices import ridge_point
            peak_per_cycle = spec.flops_per_cycle("float32") * spec.total_tiles
            bandwidth = peak_per_cycle / ridge_point(memory, "float32")
        w = spec.workers_per_tile
        warps = "" if warp is None else f", warps of {warp}"
        return cls(f"lock-step machine like {spec.total_tiles} {spec.name} tiles{warps}", spec.total_tiles * w, w,
                   spec.sync_cycles if launch_cycles is None else int(launch_cycles), bandwidth, warp)

    def kernel(self, work, kinds=None, nbytes: int = 0, name: str = "kernel") -> KernelCost:
        """Price one kernel: ``work[i]`` instructions for item i (of kind ``kinds[i]``)."""
        work = np.asarray(work, float).reshape(-1)
        if (work < 0).any() or not np.isfinite(work).all():
            raise ValueError(f"{name}: work must be finite and >= 0 for every item")
        kinds = np.zeros(work.size, np.int64) if kinds is None else np.unique(np.asarray(kinds),
                                                                               return_inverse=True)[1].reshape(-1)
        if kinds.size != work.size:
            raise ValueError(f"{name}: {work.size} work items but {kinds.size} kinds; give one kind per item")
        compute = self.issue_cycles * self._makespan(self.group_cycles(work, kinds))
        useful = self.issue_cycles * work.sum() / self.lanes
        memory = nbytes / self.memory_bytes_per_cycle if self.memory_bytes_per_cycle else 0.0
        return KernelCost(name, int(work.size), float(compute), float(useful), float(memory), self.launch_cycles)

    def group_cycles(self, work, kinds=None) -> np.ndarray:
        """Each lock-step group's length in instructions: per kind present, its longest item, summed.

        ``kinds`` here are small ints (0, 1, ...), one per item, or None.
        """
        work = np.asarray(work, float).reshape(-1)
        if not work.size:
            return np.zeros(0)
        kinds = np.zeros(work.size, np.int64) if kinds is None else np.asarray(kinds).reshape(-1)
        n_kinds = int(kinds.max(initial=0)) + 1
        group = np.arange(work.size) // self.group_lanes
        longest = np.zeros((int(group[-1]) + 1) * n_kinds)
        np.maximum.at(longest, group * n_kinds + kinds, work)
        return longest.reshape(-1, n_kinds).sum(axis=1)

    def _makespan(self, groups) -> float:
        """When the last group ends: groups in order, each on the slot that frees first."""
        groups = np.asarray(groups, float)
        slots = self.slots
        if slots == 1:
            return float(groups.sum())
        if groups.size <= slots:
            return float(groups.max(initial=0.0))
        if np.all(groups == groups[0]):
            return float(groups[0] * -(-groups.size // slots))
        free = [0.0] * slots
        for length in groups.tolist():
            heapq.heapreplace(free, free[0] + length)
        return float(max(free))

    def rows(self, counts, item_cycles: float, row_cycles: float = 0.0, strategy: str = "thread",
             reduce_cycles: float = 0.0, nbytes: int = 0, name: str | None = None, threads: int | None = None,
             search_cycles: float = 1.0, carry_bytes: int = 4) -> SIMDCost:
        """Price work organised in rows: row i holds ``counts[i]`` items of ``item_cycles`` each.

        Every row also costs ``row_cycles`` once (start it, write its result).
        The three ways a GPU library deals such work to lanes (``strategy``):

        - ``"thread"``, one thread per row (CSR-scalar): lane item i costs
          ``row_cycles + counts[i] * item_cycles``; a long row holds up its warp.
        - ``"warp"``, one warp per row (CSR-vector): the ``w = group_lanes``
          lanes of a warp take the row's items in turn (lane j gets items j,
          j + w, ...), then add their partial results in ``log2(w)`` steps of
          ``reduce_cycles`` (none when ``reduce_cycles`` is 0, e.g. an elementwise
          op).  Short rows leave most of the warp idle.
        - ``"merge"``, an even split of the whole work (merge-path): the
          ``sum(counts) + rows`` steps of the path (each item, and each row's
          end) are cut into ``threads`` (default: ``lanes``) runs of equal length
          (differing by one at most).  A thread first finds its start by a binary
          search (``search_cycles`` per step, ``ceil(log2(steps + 1))`` steps),
          then costs ``item_cycles`` per item and ``row_cycles`` per row end in its
          run.  When ``reduce_cycles`` > 0, a second kernel adds each thread's
          carry (the partial result of a row it did not finish) to its row:
          one item of ``reduce_cycles`` per thread, ``2 * carry_bytes`` each.

        ``nbytes``: the data the work reads and writes, the same for every
        strategy.  Returns a :class:`SIMDCost` (one kernel, two for a merge with
        carries).
        """
        counts = np.asarray(counts).reshape(-1)
        if counts.size and (counts.min() < 0 or not np.issubdtype(counts.dtype, np.integer)):
            raise ValueError("rows: counts must be whole numbers >= 0, one per row")
        if strategy not in ROW_STRATEGIES:
            raise ValueError(f"rows: strategy must be one of {', '.join(ROW_STRATEGIES)}, got {strategy!r}")
        for label, v in (("item_cycles", item_cycles), ("row_cycles", row_cycles),
                         ("reduce_cycles", reduce_cycles), ("search_cycles", search_cycles)):
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"rows: {label} must be finite and >= 0, got {v!r}")
        name = name or (f"{counts.size} rows, merge-path" if strategy == "merge"
                        else f"{counts.size} rows, a {strategy} per row")
        if strategy == "thread":
            return SIMDCost((self.kernel(row_cycles + counts * item_cycles, None, nbytes, name),))
        if strategy == "warp":
            w = self.group_lanes
            lane = np.arange(w)
            share = counts[:, None] // w + (lane[None, :] < (counts[:, None] % w))     # (rows, w) items per lane
            steps = int(np.ceil(np.log2(w))) if reduce_cycles else 0
            work = row_cycles + share * item_cycles + steps * reduce_cycles
            return SIMDCost((self.kernel(work.reshape(-1), None, nbytes, name),))
        threads = self.lanes if threads is None else int(threads)
        if threads < 1:
            raise ValueError(f"rows: threads must be a positive int, got {threads!r}")
        items, ends = merge_path_split(counts, threads)
        path = int(counts.sum()) + counts.size
        search = search_cycles * int(np.ceil(np.log2(path + 1)))
        work = search + items * item_cycles + ends * row_cycles
        kernels = [self.kernel(work, None, nbytes, name)]
        if reduce_cycles:
            kernels.append(self.kernel(np.full(threads, float(reduce_cycles)), None, 2 * threads * carry_bytes,
                                       f"{name}: carries"))
        return SIMDCost(tuple(kernels))

    def run(self, kernels) -> SIMDCost:
        """``kernels``: KernelCost objects, or ``(work, kinds, nbytes, name)`` tuples to price."""
        priced = [k if isinstance(k, KernelCost) else self.kernel(*k) for k in kernels]
        return SIMDCost(tuple(priced))

    def price(self, engine) -> SIMDCost:
        """The same vertices the engine's last run executed, as lock-step kernels.

        Each executed compute set is one kernel per execution: its vertices are the
        items, in the order they were added, each costing its ``cycles`` estimate,
        of the kind of its codelet; its memory traffic is every distinct element
        its vertices read or write.  A ``Copy`` is a kernel that only moves bytes
        (read and written once).  Host transfers are left out.
        """
        profile = engine.profile
        if profile is None:
            raise ValueError("SIMDMachine.price: run the engine first (engine.run()); the run decides which "
                             "steps execute and how often")
        kernels, runs = [], []
        for record in profile.steps:
            step = engine.steps[record.index]
            if not record.count or step.kind not in ("execute", "copy"):
                continue
            if step.kind == "execute":
                plan = step.compute
                verts = plan.compute_set.vertices
                ids = [v.tensors[f.name].ids.reshape(-1) for v in verts for f in v.codelet.fields]
                unique = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
                nbytes = int(engine.graph.itemsize_of(unique).sum()) if unique.size else 0
                one = self.kernel(plan.vertex_cycles, [v.codelet.name for v in verts], nbytes, record.name)
            else:
                one = self.kernel([], None, 2 * int(step.plan.nbytes.sum()), record.name)
            kernels.append(one)
            runs.append(record.count)
        return SIMDCost(tuple(kernels), tuple(runs))

    def grouped_conv(self, spec, batch: int, channels: int, size: int, out_channels: int, kernel: int = 3,
                     groups: int = 1, per_group: bool = True) -> SIMDCost:
        """A 'same'-padded, stride-1 convolution, one lane per output element.

        Each output element is a dot product of ``channels // groups * kernel**2``
        pairs: 2 FLOP each, at ``spec``'s float32 FLOP per instruction (the AMP rate
        the emulator charges).  ``per_group=True`` launches one kernel per group,
        as a library does that loops over groups; False runs every group in one
        kernel.  Memory: each group's inputs, weights and outputs, once, in float32.
        """
        for label, v in (("batch", batch), ("channels", channels), ("size", size),
                         ("out_channels", out_channels), ("kernel", kernel), ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"grouped_conv: {label} must be a positive int, got {v!r}")
        if channels % groups or out_channels % groups:
            raise ValueError(f"grouped_conv: groups={groups} must divide channels ({channels}) and out_channels "
                             f"({out_channels})")
        cg, og = channels // groups, out_channels // groups
        items = batch * size * size * og
        per_item = 2 * cg * kernel * kernel / spec.flops_per_cycle("float32")
        nbytes = 4 * (batch * cg * size * size + og * cg * kernel * kernel + items)
        if per_group:
            one = self.kernel(np.full(items, per_item), None, nbytes, f"one group of {og} filters")
            return SIMDCost((one,), (groups,))
        return SIMDCost((self.kernel(np.full(items * groups, per_item), None, nbytes * groups,
                                     f"all {groups} groups"),))


def merge_path_split(counts, threads: int):
    """Cut the merge path of rows with ``counts`` items into ``threads`` equal runs.

    The path visits row 0's items, then row 0's end, then row 1's items, and so
    on: ``sum(counts) + len(counts)`` steps.  Thread t takes steps
    ``[t * L // threads, (t + 1) * L // threads)``.  Returns two int arrays of
    length ``threads``: the items and the row ends in each thread's run.
    """
    counts = np.asarray(counts, np.int64).reshape(-1)
    path = int(counts.sum()) + counts.size
    bounds = np.arange(threads + 1, dtype=np.int64) * path // threads
    row_end = np.cumsum(counts + 1) - 1                 # path index of each row's end
    ends_before = np.searchsorted(row_end, bounds, side="left")      # row ends at path index < bound
    ends = np.diff(ends_before)
    return np.diff(bounds) - ends, ends
