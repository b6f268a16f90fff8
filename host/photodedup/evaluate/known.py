"""The known relationships of the shared test data (its README, section 3) as data.

Refs are paths relative to the data folder, or ``uuid:<UUID>`` for a Photos asset whose original is not
in the bundle (the metadata still relates it). Kept apart from the tests so ``photodedup evaluate`` and
the test suite score against the same truth; the README is the authority, this is its transcription.
"""

from __future__ import annotations

import os
from itertools import combinations

from photodedup.evaluate.metrics import GroundTruth, TruthPair

__all__ = ["BURST", "EXACT_GROUPS", "known_pairs", "known_truth"]

MT = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
C2 = "photos-libraries/Test-13.5.1-compare-2.photoslibrary"
T26 = "photos-libraries/Test-26.1.photoslibrary"
TK = "takeout/Takeout/Google Photos"
ND = "near-duplicates/imagededup"

# Library files named by UUID.
IMG_1994_A = f"{C2}/originals/C/C0054772-8788-499F-B94F-8AC6064B8A58.jpeg"
IMG_1994_B = f"{C2}/originals/F/F269CA02-F39B-4306-882A-B05B31926C80.jpeg"
WEDDING_C2 = f"{C2}/originals/0/0B5E5418-E995-4FDD-A90A-17D72436AC5A.jpeg"
WEDDING_26 = f"{T26}/originals/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51.jpeg"
WEDDING_RENDER = f"{T26}/resources/renders/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51_1_201_a.jpeg"
WEDDING_REIMPORT = f"{T26}/originals/6/6FD38366-3BF2-407D-81FE-7153EB6125B6.jpeg"
TULIPS_C2 = f"{C2}/originals/2/29E96312-8F01-4C90-BADF-8055108131F9.jpeg"
TULIPS_26 = f"{T26}/originals/6/6191423D-8DB8-4D4C-92BE-9BBBA308AAC4.jpeg"
TULIPS_RENDER = f"{T26}/resources/renders/6/6191423D-8DB8-4D4C-92BE-9BBBA308AAC4_1_201_a.jpeg"
IMG_3984_C2 = f"{C2}/originals/0/0EBA5A05-6E6B-4EF6-B264-8F3AE6B88379.jpeg"
PUMKINS1_26 = f"{T26}/originals/F/F12384F6-CD17-4151-ACBA-AE0E3688539E.jpeg"
PUMKINS2_26 = f"{T26}/originals/D/D79B8D77-BFFC-460B-9312-034F2877D35B.jpeg"
PUMPKINS3_26 = f"{T26}/originals/1/1EB2B765-0765-43BA-A90C-0D0580E6172C.jpeg"
IMG_3092 = f"{T26}/originals/7/7783E8E6-9CAC-40F3-BE22-81FB7051C266.heic"
IMG_3092_RENDER = f"{T26}/resources/renders/7/7783E8E6-9CAC-40F3-BE22-81FB7051C266_1_201_a.heic"
IMG_4394 = f"{MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE.heic"
IMG_4394_VIDEO = f"{MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_3.mov"
IMG_4394_RENDER = f"{MT}/resources/renders/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_1_201_a.heic"
IMG_0667 = f"{MT}/originals/7/79D1A1A5-B1EA-41D1-83B1-C71F001E6D49.jpeg"
# Photos assets whose original is not in the bundle (3.5, 3.6, 3.9).
IMG_1994_26 = "uuid:A92D9C26-3A50-4197-9388-CB5F7DB9FA91"
IMG_1994_MT = "uuid:1AA0EB69-C3B3-44E7-9AA3-275F0347ABD8"
IMG_0658_MT = "uuid:BB0F9F05-D186-4D43-9903-A4AD7A1BC8B0"
IMG_0664_MT = "uuid:D87BFE7E-A479-4ECD-98E8-1A8D06EF607E"
IMG_0675_MT = "uuid:7B85B835-AB73-46B1-8840-6BA63FB2D9DD"
IMG_3582_MT = "uuid:EC19EA1A-FC91-449C-8925-B13D863E2EDB"

