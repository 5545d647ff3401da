"""The machine and the program, as data: the IPU's spec, tensors and the tiles their elements live
on, codelets and vertices, the graph, programs, the cycle model.  Nothing here runs anything."""
