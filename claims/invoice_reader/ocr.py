"""OCR engines, each turning a page image into positioned tokens.

Tesseract (`chi_sim`) runs as one thread per call (OMP_THREAD_LIMIT=1): parallelism comes
from the worker processes. RapidOCR (PP-OCR models shipped in its wheel, run by onnxruntime
on the CPU, one thread) is used when installed; nothing is downloaded at run time.
"""

import os
import threading

import numpy as np
from PIL import Image

from .extract import Page, Token

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

TESSERACT = "tesseract"
RAPIDOCR = "rapidocr"
TESSERACT_LANGUAGES = "chi_sim"
TESSERACT_CONFIG = "--psm 11 --oem 1"
TESSERACT_TIMEOUT = 120


def tesseract_available() -> bool:
    try:
        import pytesseract

        return TESSERACT_LANGUAGES in pytesseract.get_languages(config="")
    except Exception:  # noqa: BLE001 - any failure means the engine is not there
        return False


def tesseract_page(image: Image.Image) -> Page:
    """Tesseract words grouped into runs: words of one line closer than a character apart."""
    import pytesseract

    data = pytesseract.image_to_data(
        image,
        lang=TESSERACT_LANGUAGES,
        config=TESSERACT_CONFIG,
        output_type=pytesseract.Output.DICT,
        timeout=TESSERACT_TIMEOUT,
    )
    words = []
    for index, text in enumerate(data["text"]):
        text = (text or "").strip()
        confidence = float(data["conf"][index])
        if not text or confidence < 0:
            continue
        key = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
        words.append(
            (
                key,
                Token(
                    text,
                    float(data["left"][index]),
                    float(data["top"][index]),
                    float(data["width"][index]),
                    float(data["height"][index]),
                    confidence,
                ),
            )
        )
    tokens: list[Token] = []
    current = None
    current_key = None
    last = None
    for key, word in words:
        if current is not None and key == current_key:
            gap = word.x - (current.x + current.width)
            height = max(current.height, word.height)
            last_center = last.y + last.height / 2
            same_row = abs(word.y + word.height / 2 - last_center) < 0.5 * height
            if gap < 1.2 * height and same_row:
                right = max(current.x + current.width, word.x + word.width)
                bottom = max(current.y + current.height, word.y + word.height)
                current.text += word.text
                current.confidence = min(current.confidence, word.confidence)
                current.y = min(current.y, word.y)
                current.width = right - current.x
                current.height = bottom - current.y
                last = word
                continue
        current = Token(word.text, word.x, word.y, word.width, word.height, word.confidence)
        current_key = key
        last = word
        tokens.append(current)
    return Page(float(image.width), float(image.height), tokens)


_RAPID = threading.local()


def rapidocr_engine():
    """The RapidOCR engine of this thread, or None when the package is not installed."""
    if not hasattr(_RAPID, "engine"):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            _RAPID.engine = None
        else:
            # "max" limit: a band of a page is read at its own size, not blown up to 736
            # pixels high; pages are upright by then, so no angle classifier.
            _RAPID.engine = RapidOCR(
                intra_op_num_threads=1,
                inter_op_num_threads=1,
                max_side_len=2600,
                det_limit_type="max",
                det_limit_side_len=1600,
                use_cls=False,
            )
    return _RAPID.engine


def rapidocr_available() -> bool:
    return rapidocr_engine() is not None


def rapidocr_page(image: Image.Image) -> Page:
    engine = rapidocr_engine()
    if engine is None:
        return Page(float(image.width), float(image.height), [])
    array = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
    result, _elapsed = engine(array)
    tokens = []
    for box, text, score in result or []:
        xs = [point[0] for point in box]
        ys = [point[1] for point in box]
        left, top = min(xs), min(ys)
        tokens.append(
            Token(
                text,
                float(left),
                float(top),
                float(max(xs) - left),
                float(max(ys) - top),
                float(score) * 100,
            )
        )
    return Page(float(image.width), float(image.height), tokens)


def rapidocr_line(image: Image.Image) -> tuple[str, float]:
    """RapidOCR's recogniser alone on a crop holding one line: (text, confidence 0-100)."""
    engine = rapidocr_engine()
    if engine is None:
        return "", 0.0
    array = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
    result, _elapsed = engine(array, use_det=False, use_cls=False, use_rec=True)
    if not result:
        return "", 0.0
    text, score = result[0][0], result[0][1]
    return str(text), float(score) * 100


def rapidocr_band(image: Image.Image, line_top: float, line_height: float) -> tuple[str, float]:
    """The line at `line_top` (pixels from the image's top) of a band of a page, as RapidOCR
    reads it: its detector finds the text boxes, the recogniser reads those whose middle is
    on the line, left to right. A box of its own keeps a seal's words or a border above or
    below out of the line. (text, lowest confidence 0-100)."""
    engine = rapidocr_engine()
    if engine is None:
        return "", 0.0
    page = rapidocr_page(image)
    on_line = [
        token
        for token in page.tokens
        if line_top - 0.1 * line_height
        <= token.y + token.height / 2
        <= line_top + 1.1 * line_height
    ]
    if not on_line:
        return rapidocr_line(image)
    on_line.sort(key=lambda token: token.x)
    text = "".join(token.text for token in on_line)
    return text, min(token.confidence for token in on_line)


# Long side of the copy RapidOCR's detector looks at when only its boxes are wanted: the
# detector costs as much as reading every box at page size, and finds lines at half of it.
DETECT_LONG_SIDE = 1100


def rapidocr_boxes(image: Image.Image) -> list[tuple[float, float, float, float]]:
    """Text lines RapidOCR's detector finds, as (left, top, width, height) in the image's
    pixels, found on a reduced copy of it. Nothing is recognised."""
    engine = rapidocr_engine()
    if engine is None:
        return []
    import cv2

    array = np.asarray(image.convert("RGB"))[:, :, ::-1]
    scale = min(1.0, DETECT_LONG_SIDE / max(array.shape[:2]))
    if scale < 1.0:
        size = (round(array.shape[1] * scale), round(array.shape[0] * scale))
        array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    boxes, _elapsed = engine.text_det(np.ascontiguousarray(array))
    found = []
    for box in [] if boxes is None else boxes:
        xs = [point[0] / scale for point in box]
        ys = [point[1] / scale for point in box]
        found.append((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    return found


def rapidocr_lines(image: Image.Image, crops: list[tuple[int, int, int, int]]):
    """RapidOCR's recogniser on each crop (left, top, right, bottom) of the image, in one
    batch: [(text, confidence 0-100)]."""
    engine = rapidocr_engine()
    if engine is None or not crops:
        return [("", 0.0)] * len(crops)
    array = np.asarray(image.convert("RGB"))[:, :, ::-1]
    pieces = [
        np.ascontiguousarray(array[top:bottom, left:right]) for left, top, right, bottom in crops
    ]
    results, _elapsed = engine.text_rec(pieces)
    return [(str(text), float(score) * 100) for text, score in results]


ENGINES = {TESSERACT: tesseract_page, RAPIDOCR: rapidocr_page}