# 3.1, every group of media files (group 19, two `{}` JSON files, is not media).
EXACT_GROUPS: list[list[str]] = [
    ["media/heic/sample_still_photo.heic", "corrupt/sample_still_photo_heic_bytes.jpg"],
    ["media/heic/IMG_0102.HEIC", f"{MT}/originals/5/5F9BCC2D-D1DF-46D8-8F70-C142B25D3DC3.heic"],
    ["media/screenshot/IMG_2908.PNG", f"{MT}/originals/A/A344F711-313A-4D64-AA6D-108013A43DD4.png"],
    ["media/video/IMG_3539.MOV", f"{MT}/originals/4/420451DF-5299-41C1-8B71-83E1598D6F5C.mov"],
    [
        f"{ND}/base_images/ukbench00120.jpg",
        f"{ND}/mixed_images/ukbench00120.jpg",
        f"{ND}/mixed_nested_images/lvl1/ukbench00120.jpg",
    ],
    [
        f"{ND}/base_images/ukbench09268.jpg",
        f"{ND}/mixed_images/ukbench09268.jpg",
        f"{ND}/mixed_nested_images/lvl1/lvl2b/ukbench09268.jpg",
    ],
    [
        f"{ND}/base_images/ukbench09380.jpg",
        f"{ND}/formats_images/ukbench09380.bmp",
        f"{ND}/formats_images/ukbench09380.jpeg",
        f"{ND}/formats_images/ukbench09380.png",
        f"{ND}/formats_images/ukbench09380.svg",
    ],
    [f"{ND}/mixed_images/ukbench00120_hflip.jpg", f"{ND}/mixed_nested_images/ukbench00120_hflip.jpg"],
    [
        f"{ND}/mixed_images/ukbench00120_resize.jpg",
        f"{ND}/mixed_nested_images/lvl1/lvl2b/ukbench00120_resize.jpg",
    ],
    [
        f"{ND}/mixed_images/ukbench00120_rotation.jpg",
        f"{ND}/mixed_nested_images/lvl1/lvl2a/ukbench00120_rotation.jpg",
    ],
    [WEDDING_C2, f"{TK}/Photos from 2019/wedding.jpg"],
    [IMG_3984_C2, f"{TK}/Photos from 2016/IMG_3984.jpeg"],
    [TULIPS_C2, f"{TK}/Photos from 2019/Tulips.jpg"],
    [IMG_1994_A, IMG_1994_B],
    [WEDDING_RENDER, WEDDING_REIMPORT],
    [f"{TK}/Photos from 2018/Pumkins1.jpg", f"{TK}/Pumpkin Farm/Pumkins1.jpg"],
    [f"{TK}/Photos from 2018/Pumpkins3.jpg", f"{TK}/Pumpkin Farm/Pumpkins3.jpg"],
]
# Byte-identical but undecodable: a photo tool may leave them alone, so finding them is not required.
EXACT_UNDECODABLE = [
    f"{ND}/mixed_images/ukbench09268_corrupt.jpg",
    f"{ND}/mixed_nested_images/ukbench09268_corrupt.jpg",
]

# 3.6: the loose frames, the library's selected frame, and the DB-only IMG_0675 (never on disk).
BURST = ["media/burst/IMG_0658.JPG", "media/burst/IMG_0664.JPG", IMG_0667, IMG_0675_MT]

