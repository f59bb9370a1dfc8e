import io

import pytest
from PIL import Image

from claims.invoice_reader import read_invoice
from claims.invoice_reader.image import ImageUnreadable, load_image


def test_load_image_applies_the_exif_orientation():
    # given a landscape photo stored sideways with EXIF orientation 6 (rotate 90° clockwise)
    image = Image.new("RGB", (300, 200), "white")
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())

    loaded = load_image(buffer.getvalue())

    assert loaded.size == (200, 300)


def test_load_image_refuses_a_decompression_bomb():
    # given a small PNG that would unpack to 90 million pixels
    buffer = io.BytesIO()
    Image.new("1", (10_000, 9_000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 2_000_000

    with pytest.raises(ImageUnreadable) as raised:
        load_image(buffer.getvalue())
    assert raised.value.code == "too_large"

    reading = read_invoice(buffer.getvalue(), "bomb.png")
    assert (reading.status, reading.error) == ("unreadable", "too_large")
