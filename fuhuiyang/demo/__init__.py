"""`fuhuiyang demo`: the regional demo on embedded services (issue 9)."""

from fuhuiyang.demo.cli import demo

__all__ = ["demo"]
