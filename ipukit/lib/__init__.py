"""Libraries built on the machine, as Poplar's are: built-in codelets, collectives over tiles,
data-parallel replicas and pipelines over several IPUs."""
