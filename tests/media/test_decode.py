"""decode_image over the real test data: formats by content, reduced decodes, orientation, bad inputs."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import pytest
from PIL import Image, ImageFile

from photodedup.media.decode import (
    DEFAULT_MAX_PIXELS,
    DecodeError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedImageError,
    decode_image,
)

# iPhone 8, stored 3088x2320, EXIF orientation 6, 320 px thumbnail
HEIC_WITH_THUMB = "media/heic/IMG_0102.HEIC"


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header announces ``width`` x ``height`` gray pixels but carries almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 8))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("corrupt/sample_still_photo_heic_bytes.jpg", "HEIF"),  # a HEIC named .jpg
        ("corrupt/maximum_contrast_png_bytes.jpg", "PNG"),
        ("media/motion/normalphoto.jpg", "PNG"),
        ("near-duplicates/imagededup/formats_images/ukbench09380.bmp", "JPEG"),
        ("near-duplicates/imagededup/formats_images/ukbench09380.svg", "JPEG"),
        ("near-duplicates/imagededup/formats_images/ukbench09380.webp", "WEBP"),
        ("near-duplicates/imagededup/formats_images/copyleft.tiff", "TIFF"),
        ("media/screenshot/IMG_2908.PNG", "PNG"),
    ],
)
def test_format_comes_from_content_not_extension(data_dir, rel, fmt):
    for exact in (False, True):
        decoded = decode_image(data_dir / rel, exact=exact)
        assert decoded.format == fmt
        assert decoded.image.mode == "RGB"


def test_wrong_extension_heic_decodes_like_the_real_one(data_dir):
    a = decode_image(data_dir / "corrupt/sample_still_photo_heic_bytes.jpg")
    b = decode_image(data_dir / "media/heic/sample_still_photo.heic")
    assert (a.width, a.height) == (b.width, b.height) == (1080, 1920)
    assert a.image.tobytes() == b.image.tobytes()


def test_bytes_and_path_give_the_same_result(data_dir):
    path = data_dir / "near-duplicates/imagededup/base_images/ukbench09268.jpg"
    a, b = decode_image(path), decode_image(path.read_bytes())
    assert (a.format, a.width, a.height, a.orientation) == (b.format, b.width, b.height, b.orientation)
    assert a.image.tobytes() == b.image.tobytes()


def test_jpeg_fast_mode_uses_dct_scaling(data_dir):
    fast = decode_image(data_dir / "media/burst/IMG_0658.JPG")
    assert fast.reduced and fast.format == "JPEG"
    assert (fast.width, fast.height) == (4032, 3024)  # the stored size, from the header
    assert fast.image.size == (504, 378)  # 1/8: both sides stay >= 256, the largest hash input
    exact = decode_image(data_dir / "media/burst/IMG_0658.JPG", exact=True)
    assert not exact.reduced and exact.image.size == (4032, 3024)


def test_small_jpeg_is_not_reduced_below_256(data_dir):
    decoded = decode_image(data_dir / "near-duplicates/imagededup/base_images/ukbench00120.jpg")
    assert not decoded.reduced and decoded.image.size == (640, 480)
    decoded = decode_image(data_dir / "takeout/Takeout/Google Photos/Photos from 2019/wedding.jpg")
    assert decoded.reduced and decoded.image.size == (512, 342) and min(decoded.image.size) >= 256


def test_heic_fast_uses_thumbnail_exact_decodes_full(data_dir):
    fast = decode_image(data_dir / HEIC_WITH_THUMB)
    assert fast.format == "HEIF" and fast.reduced
    assert fast.image.size == (240, 320) and fast.image.mode == "RGB"
    assert fast.orientation == 6
    assert (fast.width, fast.height) == (3088, 2320)  # stored (landscape), before orientation
    exact = decode_image(data_dir / HEIC_WITH_THUMB, exact=True)
    assert not exact.reduced
    assert exact.image.size == (2320, 3088)  # libheif always applies the container rotation
    assert (exact.width, exact.height, exact.orientation) == (3088, 2320, 6)


def test_heic_without_thumbnail_decodes_full(data_dir):
    decoded = decode_image(data_dir / "media/heic/sample_still_photo.heic")
    assert not decoded.reduced and decoded.image.size == (1080, 1920)
    assert decoded.orientation is None


def test_exif_orientation_applied_in_fast_mode_only(data_dir):
    path = data_dir / "near-duplicates/imagededup/base_images/ukbench09268.jpg"
    fast, exact = decode_image(path), decode_image(path, exact=True)
    assert fast.orientation == exact.orientation == 6
    assert (fast.width, fast.height) == (exact.width, exact.height) == (640, 480)
    assert fast.image.size == (480, 640)  # upright
    assert exact.image.size == (640, 480)  # as stored, like imagededup
    assert fast.image.tobytes() == exact.image.transpose(Image.Transpose.ROTATE_270).tobytes()


def test_no_orientation_tag_gives_none(data_dir):
    decoded = decode_image(data_dir / "near-duplicates/imagededup/mixed_images/ukbench00120_hflip.jpg")
    assert decoded.orientation is None


def test_exif_is_returned_for_metadata_readers(data_dir):
    decoded = decode_image(data_dir / "media/burst/IMG_0658.JPG")
    assert isinstance(decoded.exif, Image.Exif)
    assert decoded.exif.get(0x010F) == "Apple"  # Make
    assert decoded.exif.get_ifd(0x8769).get(0x9003) == "2016:10:09 14:44:17"  # DateTimeOriginal


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_broken_or_invalid_exif_does_not_cost_the_pixels():
    def jpeg_with_exif(payload: bytes) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (300, 200), (10, 100, 200)).save(out, "JPEG", exif=payload)
        return out.getvalue()

    broken = decode_image(jpeg_with_exif(b"Exif\0\0II*\0\x08\0\0\0\xff\xff" + b"\x01" * 10))
    assert broken.image.size == (300, 200) and broken.orientation is None
    # a big-endian IFD with Orientation = 9, which no viewer defines: ignored, not applied
    bogus = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x09\0\0"
    decoded = decode_image(jpeg_with_exif(bogus))
    assert decoded.exif.get(0x0112) == 9
    assert decoded.orientation is None and decoded.image.size == (300, 200)


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 30), color) for color in ((200, 10, 10), (10, 200, 10))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    decoded = decode_image(path)
    assert decoded.format == "GIF" and decoded.image.mode == "RGB"
    r, g, _ = decoded.image.getpixel((5, 5))
    assert r > 150 and g < 60


def test_decompression_bomb_rejected_from_header():
    with pytest.raises(ImageTooLargeError) as err:
        decode_image(_png_header(20_000, 15_000))
    assert str(err.value) == "image too large: 300,000,000 pixels (20000x15000) exceeds the 200,000,000 cap"
    assert DEFAULT_MAX_PIXELS == 200_000_000


def test_pixel_cap_is_ours_not_pillows(data_dir):
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLargeError, match=r"307,200 pixels \(640x480\) exceeds the 1,000 cap"):
        decode_image(data_dir / "near-duplicates/imagededup/base_images/ukbench00120.jpg", max_pixels=1000)
    # 190 MP is above Pillow's own bomb error (2 x 89.5 MP) but under our cap: Pillow neither warns nor
    # refuses; the decode proceeds and fails only because this header-only file has no pixel data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TruncatedImageError):
            decode_image(_png_header(10_000, 19_000))
    assert before == Image.MAX_IMAGE_PIXELS  # Pillow's global setting is restored


@pytest.mark.parametrize(
    ("rel", "error", "message"),
    [
        ("corrupt/empty.jpg", NotAnImageError, r"^not an image \(empty file, 0 bytes\)$"),
        ("corrupt/not_an_image.jpg", NotAnImageError, r"^not an image \(unrecognised content\)$"),
        (
            "near-duplicates/imagededup/mixed_images/ukbench09268_corrupt.jpg",
            NotAnImageError,
            r"^not an image",
        ),
        ("corrupt/sample_truncated.mp4", NotAnImageError, r"^not an image"),
        (
            "corrupt/ukbench00120_truncated.jpg",
            TruncatedImageError,
            r"^truncated image: JPEG data ends early",
        ),
        ("media/motion/non-motion-photo-shortened.jpg", TruncatedImageError, r"^truncated image: JPEG"),
        (
            "corrupt/sample_still_photo_truncated.heic",
            TruncatedImageError,
            r"^truncated image: HEIF data ends",
        ),
        ("media/motion/pixel-motion-photo-jfif-segment-shortened.jpg", DecodeError, r"^damaged JPEG image: "),
    ],
)
def test_bad_files_raise_decode_error_with_a_sentence(data_dir, rel, error, message):
    for exact in (False, True):
        with pytest.raises(error, match=message):
            decode_image(data_dir / rel, exact=exact)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # never switched on to "rescue" a file


def test_missing_file_is_a_decode_error(tmp_path):
    with pytest.raises(DecodeError, match=r"^cannot read file: No such file"):
        decode_image(tmp_path / "nope.jpg")
