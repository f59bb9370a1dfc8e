"""`python -m bench.import_limits`: how fast, and in how much memory, an import file is checked
and read, one JSON line a file. Each file is made in one process and measured in another, so
max RSS growth is the check's and the reading's alone.

- bomb: 260,000 rows in a ~780 KB .xlsx unpacking to 56 MB, refused by the row count
- flat_bomb: the hostile-input report's shape (~210 KB unpacking to 56 MB), refused by ratio
- csv_20k: a 20,000-row GBK .csv, checked (encoding, records) then streamed
- xlsx_100k: a 100,000-row .xlsx (the row limit), checked then streamed
"""

import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile


def _bomb(rows=260_000, *, varied=True) -> bytes:
    output = io.BytesIO()
    cells = b'<c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c>' * 3
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b"<worksheet><sheetData>")
            for start in range(0, rows, 1000):
                sheet.write(
                    b"".join(
                        b"<row>%s<c><v>%d</v></c></row>" % (cells, n % 4099 if varied else 0)
                        for n in range(start, start + 1000)
                    )
                )
            sheet.write(b"</sheetData></worksheet>")
    return output.getvalue()


def _csv(rows=20_000) -> bytes:
    lines = ["经销商代码,中文名称,英文名称,大区,集团,状态,法人实体,统一社会信用代码,地址"]
    for n in range(rows):
        lines.append(
            f"D{n:05},北京第{n}汽车销售服务,Beijing {n} Motors,N,,正常,"
            f"北京第{n}汽车销售服务有限公司,91110000{n:08}X1,北京市朝阳区{n}号"
        )
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def _xlsx(rows=100_000) -> bytes:
    import xlsxwriter

    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet("Dealers")
    for row in range(rows):
        sheet.write_row(
            row,
            0,
            [
                f"D{row:06}",
                f"北京第{row}汽车",
                f"Beijing {row}",
                "N",
                "",
                "正常",
                f"北京第{row}汽车有限公司",
                f"91110000{row:08}X1",
                f"北京市{row}号",
            ],
        )
    book.close()
    return output.getvalue()


# name -> function returning (content, the file name it is sent as)
MAKERS = {
    "bomb": lambda name="dealers.xlsx": (_bomb(), name),
    "flat_bomb": lambda name="dealers.xlsx": (_bomb(varied=False), name),
    "csv_20k": lambda name="dealers.csv": (_csv(), name),
    "xlsx_100k": lambda name="dealers.xlsx": (_xlsx(100_000 - 1), name),
}


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, path: str) -> dict:
    """One figure, in this process, on a file made by another (so its making costs nothing)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ssa_ops.settings")
    import django

    django.setup()
    from ssa_ops.tabular import TabularError, rows_read, tabular_check

    filename = os.path.basename(path)
    rss_before = _max_rss_mb()
    figure = {"file": name, "bytes": os.path.getsize(path)}
    started = time.perf_counter()
    try:
        info = tabular_check(path, filename)
    except TabularError as error:
        figure.update(refused=error.code, seconds=round(time.perf_counter() - started, 3))
    else:
        figure.update(rows=info.rows, unpacked_bytes=info.unpacked_bytes)
        figure["check_seconds"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        figure["rows_read"] = sum(1 for _row in rows_read(path, filename))
        figure["read_seconds"] = round(time.perf_counter() - started, 3)
    figure["max_rss_growth_mb"] = round(_max_rss_mb() - rss_before, 1)
    return figure


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        data, _filename = MAKERS[sys.argv[2]]()
        with open(sys.argv[3], "wb") as file:
            file.write(data)
        return
    if len(sys.argv) == 3:
        print(json.dumps(measure(sys.argv[1], sys.argv[2])))
        return
    with tempfile.TemporaryDirectory() as folder:
        for name, make in MAKERS.items():
            path = os.path.join(folder, f"{name}-{make.__defaults__[0]}")
            run = [sys.executable, "-m", "bench.import_limits"]
            subprocess.run([*run, "make", name, path], check=True)
            result = subprocess.run([*run, name, path], capture_output=True, text=True, check=True)
            print(result.stdout.strip())


if __name__ == "__main__":
    main()
