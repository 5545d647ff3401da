"""From a graph to a plan the executors run: where every byte sits in tile SRAM (``sram``), what
moves between tiles (``exchange``), each compute set's vertices grouped for execution
(``compute_set``), and programs lowered to a flat list of steps (``lowering``)."""
