"""Regenerate `articles/reports/bridge-renovation.pdf`, a tiny two-page PDF written by hand.

Run once (`python tests/data/make_pdf.py`); the produced file is committed, so the tests do not
depend on this script. It uses no library: Helvetica is one of the PDF standard fonts, so the
file needs no embedded font and stays a few KB.
"""

from pathlib import Path

TITLE = "Lyon approves the Pont Lafayette renovation"
PAGES = [
    [
        "Lyon approves the Pont Lafayette renovation",
        "",
        "On 14 February 2022 the Lyon city council voted to renovate the Pont Lafayette.",
        "The works will cost 23.5 million euros and should last 30 months.",
        "Deputy mayor Hélène Marchetti said the bridge carries 40,000 vehicles a day.",
    ],
    [
        "Traffic will be limited to one lane per direction from September 2022.",
        "Cyclists will get a protected two-way lane on the Quai des Célestins side.",
        "The contractor, Rhône Ouvrages, must finish the works before March 2025.",
    ],
]


def _escape(line: str) -> bytes:
    raw = line.encode("cp1252")  # matches the font's /WinAnsiEncoding
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _content(lines: list[str]) -> bytes:
    ops = [b"BT /F1 11 Tf 14 TL 72 760 Td"]
    ops += [b"(" + _escape(line) + b") Tj T*" for line in lines]
    ops.append(b"ET")
    return b"\n".join(ops)


def build() -> bytes:
    n_pages = len(PAGES)
    # Object numbers: 1 catalog, 2 pages, 3 font, 4 info, then (page, content) pairs.
    page_ids = [5 + 2 * i for i in range(n_pages)]
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n_pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + _escape(TITLE) + b") /Producer (tests/data/make_pdf.py) >>",
    ]
    for i, lines in enumerate(PAGES):
        stream = _content(lines)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_ids[i] + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


if __name__ == "__main__":
    target = Path(__file__).parent / "articles" / "reports" / "bridge-renovation.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(build())
