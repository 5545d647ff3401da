"""Many IPUs: data-parallel replicas and pipelined layers, built as graph programs.

Use a target with several chips, ``spec.replace(num_ipus=R)``; tile ids are global,
IPU i owning tiles ``[i * spec.tiles, (i + 1) * spec.tiles)``.  Data that crosses
from one IPU to another goes over the IPU-Links, which the cost model charges at
the link bandwidth, and a step that involves several IPUs pays the global sync.

``replicate``: the same training step of a linear layer on R IPUs, each with its
own copy of the weights and its own shard of the batch; the weight gradients are
all-reduced over the links, then every replica applies the same SGD update.

``pipeline``: consecutive dense layers on consecutive IPUs.  M micro-batches
stream through S stages: in step t, stage s works on micro-batch t - s, and hands
its activations to the next IPU over the links in the same superstep.  The first
and last S-1 steps leave stages idle: the bubble, (S-1)/(M+S-1) of all
stage-steps (``bubble_fraction`` measures it from a profile).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import cost
from .codelets import builtin, matmul_partial, reduce_rows, sub
from .collectives import ALL_REDUCE_METHODS, add_elementwise, all_reduce
from ..core.errors import HostTransferError, MappingError
from ..core.programs import Execute, Sequence


@builtin(inputs={"grad": "T[n]"}, inouts={"weights": "T[n]"},
          cycles=lambda weights, spec, dtype: cost.elementwise_cycles(weights, spec, dtype))
def sgd_update(grad, weights, rate):
    """weights -= rate * grad: one step of stochastic gradient descent."""
    for i in range(weights.size):
        weights[i] -= rate * grad[i]


def _dense_cycles(m, k, n, relu, spec):
    relu_cycles = cost.UNARY_CYCLES_PER_VECTOR * -(-m * n // cost.vector_elements(spec, np.float32))
    return cost.amp_cycles(m, k, n, spec, np.float32) + (relu_cycles if relu else 0)


@builtin(inputs={"a": "float32[m,k]", "w": "float32[k,n]"}, outputs={"out": "float32[m,n]"},
          cycles=_dense_cycles)
def dense(a, w, out, relu):
    """out = a @ w, then max(out, 0) if ``relu``: one block of a dense layer."""
    if a.shape[0] > 1 and w.shape[1] > 1:      # sgemm, called alike by NumPy and numba
        out[:] = np.dot(a, w)
    else:                                      # a vector: a fixed-order sum on both paths
        for i in range(a.shape[0]):
            for j in range(w.shape[1]):
                out[i, j] = 0
                for p in range(a.shape[1]):
                    out[i, j] += a[i, p] * w[p, j]
    if relu:
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                if out[i, j] < 0:
                    out[i, j] = 0


def blocks(n: int, count: int) -> list:
    """``[start, end)`` of ``count`` nearly equal, non-empty blocks of ``range(n)``."""
    count = max(1, min(count, n))
    bounds = (np.arange(count + 1) * n) // count
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _positive(what, **values):
    for k, v in values.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{what}: {k} must be a positive int, got {v!r}")


def _check_array(what, name, array, shape):
    arr = np.asarray(array)
    if arr.shape != tuple(shape):
        raise HostTransferError(f"{what}: {name} must have shape {tuple(shape)}, got {arr.shape}")
    return arr.astype(np.float32)


# --- data-parallel replicas ------------------------------------------------------------
@dataclass(eq=False)
class Replicas:
    """A data-parallel SGD step of a linear layer ``y = x @ W`` on several IPUs.

    The loss is the mean squared error over the whole batch,
    ``L = sum((x @ W - target)**2) / (2 * batch)``, so the step is
    ``W -= learning_rate * x.T @ (x @ W - target) / batch``.  Replica r holds rows
    ``[r * shard, (r + 1) * shard)`` of the batch; the sum over replicas of their
    ``x_r.T @ (y_r - target_r)`` is the full-batch gradient times ``batch``.
    """
    graph: object
    replicas: int
    batch: int
    d_in: int
    d_out: int
    learning_rate: float
    method: str
    x: list = field(repr=False)          # per replica, (shard, d_in)
    target: list = field(repr=False)     # per replica, (shard, d_out)
    weights: list = field(repr=False)    # per replica, (d_in, d_out)
    output: list = field(repr=False)     # per replica, y = x @ W, (shard, d_out)
    grads: list = field(repr=False)      # per replica, x.T @ (y - target) before the all-reduce
    summed: object = field(repr=False)   # (replicas, d_in, d_out): the gradient sums, one per replica
    programs: dict = field(repr=False)   # "forward", "gradient", "all_reduce", "update"

    @property
    def shard(self) -> int:
        return self.batch // self.replicas

    @property
    def program(self) -> Sequence:
        """The whole step: forward, gradient, all-reduce, update."""
        return Sequence(*self.programs.values())

    def write(self, engine, x, target, weights) -> None:
        """Give each replica its shard of ``x`` and ``target``, and all of them ``weights``."""
        what = "Replicas.write"
        x = _check_array(what, "x", x, (self.batch, self.d_in))
        target = _check_array(what, "target", target, (self.batch, self.d_out))
        weights = _check_array(what, "weights", weights, (self.d_in, self.d_out))
        for r in range(self.replicas):
            rows = slice(r * self.shard, (r + 1) * self.shard)
            engine.write(self.x[r], x[rows])
            engine.write(self.target[r], target[rows])
            engine.write(self.weights[r], weights)

    def read_weights(self, engine) -> np.ndarray:
        """Every replica's weights, shape ``(replicas, d_in, d_out)``: all equal after a step."""
        return np.stack([engine.read(w) for w in self.weights])

    def read_output(self, engine) -> np.ndarray:
        """``x @ W`` for the whole batch, shape ``(batch, d_out)``, from the forward pass."""
        return np.concatenate([engine.read(y) for y in self.output])


