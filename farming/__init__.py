"""Farming knowledge shared by the gateway, the cloud, the simulator and the web pages.

One owner for each number, each with its source (DESIGN.md §5): breed growth curves
(`growth`), house climate comfort bands and heat stress (`climate`), water and feed norms
(`water`). Pure Python, no numpy, and no import of any other package of ours, so the
gateway can carry it and every layer above can use it.
"""
