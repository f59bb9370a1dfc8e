"""PDF pages: the text layer with positions (pypdfium2), or the page rendered for OCR.

An e-invoice PDF usually carries its text; some embed fonts whose character map is wrong
(the glyphs look right, the text is nonsense). Such text is refused by `plausible()` and
the caller falls back to rendering the page.
"""

import re
import threading

import pypdfium2 as pdfium

from .extract import Page, Token

MAX_PAGES = 4
RENDER_DPI = 300
# A page larger than this many pixels at the render DPI is rendered smaller.
MAX_RENDER_PIXELS = 40_000_000

# pdfium is not thread-safe; one document at a time per process.
_LOCK = threading.Lock()


class PdfUnreadable(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        message = str(error).lower()
        raise PdfUnreadable("encrypted" if "password" in message else "corrupt") from None


def text_pages(data: bytes) -> list[Page]:
    """The text layer of the first pages, in points from the top left corner."""
    pages = []
    with _LOCK:
        document = _open(data)
        try:
            count = len(document)
            if count == 0:
                raise PdfUnreadable("no_pages")
            for index in range(min(count, MAX_PAGES)):
                page = document[index]
                width, height = page.get_size()
                text_page = page.get_textpage()
                pages.append(Page(width, height, _tokens(text_page, height)))
                text_page.close()
                page.close()
        finally:
            document.close()
    return pages


def _tokens(text_page, page_height: float) -> list[Token]:
    """Characters grouped into runs that sit side by side on one baseline."""
    tokens: list[Token] = []
    current = None
    text = text_page.get_text_range()
    count = min(text_page.count_chars(), len(text))
    for index in range(count):
        char = text[index]
        if char.isspace() or ord(char) < 32:
            current = None
            continue
        left, bottom, right, top = text_page.get_charbox(index)
        height = max(top - bottom, 0.5)
        y = page_height - top
        if current is not None:
            gap = left - (current.x + current.width)
            same_line = abs(y - current.y) < 0.5 * max(height, current.height)
            if same_line and -0.5 * height < gap < 0.6 * max(height, current.height):
                current.text += char
                current.width = max(current.width, right - current.x)
                current.height = max(current.height, height)
                continue
        current = Token(char, left, y, max(right - left, 0.1), height)
        tokens.append(current)
    return tokens


LABEL_WORDS = ("发票", "开票日期", "名称", "纳税人识别号", "合计", "税额", "金额", "价税")


def plausible(pages: list[Page]) -> bool:
    """Whether the text layer reads like an invoice: labels present, few odd characters."""
    text = "".join(token.text for page in pages for token in page.tokens)
    if len(text) < 30:
        return False
    odd = len(re.findall(r"[\ue000-\uf8ff\ufffd\x00-\x1f]", text))
    if odd > 0.02 * len(text):
        return False
    labels = sum(1 for word in LABEL_WORDS if word in text)
    return labels >= 3


def render_pages(data: bytes, dpi: int = RENDER_DPI):
    """The first pages as PIL images at `dpi` (capped in pixels)."""
    images = []
    with _LOCK:
        document = _open(data)
        try:
            count = len(document)
            if count == 0:
                raise PdfUnreadable("no_pages")
            for index in range(min(count, MAX_PAGES)):
                page = document[index]
                width, height = page.get_size()
                scale = dpi / 72
                pixels = width * scale * height * scale
                if pixels > MAX_RENDER_PIXELS:
                    scale *= (MAX_RENDER_PIXELS / pixels) ** 0.5
                bitmap = page.render(scale=scale, grayscale=False)
                images.append(bitmap.to_pil().convert("RGB"))
                page.close()
        finally:
            document.close()
    return images