def replicate(g, d_in: int, d_out: int, batch: int, learning_rate: float = 0.1, replicas: int | None = None,
              method: str = "ring", name: str = "replica") -> Replicas:
    """Build a data-parallel SGD step of a linear layer on ``replicas`` IPUs (default: all).

    On each IPU the layer is split by input rows over its tiles (tile k holds
    ``W[rows_k]`` and ``x[:, rows_k]``).  Supersteps, each run by all replicas at once:

    1. forward: every tile computes its partial product ``x[:, rows_k] @ W[rows_k]``;
    2. the partial products are summed (``reduce_rows``) into ``y``;
    3. the error ``y - target``;
    4. the weight gradient ``x[:, rows_k].T @ (y - target)``, on the tile that holds ``W[rows_k]``;
    5. ``all_reduce`` of the gradients across IPUs (``method``, default the ring:
       2(R-1) supersteps and 2(R-1)/R of the gradient over each IPU's links);
    6. ``W -= learning_rate / batch * summed gradient`` on every replica.

    Only step 5 uses the IPU-Links: everything else stays on its replica's chip.
    """
    spec = g.spec
    replicas = spec.num_ipus if replicas is None else replicas
    _positive("replicate", d_in=d_in, d_out=d_out, batch=batch, replicas=replicas)
    if replicas > spec.num_ipus:
        raise MappingError(f"replicate: {replicas} replicas need {replicas} IPUs (one each), but the target "
                           f"has {spec.num_ipus}; build the graph on spec.replace(num_ipus={replicas})")
    if batch % replicas:
        bigger = -(-batch // replicas) * replicas
        raise ValueError(f"replicate: a batch of {batch} does not split evenly into {replicas} replicas; use "
                         f"a multiple of {replicas}, e.g. {bigger}")
    if method not in ALL_REDUCE_METHODS:
        raise ValueError(f"replicate: unknown all-reduce method {method!r}; choose one of "
                         f"{', '.join(ALL_REDUCE_METHODS)}")
    shard, tiles, workers = batch // replicas, spec.tiles, spec.workers_per_tile
    row_blocks = blocks(d_in, tiles)
    cs = {k: g.add_compute_set(f"{name}s: {text}") for k, text in (
        ("forward", "partial products x[:, k] @ W[k]"), ("sum", "sum the partial products"),
        ("error", "error y - target"), ("gradient", "weight gradient x[:, k].T @ error"),
        ("update", "SGD update"))}
    xs, targets, weights, outputs, grads = [], [], [], [], []
    for r in range(replicas):
        base, own = r * tiles, range(r * tiles, (r + 1) * tiles)
        x = g.add_variable((shard, d_in), name=f"{name}{r}.x")
        w = g.add_variable((d_in, d_out), name=f"{name}{r}.W")
        grad = g.add_variable((d_in, d_out), name=f"{name}{r}.grad")
        partial = g.add_variable((len(row_blocks), shard, d_out), name=f"{name}{r}.partials")
        y, target, error = (g.add_variable((shard, d_out), name=f"{name}{r}.{n}") for n in ("y", "target", "error"))
        for k, (lo, hi) in enumerate(row_blocks):
            for t in (x[:, lo:hi], w[lo:hi], grad[lo:hi], partial[k]):
                g.set_tile_mapping(t, base + k)
        for t in (y, target, error):
            g.map_linearly(t, tiles=own)
        for k, (lo, hi) in enumerate(row_blocks):
            for a, b in blocks(shard, workers):                   # batch rows over the workers
                g.add_vertex(cs["forward"], matmul_partial, tile=base + k, a=x[a:b, lo:hi], b=w[lo:hi],
                             out=partial[k, a:b])
            for a, b in blocks(d_out, workers):                   # output columns over the workers
                g.add_vertex(cs["gradient"], matmul_partial, tile=base + k, a=x[:, lo:hi].T, b=error[:, a:b],
                             out=grad[lo:hi, a:b])
        add_elementwise(g, cs["sum"], reduce_rows, y, a=[partial[k] for k in range(len(row_blocks))], out=y)
        add_elementwise(g, cs["error"], sub, error, a=y, b=target, out=error)
        xs.append(x)
        targets.append(target)
        weights.append(w)
        outputs.append(y)
        grads.append(grad)
    summed, reduce_prog = all_reduce(g, grads, method, name=f"{name} gradient all-reduce")
    for r in range(replicas):
        add_elementwise(g, cs["update"], sgd_update, weights[r], grad=summed[r], weights=weights[r],
                        rate=float(learning_rate) / batch)
    programs = {"forward": Sequence(Execute(cs["forward"]), Execute(cs["sum"])),
                "gradient": Sequence(Execute(cs["error"]), Execute(cs["gradient"])),
                "all_reduce": reduce_prog, "update": Sequence(Execute(cs["update"]))}
    return Replicas(g, replicas, batch, d_in, d_out, float(learning_rate), method, xs, targets, weights,
                    outputs, grads, summed, programs)


# --- pipelining --------------------------------------------------------------------
@dataclass(eq=False)
class Pipeline:
    """Dense layers ``widths[s] -> widths[s+1]`` as stages on IPUs 0, 1, ..., S-1.

    ``activations[s]`` (shape ``(M, m, widths[s])``) is the input of stage s and
    lives on IPU s; ``activations[0]`` is ``inputs`` and ``activations[S]`` is
    ``outputs`` (on the last IPU).  ``schedule[t][s]`` is the micro-batch stage s
    works on in step t, or None when it idles.
    """
    graph: object
    widths: tuple
    micro_batches: int
    micro_batch_size: int
    relu: bool
    weights: list = field(repr=False)       # weights[s]: (widths[s], widths[s+1]) on IPU s
    activations: list = field(repr=False)
    schedule: list = field(repr=False)
    program: Sequence = field(repr=False)

    @property
    def stages(self) -> int:
        return len(self.widths) - 1

    @property
    def inputs(self):
        return self.activations[0]

    @property
    def outputs(self):
        return self.activations[-1]

    def write(self, engine, x, weights) -> None:
        """Write the inputs (``(M * m, widths[0])`` or ``(M, m, widths[0])``) and every layer's weights."""
        what = "Pipeline.write"
        m, mb = self.micro_batch_size, self.micro_batches
        x = np.asarray(x)
        if x.shape == (mb * m, self.widths[0]):
            x = x.reshape(mb, m, self.widths[0])
        engine.write(self.inputs, _check_array(what, "x", x, (mb, m, self.widths[0])))
        if len(weights) != self.stages:
            raise HostTransferError(f"{what}: {self.stages} stages need {self.stages} weight matrices, "
                                    f"got {len(weights)}")
        for s, w in enumerate(weights):
            engine.write(self.weights[s], _check_array(what, f"weights[{s}]", w, self.weights[s].shape))

    def read_outputs(self, engine) -> np.ndarray:
        """The last layer's outputs for every sample, shape ``(M * m, widths[-1])``."""
        return engine.read(self.outputs).reshape(-1, self.widths[-1])


def pipeline(g, widths, micro_batches: int, micro_batch_size: int, relu: bool = True,
             name: str = "pipeline") -> Pipeline:
    """Build a pipelined forward pass of dense layers, one stage (layer) per IPU.

    Stage s computes ``relu(h @ weights[s])`` (no relu on the last stage) on IPU s,
    its output columns split over the IPU's tiles; tile j of IPU s writes its
    columns straight onto tile j of IPU s+1, so the hand-off rides the IPU-Links
    in the exchange after the compute phase of the same superstep.  There are
    M + S - 1 supersteps; in step t stage s works on micro-batch t - s when that
    exists, and idles otherwise.
    """
    spec = g.spec
    widths = tuple(widths)
    if len(widths) < 2:
        raise ValueError(f"pipeline: widths {widths} describe no layer; give at least an input and an output "
                         "width, e.g. (16, 8)")
    _positive("pipeline", micro_batches=micro_batches, micro_batch_size=micro_batch_size)
    for w in widths:
        _positive("pipeline", width=w)
    stages, tiles, m, mbs = len(widths) - 1, spec.tiles, micro_batch_size, micro_batches
    if stages > spec.num_ipus:
        raise MappingError(f"pipeline: {stages} layers need {stages} IPUs (one stage each), but the target has "
                           f"{spec.num_ipus}; build the graph on spec.replace(num_ipus={stages})")
    col_blocks = [blocks(w, tiles) for w in widths]
    acts = []
    for s, w in enumerate(widths):
        home = min(s, stages - 1) * tiles            # the IPU that reads it (the last one keeps the outputs)
        label = "inputs" if s == 0 else "outputs" if s == stages else f"act{s}"
        act = g.add_variable((mbs, m, w), name=f"{name}.{label}")
        for j, (lo, hi) in enumerate(col_blocks[s]):
            g.set_tile_mapping(act[:, :, lo:hi], home + j)
        acts.append(act)
    weights = []
    for s in range(stages):
        w = g.add_variable((widths[s], widths[s + 1]), name=f"{name}.W{s}")
        for j, (lo, hi) in enumerate(col_blocks[s + 1]):
            g.set_tile_mapping(w[:, lo:hi], s * tiles + j)
        weights.append(w)
    schedule, steps = [], []
    for t in range(mbs + stages - 1):
        row = [t - s if 0 <= t - s < mbs else None for s in range(stages)]
        cs = g.add_compute_set(f"{name} step {t}: micro-batches {_describe(row)}")
        for s, mb in enumerate(row):
            if mb is None:
                continue
            for j, (lo, hi) in enumerate(col_blocks[s + 1]):
                for a, b in blocks(m, spec.workers_per_tile):          # sample rows over the workers
                    g.add_vertex(cs, dense, tile=s * tiles + j, a=acts[s][mb, a:b], w=weights[s][:, lo:hi],
                                 out=acts[s + 1][mb, a:b, lo:hi], relu=bool(relu and s < stages - 1))
        schedule.append(row)
        steps.append(Execute(cs))
    return Pipeline(g, widths, mbs, m, bool(relu), weights, acts, schedule, Sequence(*steps))


def _describe(row) -> str:
    return " ".join("-" if mb is None else str(mb) for mb in row)


# --- reading a profile per IPU ----------------------------------------------------------
def ipu_compute_cycles(profile) -> np.ndarray:
    """Compute cycles of each IPU (its busiest tile) in every executed ``Execute``, in order.

    Shape ``(executed compute steps, num_ipus)``; a zero means the IPU idled in that step.
    """
    if not profile.trace_complete:
        raise ValueError("ipu_compute_cycles: the run executed too many steps to keep them all in order "
                         "(profile.trace is cut short); profile a shorter run")
    spec = profile.spec
    rows = []
    for i in profile.trace:
        record = profile.steps[i]
        if record.kind == "execute":
            per_tile = record.tile_cycles("compute", profile.num_tiles)
            rows.append(per_tile.reshape(spec.num_ipus, spec.tiles).max(axis=1))
    return np.array(rows, np.int64).reshape(-1, spec.num_ipus)


def link_bytes_per_step(profile) -> np.ndarray:
    """Bytes sent over IPU-Links in every executed step, in order."""
    return np.array([sum(p.link_bytes for p in profile.steps[i].phases) for i in profile.trace], np.int64)


def bubble_fraction(profile, stages: int | None = None) -> float:
    """Idle stage-steps / all stage-steps over the executed compute steps.

    A stage is idle in a step when its IPU does no compute.  ``stages`` counts
    IPUs 0..stages-1 (default: every IPU of the target).  For a pipeline of S
    stages and M micro-batches this is (S-1)/(M+S-1).
    """
    busy = ipu_compute_cycles(profile)
    if stages is not None:
        busy = busy[:, :stages]
    if busy.size == 0:
        raise ValueError("bubble_fraction: the profile has no compute steps; run a program first")
    return float(np.count_nonzero(busy == 0) / busy.size)