DESCRIPTIONS = {
    "exact": "byte-identical files (3.1)",
    "Photos fingerprint": "same Photos fingerprint, one original not on disk (3.9)",
    "same pixels": "same decoded pixels, metadata differs (3.2)",
    "motion photo, video removed": "same still, one with the motion-photo MP4 appended (3.2)",
    "same video frames": "same decoded frames, container differs (3.2)",
    "PNG re-encode": "RGBA PNG of the JPEG (3.3)",
    "WebP re-encode": "lossy WebP of the JPEG (3.3)",
    "exact, undecodable": "byte-identical but not an image (3.1 #11)",
    "not on disk, same name+size": "a DB-only asset and the loose copy of its original (3.5, 3.6, 3.9)",
    "resize, aspect changed": "640×480 → 300×300 (3.3)",
    "grayscale": "grayscale copy (3.3)",
    "mirrored": "horizontal flip (3.3)",
    "rotated 30°": "≈30° rotation, black corners (3.3)",
    "brightness": "same picture, brightness differs (3.3)",
    "video re-encode": "same clip, another codec or container (3.8)",
    "truncated video": "first 50,000 bytes of the clip (3.8)",
    "edit: Photos render": "a Photos edit render and its original (3.4)",
    "edit: IMG_E export": "Apple export IMG_E#### and its original (3.4)",
    "edit: _edited export": "osxphotos _edited export and its original (3.4)",
    "edit: Takeout -edited": "Google Takeout -edited and its original (3.4)",
    "Live Photo": "still and video of one Live Photo (3.5)",
    "burst": "frames of one burst (3.6)",
    "low-information decodes": "degenerate (grey/black) decodes of different photos (3.7)",
    "different videos": "unrelated videos (3.8)",
    "same session": "Pumkins1/2/3: three photos of one session (3.9)",
    "different UKBench photos": "the 10 base_images (2.3)",
}


def _pairwise(refs: list[str], kind: str, relation: str) -> list[TruthPair]:
    return [TruthPair(a, b, kind, relation) for a, b in combinations(refs, 2)]


