"""Getting a photo or scan of an invoice ready for OCR.

EXIF orientation, the sheet found in a photo and its perspective corrected, deskew, red
stamps made white (black text under them kept), uneven light evened out. Work is done on a
reduced copy where it can be (finding edges and angles), on full resolution only to warp.
"""

import contextlib
import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps

# Pillow refuses larger images itself (decompression bombs); we refuse earlier and clearer.
MAX_PIXELS = 80_000_000
MAX_BYTES = 40 * 1024 * 1024
# Long side the page is brought to for OCR: about 200 DPI on an A4-wide invoice.
TARGET_LONG_SIDE = 2000
MIN_LONG_SIDE = 1400
MAX_SKEW_DEGREES = 12


class ImageUnreadable(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def load_image(data: bytes) -> Image.Image:
    """Decode, refusing bombs; EXIF orientation applied; RGB."""
    if len(data) > MAX_BYTES:
        raise ImageUnreadable("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise ImageUnreadable("too_large")
            if image.format == "JPEG":
                image.draft("RGB", (TARGET_LONG_SIDE * 2, TARGET_LONG_SIDE * 2))
            image.load()
    except ImageUnreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageUnreadable("too_large") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for broken files
        raise ImageUnreadable("corrupt") from None
    # A broken EXIF block is not worth refusing the image for.
    with contextlib.suppress(Exception):
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        image = background
    return image.convert("RGB")


def _resize_long_side(array: np.ndarray, long_side: int) -> np.ndarray:
    height, width = array.shape[:2]
    scale = long_side / max(height, width)
    if abs(scale - 1) < 0.05:
        return array
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(
        array, (round(width * scale), round(height * scale)), interpolation=interpolation
    )


def _order_corners(points: np.ndarray) -> np.ndarray:
    total = points.sum(axis=1)
    difference = np.diff(points, axis=1).ravel()
    return np.float32(
        [
            points[np.argmin(total)],
            points[np.argmin(difference)],
            points[np.argmax(total)],
            points[np.argmax(difference)],
        ]
    )


def find_document(rgb: np.ndarray) -> np.ndarray | None:
    """The four corners of a bright sheet on a darker background, or None."""
    height, width = rgb.shape[:2]
    scale = 800 / max(height, width)
    small = cv2.resize(
        rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    border = np.concatenate(
        [gray[:4].ravel(), gray[-4:].ravel(), gray[:, :4].ravel(), gray[:, -4:].ravel()]
    )
    center = gray[
        gray.shape[0] // 4 : 3 * gray.shape[0] // 4, gray.shape[1] // 4 : 3 * gray.shape[1] // 4
    ]
    # A scan is paper to its edges: nothing to find.
    if np.median(border) > np.median(center) - 25:
        return None
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(contour)
    if area < 0.2 * gray.size or area > 0.98 * gray.size:
        return None
    hull = cv2.convexHull(contour)
    approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(approx) != 4:
        rect = cv2.minAreaRect(hull)
        approx = cv2.boxPoints(rect)
    corners = _order_corners(np.asarray(approx, dtype=np.float32).reshape(-1, 2)) / scale
    return corners


def warp_document(rgb: np.ndarray, corners: np.ndarray) -> np.ndarray:
    top_left, top_right, bottom_right, bottom_left = corners
    width = int(
        max(np.linalg.norm(top_right - top_left), np.linalg.norm(bottom_right - bottom_left))
    )
    height = int(
        max(np.linalg.norm(bottom_left - top_left), np.linalg.norm(bottom_right - top_right))
    )
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(
        rgb, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def suppress_red(rgb: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """Red stamp pixels become paper; text under a stamp stays darker than the stamp."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    # Red, not brown: the form's brown print sits near 22 degrees, seals near 0 and 350.
    red = ((hue >= 165) | (hue <= 6)) & (saturation > 35) & (value > 90)
    # Through a red filter the seal is light and text under it dark: keep the red channel
    # there, and make the seal's own light red paper.
    red_channel = rgb[..., 0]
    result = gray.copy()
    result[red] = np.where(red_channel[red] > 190, 255, np.maximum(gray[red], red_channel[red]))
    return result


def even_light(gray: np.ndarray) -> np.ndarray:
    """Divide by the background (text removed by a large closing), then stretch contrast."""
    height, width = gray.shape
    scale = 400 / max(height, width)
    small = cv2.resize(
        gray,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    background = cv2.GaussianBlur(background, (0, 0), 3)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    normalized = cv2.divide(gray, np.maximum(background, 1), scale=255)
    low, high = np.percentile(normalized[::4, ::4], (1, 99.5))
    if high - low < 10:
        return normalized
    stretched = (normalized.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(stretched, 0, 255).astype(np.uint8)


def skew_angle(gray: np.ndarray) -> float:
    """The angle (degrees) that makes text lines horizontal: the sharpest row profile."""
    height, width = gray.shape
    scale = 1000 / max(height, width)
    small = cv2.resize(
        gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )
    _, binary = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    center = (binary.shape[1] / 2, binary.shape[0] / 2)

    def sharpness(angle):
        matrix = cv2.getRotationMatrix2D(center, angle, 1.0)
        rotated = cv2.warpAffine(
            binary, matrix, (binary.shape[1], binary.shape[0]), flags=cv2.INTER_NEAREST
        )
        profile = rotated.sum(axis=1, dtype=np.float64)
        return float(np.var(np.diff(profile)))

    best = max(np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 0.01, 1.0), key=sharpness)
    fine = np.arange(best - 0.9, best + 0.91, 0.15)
    return float(max(fine, key=sharpness))


def rotate(array: np.ndarray, angle: float) -> np.ndarray:
    height, width = array.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    return cv2.warpAffine(
        array,
        matrix,
        (new_width, new_height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def prepare(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(gray page for OCR, colour page with the same geometry) from a photo or scan."""
    rgb = np.asarray(image.convert("RGB"))
    long_side = max(rgb.shape[:2])
    if long_side > TARGET_LONG_SIDE * 1.6:
        rgb = _resize_long_side(rgb, round(TARGET_LONG_SIDE * 1.6))
    corners = find_document(rgb)
    if corners is not None:
        rgb = warp_document(rgb, corners)
    long_side = max(rgb.shape[:2])
    if long_side > TARGET_LONG_SIDE * 1.15 or long_side < MIN_LONG_SIDE:
        rgb = _resize_long_side(rgb, TARGET_LONG_SIDE)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    gray = suppress_red(rgb, gray)
    angle = skew_angle(gray)
    if abs(angle) > 0.2:
        gray = rotate(gray, angle)
        rgb = rotate(rgb, angle)
    gray = even_light(gray)
    return Image.fromarray(gray), Image.fromarray(rgb)
