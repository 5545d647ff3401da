"""Running a compiled plan: the engine, the reference executor (plain Python: the definition of what
a program does), the numba executor (the same, compiled, tested equal), and the profile."""