def known_pairs() -> list[TruthPair]:
    """Every relationship README section 3 states, as labelled pairs."""
    p: list[TruthPair] = []
    # -- the same photo: must be found ---------------------------------------------------------------
    for group in EXACT_GROUPS:
        p += [TruthPair(group[0], other, "exact", "same") for other in group[1:]]
    p.append(TruthPair(IMG_1994_A, IMG_1994_26, "Photos fingerprint", "same"))
    p += [
        TruthPair(WEDDING_C2, WEDDING_26, "same pixels", "same"),
        TruthPair(TULIPS_C2, TULIPS_26, "same pixels", "same"),
        TruthPair(PUMKINS1_26, f"{TK}/Photos from 2018/Pumkins1.jpg", "same pixels", "same"),
        TruthPair(PUMPKINS3_26, f"{TK}/Photos from 2018/Pumpkins3.jpg", "same pixels", "same"),
        TruthPair(
            "media/motion/pixel-motion-photo-shortened.jpg",
            "media/motion/pixel-motion-photo-video-removed-shortened.jpg",
            "motion photo, video removed",
            "same",
        ),
        # Videos: by their perceptual fingerprints (fingerprint/video.py, docs/video.md).
        TruthPair("media/video/sample.mp4", "corrupt/sample_mdat_too_long.mp4", "same video frames", "same"),
    ]
    p += [
        TruthPair("media/video/sample.mp4", f"media/video/{other}", "video re-encode", "same")
        for other in ("sample.mkv", "sample_fragmented.mp4", "sample_av1.mp4")
    ]
    base120 = f"{ND}/base_images/ukbench00120.jpg"
    p += [
        TruthPair(base120, f"{ND}/alpha_channel_image.png", "PNG re-encode", "same"),
        TruthPair(
            f"{ND}/base_images/ukbench09380.jpg",
            f"{ND}/formats_images/ukbench09380.webp",
            "WebP re-encode",
            "same",
        ),
    ]
    # -- the same picture, transformed, or related only by metadata: finding it is optional ----------
    p.append(TruthPair(*EXACT_UNDECODABLE, "exact, undecodable", "near"))
    p += [
        TruthPair(a, b, "not on disk, same name+size", "near")
        for a, b in (
            ("media/burst/IMG_0658.JPG", IMG_0658_MT),
            ("media/burst/IMG_0664.JPG", IMG_0664_MT),
            ("media/live/IMG_3582.HEIC", IMG_3582_MT),
            (IMG_1994_A, IMG_1994_MT),
        )
    ]
    p += [
        TruthPair(base120, f"{ND}/mixed_images/ukbench00120_resize.jpg", "resize, aspect changed", "near"),
        TruthPair(base120, f"{ND}/ukbench00120_gray.jpg", "grayscale", "near"),
        TruthPair(base120, f"{ND}/mixed_images/ukbench00120_hflip.jpg", "mirrored", "near"),
        TruthPair(base120, f"{ND}/mixed_images/ukbench00120_rotation.jpg", "rotated 30°", "near"),
        TruthPair("media/heic/sample_still_photo.heic", "media/motion/sample_MP.heic", "brightness", "near"),
    ]
    p.append(TruthPair("media/video/sample.mp4", "corrupt/sample_truncated.mp4", "truncated video", "near"))
    # -- an edit and its original: both kept --------------------------------------------------------
    p += [
        TruthPair(WEDDING_26, WEDDING_RENDER, "edit: Photos render", "edited"),
        TruthPair(TULIPS_26, TULIPS_RENDER, "edit: Photos render", "edited"),
        TruthPair(IMG_3092, IMG_3092_RENDER, "edit: Photos render", "edited"),
        TruthPair(IMG_4394, IMG_4394_RENDER, "edit: Photos render", "edited"),
        TruthPair(
            "media/edited/IMG_1853.HEIC", "media/edited/IMG_E1853.heic", "edit: IMG_E export", "edited"
        ),
        TruthPair(
            "media/live/IMG_3582.HEIC", "media/live/IMG_3582_edited.heic", "edit: _edited export", "edited"
        ),
        TruthPair(
            f"{TK}/Photos from 2016/IMG_3984.jpeg",
            f"{TK}/Photos from 2016/IMG_3984-edited.jpeg",
            "edit: Takeout -edited",
            "edited",
        ),
    ]
    # -- one capture in two files: never split, never duplicates -------------------------------------
    p += [
        TruthPair("media/live/IMG_3582.HEIC", "media/live/IMG_3582.mov", "Live Photo", "live"),
        TruthPair(IMG_4394, IMG_4394_VIDEO, "Live Photo", "live"),
    ]
    p += _pairwise(BURST, "burst", "burst")
    # -- different photos that look alike: never duplicates ------------------------------------------
    p += _pairwise(
        [
            "media/motion/pixel-motion-photo-shortened.jpg",
            "media/motion/ss-motion-photo-shortened.jpg",
            "media/motion/pixel_8.jpg",
        ],
        "low-information decodes",
        "different",
    )
    p += _pairwise(
        [
            "media/video/sample.mp4",
            "media/video/IMG_3539.MOV",
            f"{TK}/Photos from 2020/Jellyfish.mov",
            "media/live/IMG_3582.mov",
            IMG_4394_VIDEO,
        ],
        "different videos",
        "different",
    )
    p += _pairwise([PUMKINS1_26, PUMKINS2_26, PUMPKINS3_26], "same session", "different")
    ukbench = ["00120", "01380", "08976", "08996", "09012", "09040", "09060", "09268", "09348", "09380"]
    p += _pairwise(
        [f"{ND}/base_images/ukbench{n}.jpg" for n in ukbench], "different UKBench photos", "different"
    )
    return p


def known_truth(data_dir: str | os.PathLike[str]) -> GroundTruth:
    """The README's truth for a scan of the whole data folder."""
    return GroundTruth(
        name="known",
        root=os.fspath(data_dir),
        pairs=known_pairs(),
        complete=False,
        descriptions=dict(DESCRIPTIONS),
    )
