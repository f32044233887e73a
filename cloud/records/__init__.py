"""A farm's own record book (Excel workbook or CSV) read into days of flock records.

One reader for every consumer: `fuhuiyang records import`, the web app's upload and
`fuhuiyang alerts backtest --records`. Pure: bytes in, days and per-cell problems out.
"""

from cloud.records.reader import BookError, BookRead, DayRow, Issue, read_book

__all__ = ["BookError", "BookRead", "DayRow", "Issue", "read_book"]
