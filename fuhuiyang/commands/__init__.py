"""The click command groups of the top layer; each process's wiring lives in fuhuiyang.processes."""
