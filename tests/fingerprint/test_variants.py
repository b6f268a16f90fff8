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
