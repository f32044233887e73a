"""Click command groups of the `fuhuiyang` console script, one module per group."""
