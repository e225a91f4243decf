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


# ------------------------------------------------------------------ grayscale photos (issue 22, item 9)
def _gray_files(rgb: np.ndarray) -> dict[str, bytes]:
    """The photo as grayscale files: 8-bit, and full-range 16-bit (0..65535) in the containers people use."""
    g8 = np.asarray(Image.fromarray(rgb).convert("L"))
    g16 = g8.astype(np.uint16) * 257
    return {"8-bit png": encode(Image.fromarray(g8)),
            "16-bit png": encode(Image.fromarray(g16)),
            "16-bit png from big-endian": encode(Image.fromarray(g16.astype(">u2"))),
            "16-bit tiff big-endian": encode(Image.fromarray(g16.astype(">u2")), "TIFF"),
            "32-bit int tiff (mode I)": encode(Image.fromarray(g16).convert("I"), "TIFF")}


def test_sixteen_bit_grayscale_loads_as_its_eight_bit_copy(astronaut):
    files = _gray_files(astronaut)
    ref = load_image(files.pop("8-bit png"))
    for name, data in files.items():
        out = load_image(data)
        assert out.dtype == np.uint8 and out.shape == ref.shape, name
        assert np.abs(out.astype(int) - ref).max() <= 1, f"{name}: not scaled by 255/65535"
    g16 = np.asarray(Image.fromarray(astronaut).convert("L")).astype(np.uint16) * 257
    assert np.abs(load_image(g16).astype(int) - ref).max() <= 1           # an array too


def _shared_photo(name: str) -> np.ndarray:
    from humanparse.paths import shared_data_dir

    root = shared_data_dir()
    path = root / "unlabeled_photos" / "images" / name if root else None
    if path is None or not path.is_file():
        pytest.skip(f"{name} not found under ../shared/data/unlabeled_photos/images (evaluation data absent)")
    return load_image(path)


@pytest.fixture(scope="module")
def default_parser():
    import humanparse

    return humanparse.get_backend()


@pytest.mark.parametrize("photo", ["two_person_photo", "jockey.jpg", "soccer.jpg"])
def test_grayscale_photo_finds_the_people_of_its_colour_original(photo, default_parser, request):
    """8- and 16-bit grayscale copies find as many persons as the colour photo, at the same places (box IoU > 0.5)."""
    rgb = request.getfixturevalue(photo) if "." not in photo else _shared_photo(photo)
    colour = default_parser.predict(rgb).persons
    assert colour
    for name, data in _gray_files(rgb).items():
        gray = default_parser.predict(load_image(data)).persons
        assert len(gray) == len(colour), f"{photo} {name}: {len(gray)} persons, colour {len(colour)}"
        for p, q in zip(colour, gray):
            ix = max(0, min(p.bbox[2], q.bbox[2]) - max(p.bbox[0], q.bbox[0]))
            iy = max(0, min(p.bbox[3], q.bbox[3]) - max(p.bbox[1], q.bbox[1]))
            union = sum((b[2] - b[0]) * (b[3] - b[1]) for b in (p.bbox, q.bbox)) - ix * iy
            assert ix * iy / union > 0.5, f"{photo} {name}: person {p.id} moved"
