import io

import numpy as np
import pytest
from PIL import Image

from humanparse.errors import ImageError, ImageTooLargeError
from humanparse.io.image import iter_image_files, load_image


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    base = np.zeros((20, 40, 3), np.uint8)
    base[:, :20] = 255  # left half white
    img = Image.fromarray(base)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    out = load_image(encode(img, "JPEG", exif=exif, quality=95))
    assert out.shape == (40, 20, 3)
    assert out[:20].mean() > 200 and out[20:].mean() < 50  # white half is now on top


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "RGBA", "LA", "I;16", "1"])
def test_odd_modes_become_rgb(mode):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:, 4:] = 200
    img = Image.fromarray(rgb)
    if mode == "I;16":
        img = Image.fromarray((np.asarray(img.convert("L")).astype(np.uint16) * 257))
        img = img.convert("I;16") if img.mode != "I;16" else img
    else:
        img = img.convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    out = load_image(encode(img, fmt))
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert out[:, :4].mean() < out[:, 4:].mean()


def test_arrays_of_several_dtypes():
    assert load_image(np.ones((4, 5), np.float32)).tolist()[0][0] == [255, 255, 255]
    assert load_image(np.full((4, 5, 3), 65535, np.uint16))[0, 0, 0] == 255
    assert load_image(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    with pytest.raises(ImageError):
        load_image(np.zeros((4, 5, 2), np.uint8))


def test_pixel_limit_is_checked_before_decoding():
    data = encode(Image.new("RGB", (300, 200)))
    with pytest.raises(ImageTooLargeError, match="exceeds the limit"):
        load_image(data, max_pixels=300 * 200 - 1)
    assert load_image(data, max_pixels=300 * 200).shape == (200, 300, 3)


def test_corrupt_truncated_empty_and_non_image(tmp_path):
    good = encode(Image.new("RGB", (64, 64), (10, 200, 30)), "JPEG")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(good[: len(good) // 2])
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"hello, this is text")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file"):
        load_image(empty)
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_iter_image_files_recurses_and_keeps_explicit_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for p in ["a/x.jpg", "a/b/y.PNG", "a/notes.txt"]:
        (tmp_path / p).write_bytes(b"x")
    found = iter_image_files([tmp_path / "a", tmp_path / "a" / "notes.txt"])
    assert [f.name for f in found] == ["y.PNG", "x.jpg", "notes.txt"]  # sorted by path, then explicit
