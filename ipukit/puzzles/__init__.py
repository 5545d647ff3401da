"""IPU Puzzles (notebook 11): the cases, the costs and the budgets of each puzzle.

A puzzle is one small function written in ``exercises/ex11_puzzles.py``: it gets a
graph whose tensors are already mapped onto a few tiles and returns the program that
fills the output.  This module builds those cases (the notebook shows the fixed ones,
the grader also draws seeded random ones), runs a function on a case with the
reference backend, measures what it cost, and says what each puzzle may cost.  It
holds no answers: the budgets are formulas for what a good solution costs.

    case = puzzles.make_case(1)                  # puzzle 1 on 4 tiles, fixed data
    result = puzzles.run(case, ex.map_add_ten)   # the engine, the outputs, the costs
    puzzles.budget(case)                         # [Limit("supersteps", 1), ...]

The pictures (the target next to yours) are drawn by :mod:`ipukit.viz.puzzles`.
"""
from .budgets import BUDGETS, block_row_cycles, budget
from .cases import (BLOCK_MASK, CASES, COSTS, CYCLE_SLACK, ROW_LENGTHS, SPEC, SRAM_ROOM, Case, Limit,
                    NotAProgram, Result, make_case)
from .running import measure, over_budget, run
from .show import (MODULE, PUZZLES, TARGETS, Puzzle, compare, cost_table, load_targets, picture, record_targets, show,
                   trace_of)

__all__ = ["BLOCK_MASK", "BUDGETS", "CASES", "COSTS", "CYCLE_SLACK", "MODULE", "PUZZLES", "ROW_LENGTHS", "SPEC",
           "SRAM_ROOM", "TARGETS", "Case", "Limit", "NotAProgram", "Puzzle", "Result", "block_row_cycles", "budget",
           "compare", "cost_table", "load_targets", "make_case", "measure", "over_budget", "picture", "record_targets",
           "run", "show", "trace_of"]
