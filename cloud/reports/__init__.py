"""Regional reports: queries over the aggregates and base tables, pure roll-ups, exports, bench."""
