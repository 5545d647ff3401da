"""The course around the emulator: the exercise table, ``ipukit.check``, the grader, the sliders
of the notebooks and the warm-up that compiles the built-in codelets ahead of time."""
