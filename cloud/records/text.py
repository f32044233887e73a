"""What the reader and the import say about a book, in the user's language (zh-CN default, English)."""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("zh-CN", "en")

MESSAGES: dict[str, tuple[str, str]] = {  # code: (zh-CN, en); {names} filled from params
    # cells and rows
    "not_date": ("不是日期（例如 2023-03-04、2023年3月4日、3/4）", "not a date (e.g. 2023-03-04, 2023年3月4日, 3/4)"),
    "no_date": ("没有日期", "no date"),
    "not_number": ("不是数字", "not a number"),
    "not_finite": ("不是有限的数字", "not a finite number"),
    "negative": ("不能是负数", "negative"),
    "not_whole": ("应为整数", "not a whole number"),
    "outside_flock": ("不在这群鸡的饲养期内（{start} 起）", "outside the flock's life ({start} onwards)"),
    "future": ("日期在今天之后", "a date after today"),
    "same_day_line": ("与第 {first_row} 行是同一天", "same date as line {first_row}"),
    "same_day_cell": ("与工作表“{first_sheet}”第 {first_row} 行是同一天",
                      "same date as sheet '{first_sheet}' row {first_row}"),
    "missing_days": ("缺 {n} 天记录（从 {first} 起）", "{n} day(s) missing from {first}"),
    "sheet_no_header": ("工作表没有表头行（找不到日期列）", "sheet has no header row (no date column found)"),
    "sheet_other_layout": ("工作表的列与“{first}”不同，请用 --sheet 单独导入",
                           "sheet's columns differ from '{first}'; import it alone with --sheet"),
    "broken_csv": ("此处起不是有效的 CSV", "not CSV from here on"),
    # actions
    "row_skipped": ("整行未导入", "row skipped"),
    "cell_skipped": ("该格未导入", "cell skipped"),
    "merged": ("已合并：数量相加", "merged: counts added"),
    "no_record": ("这几天没有记录", "no record for those days"),
    "sheet_skipped": ("工作表未读取", "sheet skipped"),
    "rest_skipped": ("其后内容未读取", "rest of file skipped"),
    # whole-file problems
    "empty": ("文件是空的", "the file is empty"),
    "no_header": ("找不到表头行：没有一列被认作日期（前几行：{first_rows}）",
                  "no header row: no column recognised as the date (first rows: {first_rows})"),
    "no_rows": ("没有可用的行（每一行都缺少有效日期）", "no usable rows (every row lacked a valid date)"),
    "sheet_not_found": ("没有名为“{sheet}”的工作表（有：{sheets}）", "no sheet named '{sheet}' (sheets: {sheets})"),
    "encoding": ("无法识别文件编码（请用 UTF-8 或 GB18030）", "unknown text encoding (use UTF-8 or GB18030)"),
    "not_xlsx": ("不是有效的 Excel 文件（.xlsx）", "not a valid Excel (.xlsx) file"),
    "old_xls": ("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx", "old .xls files are not supported: save as .xlsx"),
    "too_many_rows": ("工作表“{sheet}”行数过多（{rows} 行）", "sheet '{sheet}' has too many rows ({rows})"),
    "bad_mapping": ("无法识别的列对应：{item}（格式：列名=字段，字段为 {fields}）",
                    "unrecognised column mapping {item} (use COLUMN=field, field one of {fields})"),
    "too_large": ("文件太大（最大 {limit} KB）", "the file is too large (at most {limit} KB)"),
}


def say(code: str, lang: str = "zh-CN", params: Mapping[str, object] | None = None) -> str:
    pair = MESSAGES.get(code)
    if pair is None:
        return code
    template = pair[1] if lang == "en" else pair[0]
    try:
        return template.format(**(params or {}))
    except (KeyError, IndexError):
        return template
