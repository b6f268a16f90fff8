"""Turned and border-trimmed pHashes land on the hash of a copy turned or framed in its pixels."""

from __future__ import annotations

import pytest
from PIL import Image

from photodedup.fingerprint.perceptual import hamming, hashes_from_image
from photodedup.fingerprint.variants import variant_hashes
from photodedup.media.decode import decode_image

PHOTOS = [
    "near-duplicates/imagededup/base_images/ukbench00120.jpg",
    "near-duplicates/imagededup/base_images/ukbench09040.jpg",
    "takeout/Takeout/Google Photos/Photos from 2019/wedding.jpg",
    "media/heic/IMG_0102.HEIC",
]


@pytest.mark.parametrize("rel", PHOTOS)
def test_rotated_copies_match_through_the_variants(data_dir, rel):
    img = decode_image(data_dir / rel).image
    v = variant_hashes(img)
    for angle, alt in ((-90, v.r90), (180, v.r180), (90, v.r270)):
        turned = hashes_from_image(img.rotate(angle, expand=True)).phash
        assert hamming(turned, alt) <= 2, angle
        assert hamming(turned, hashes_from_image(img).phash) > 12  # without the variant they look unrelated


@pytest.mark.parametrize("rel", PHOTOS)
def test_border_is_cut_away(data_dir, rel):
    img = decode_image(data_dir / rel).image
    plain = hashes_from_image(img).phash
    own = variant_hashes(img).trimmed  # a photo with a flat edge of its own is trimmed too
    for colour, pad in (((255, 255, 255), 0.06), ((0, 0, 0), 0.1)):
        p = round(max(img.size) * pad)
        framed = Image.new("RGB", (img.width + 2 * p, img.height + 2 * p), colour)
        framed.paste(img, (p, p))
        trimmed = variant_hashes(framed).trimmed
        assert trimmed is not None
        assert hamming(trimmed, plain) <= 8 or (own is not None and hamming(trimmed, own) <= 8)


def test_no_border_no_trimmed_hash(data_dir):
    img = decode_image(data_dir / "near-duplicates/imagededup/base_images/ukbench00120.jpg").image
    assert variant_hashes(img).trimmed is None


def _images(data_dir):
    from photodedup.media.decode import DecodeError

    for path in sorted(p for p in data_dir.rglob("*") if p.is_file() and "corrupt" not in p.parts):
        try:
            yield path.name, decode_image(path).image
        except DecodeError:
            continue


def test_edge_check_never_skips_a_frame_the_whole_grid_would_find(data_dir):
    """trimmed_box looks at the four edge lines first; when none is frame-like it must be because the full
    check on the whole grid finds nothing either (on every data image, and framed copies of some)."""
    from photodedup.fingerprint import variants

    checked = skipped = 0
    for n, (name, img) in enumerate(_images(data_dir)):
        if n >= 60:
            break
        framed = Image.new("RGB", (img.width + 40, img.height + 40), (250, 250, 250))
        framed.paste(img, (20, 20))
        for image in (img, framed, img.transpose(Image.Transpose.ROTATE_90)):
            full = variants._trim_box(variants._grey_grid(image))
            if not variants._may_have_frame(image):
                assert full is None, name
                skipped += 1
            checked += 1
    assert checked >= 150 and skipped >= 40  # the shortcut is taken, and not always
