"""The keeper: each rule, their order, the config file, overrides, and reasons in words."""

from __future__ import annotations

import random
import shutil

import pytest

from photodedup.match.keeper import (
    DEFAULT_RULES,
    RULES,
    KeeperConfig,
    apply_keeper,
    choose_keeper,
    load_config,
)
from photodedup.match.model import Group, MatchItem, Member, from_row

T1, T2 = "2019-01-01T08:00:00", "2020-01-01T08:00:00"
D1, D2 = "2021-01-01T00:00:00+00:00", "2022-01-01T00:00:00+00:00"
FULL = {"taken_at": "2020-05-01T10:00:00", "gps": True, "make": "Apple", "model": "iPhone 12"}


def item(id: int, **kw) -> MatchItem:
    base = {
        "path": f"/photos/{id}.jpg",
        "source_id": 1,
        "source_kind": "folder",
        "source_root": "/photos",
        "kind": "file",
        "role": None,
        "parent_id": None,
        "uuid": None,
        "status": "ok",
        "media_type": "image",
        "format": "JPEG",
        "size": 2_000_000,
        "width": 4032,
        "height": 3024,
    }
    base.update(kw)
    return MatchItem(id=id, **base)


def keep(*members: MatchItem, config: KeeperConfig | None = None, override: int | None = None):
    return choose_keeper(list(members), config or KeeperConfig(), override)


# -- each rule, with every earlier rule tied --------------------------------------------------

RULE_CASES = [
    # rule, winner, loser, words in the loser's reason
    ("not_trashed", {}, {"trashed": True}, "in the Photos trash"),
    ("not_trashed", {}, {"hidden": True}, "hidden in Photos"),
    ("on_disk", {}, {"status": "not_on_disk", "path": None}, "iCloud-only placeholder"),
    ("not_cloud_copy", {}, {"cloud_copy": True}, "compressed cloud copy"),
    ("original_over_edit", {}, {"is_edit": True}, "an edited version"),
    ("most_pixels", {}, {"width": 1024, "height": 768}, "pixels than the kept copy (1024×768 vs 4032×3024)"),
    ("richest_metadata", FULL, {"taken_at": FULL["taken_at"]}, "less metadata (capture time vs capture"),
    ("favorite_or_albums", {"favorite": True}, {"albums": ["Trip"]}, "not a favourite"),
    ("favorite_or_albums", {"albums": ["Trip", "Best"]}, {"albums": ["Trip"]}, "fewer albums (1 vs 2)"),
    ("oldest_capture", {"taken_at": T1}, {"taken_at": T2}, "captured later"),
    ("oldest_import", {"date_added": D1}, {}, "no import date"),
    ("oldest_import", {"date_added": D1}, {"date_added": D2}, "imported later"),
    ("camera_format", {"format": "HEIF"}, {"format": "JPEG"}, "less preferred format (JPEG vs HEIF)"),
    ("plain_name", {"path": "/p/IMG_1.jpg"}, {"path": "/q/copy of IMG_1.jpg"}, "name marks it as a copy"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "winner", "loser", "words"), RULE_CASES)
def test_each_rule_decides_and_says_so(rule, winner, loser, words):
    # The loser gets the higher id, so the tie-break alone would have kept the winner anyway:
    # swap them so only the rule can explain the result.
    w, lo = item(9, **winner), item(1, **loser)
    kept, reasons = keep(w, lo)
    assert kept == 9
    assert words in reasons[1]
    assert reasons[9].startswith("kept: ")
    assert RULES[rule].win(w, None)  # every rule can say why the keeper won
    # The rule on its own decides the same way.
    kept_alone, _ = keep(w, lo, config=KeeperConfig(rules=[rule]))
    assert kept_alone == 9


def test_tie_break_is_lowest_id_and_explained():
    kept, reasons = keep(item(7), item(3), item(5))
    assert kept == 3
    assert "lower id is kept (#3 vs #7)" in reasons[7]
    assert "lowest id" in reasons[3]


def test_no_capture_time_ranks_last_and_offsets_are_compared_in_utc():
    kept, reasons = keep(
        item(1), item(2, taken_at="2020-01-01T00:00:00"), config=KeeperConfig(["oldest_capture"])
    )
    assert kept == 2 and "no capture time" in reasons[1]
    # 10:00 at +02:00 is 08:00 UTC, earlier than 09:00 at +00:00.
    east = item(2, taken_at="2020-01-01T10:00:00", taken_offset="+02:00")
    west = item(1, taken_at="2020-01-01T09:00:00", taken_offset="+00:00")
    assert keep(east, west, config=KeeperConfig(["oldest_capture"]))[0] == 2


def test_takeout_copy_with_fewer_bytes_or_pixels_counts_as_cloud_copy():
    library = item(9, source_kind="photos_library", size=500_000, **FULL)
    smaller = item(1, source_kind="takeout", size=400_000, **FULL)
    kept, reasons = keep(library, smaller)
    assert kept == 9 and "a Takeout copy with fewer bytes than #9 (400,000 vs 500,000 B)" in reasons[1]

    fewer_pixels = item(1, source_kind="takeout", width=2048, height=1536, favorite=True)
    kept, reasons = keep(library, fewer_pixels, config=KeeperConfig(["not_cloud_copy"]))
    assert kept == 9 and "fewer pixels than #9" in reasons[1]

    # A bigger Takeout file is not a compressed copy: the next rules decide (here: the lower id).
    bigger = item(1, source_kind="takeout", size=600_000, **FULL)
    kept, reasons = keep(library, bigger)
    assert kept == 1 and "lower id" in reasons[9]

    # An edit in Takeout is compared with edits only, not with the original.
    takeout_edit = item(1, source_kind="takeout", is_edit=True, width=2048, height=1536)
    _, reasons = keep(library, takeout_edit, config=KeeperConfig(["not_cloud_copy", "original_over_edit"]))
    assert "edited version" in reasons[1]


# -- order and preferences --------------------------------------------------------------------


def test_default_order():
    assert KeeperConfig().rules == list(DEFAULT_RULES)
    assert list(DEFAULT_RULES) == list(RULES)  # documented in one order everywhere
    assert DEFAULT_RULES[0] == "not_trashed" and DEFAULT_RULES[-1] == "tie_break"


def test_trashed_copy_never_kept_over_a_live_one():
    trashed_original = item(1, trashed=True, width=8000, height=6000, favorite=True, **FULL)
    live_placeholder_edit = item(2, status="not_on_disk", path=None, is_edit=True, width=100, height=100)
    kept, reasons = keep(trashed_original, live_placeholder_edit)
    assert kept == 2 and "trash" in reasons[1]


def test_placeholder_loses_even_with_more_pixels():
    placeholder = item(1, status="not_on_disk", path=None, width=8000, height=6000, **FULL)
    kept, reasons = keep(placeholder, item(2, width=640, height=480))
    assert kept == 2
    assert reasons[1] == "an iCloud-only placeholder: the kept copy has the original file"
    assert "its original file is on disk" in reasons[2]


def test_original_beats_bigger_edit_unless_edits_are_preferred():
    original = item(1, width=2048, height=1367)
    edit = item(2, is_edit=True, width=4096, height=2734)
    kept, reasons = keep(original, edit)
    assert kept == 1 and reasons[2] == "an edited version: the kept copy is the original"
    kept, reasons = keep(original, edit, config=KeeperConfig(prefer_edits=True))
    assert kept == 2 and "you prefer edits" in reasons[1]
    # prefer_edits flips the rule, not the pixels: a smaller edit still wins.
    small_edit = item(2, is_edit=True, width=1526, height=1325)
    assert keep(original, small_edit, config=KeeperConfig(prefer_edits=True))[0] == 2


def test_reordering_rules_changes_the_winner():
    big_bare = item(1)
    small_rich = item(2, width=1024, height=768, **FULL)
    assert keep(big_bare, small_rich)[0] == 1
    order = [r for r in DEFAULT_RULES if r != "richest_metadata"]
    order.insert(order.index("most_pixels"), "richest_metadata")
    kept, reasons = keep(big_bare, small_rich, config=KeeperConfig(order))
    assert kept == 2 and "less metadata (none vs capture time, GPS and camera" in reasons[1]


def test_camera_format_only_for_equal_pixels():
    heic = item(1, format="HEIF", path="/p/IMG_1.HEIC")
    jpeg = item(2, format="JPEG", path="/p/IMG_1.jpg")
    kept, reasons = keep(jpeg, heic)
    assert kept == 1 and "HEIF" in reasons[1] and "camera's own format" in reasons[1]
    # Unequal pixels: the bigger JPEG wins, even with camera_format placed before most_pixels.
    big_jpeg = item(2, format="JPEG", width=8064, height=6048)
    for rules in (list(DEFAULT_RULES), ["camera_format", "most_pixels"]):
        kept, reasons = keep(heic, big_jpeg, config=KeeperConfig(rules))
        assert kept == 2 and "fewer pixels" in reasons[1]
    # Configured otherwise (aliases and case are accepted): the JPEG is preferred.
    config = KeeperConfig(prefer_formats=["jpg", "heic"])
    assert config.prefer_formats == ["JPEG", "HEIF"]
    assert keep(heic, jpeg, config=config)[0] == 2
    # Unlisted formats rank after listed ones.
    assert keep(item(1, format="XYZ"), item(2, format="PNG"))[0] == 2


def test_omitted_tie_break_is_still_applied():
    config = KeeperConfig(rules=["most_pixels"])
    assert config.order == ["most_pixels", "tie_break"]
    assert keep(item(5), item(4), config=config)[0] == 4


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        (["most_pixels", "biggest"], "unknown keeper rule(s): biggest"),
        (["most_pixels", "most_pixels"], "more than once: most_pixels"),
        (["tie_break", "most_pixels"], "tie_break must come last"),
        ("most_pixels", "must be a list"),
    ],
)
def test_bad_rule_lists_are_refused(rules, words):
    with pytest.raises(ValueError, match="keeper") as e:
        KeeperConfig(rules=rules)
    assert words in str(e.value)


# -- override ---------------------------------------------------------------------------------


def test_override_wins_with_reason():
    best, other, third = item(1, **FULL), item(2, width=640, height=480, path="/p/small.jpg"), item(3)
    kept, reasons = keep(best, other, third, override=2)
    assert kept == 2
    assert reasons[2].startswith("kept (chosen by you): ")
    assert (
        reasons[1] == "you chose to keep #2 (small.jpg) instead; by the rules this one would have been kept"
    )
    assert reasons[3] == "you chose to keep #2 (small.jpg) instead"
    # Overriding with the rules' own choice keeps the explanation.
    kept, reasons = keep(best, other, override=1)
    assert kept == 1 and "chosen by you" in reasons[1] and "fewer pixels" in reasons[2]
    with pytest.raises(ValueError, match="not a member"):
        keep(best, other, override=99)


# -- determinism and reasons ------------------------------------------------------------------


def mixed_group() -> list[MatchItem]:
    return [
        item(1, trashed=True),
        item(2, status="not_on_disk", path=None),
        item(3, source_kind="takeout", size=1_000_000),
        item(4, is_edit=True),
        item(5, width=1024, height=768),
        item(6, **FULL),
        item(7, **FULL, favorite=True),
        item(8, **FULL, favorite=True, hidden=True),
        item(9, cloud_copy=True),
        item(10, **FULL, favorite=True, format="HEIF"),
        item(11, **FULL, favorite=True, format="HEIF"),
        item(12),
    ]


def test_shuffled_input_gives_the_same_keeper_and_reasons():
    members = mixed_group()
    expected = choose_keeper(members, KeeperConfig())
    assert expected[0] == 10
    rng = random.Random(1234)
    for _ in range(50):
        shuffled = members[:]
        rng.shuffle(shuffled)
        assert choose_keeper(shuffled, KeeperConfig()) == expected


def test_every_member_gets_a_reason_naming_its_rule():
    _, reasons = choose_keeper(mixed_group(), KeeperConfig())
    assert set(reasons) == set(range(1, 13)) and all(r.strip() for r in reasons.values())
    assert "in the Photos trash" in reasons[1]
    assert "iCloud-only placeholder" in reasons[2]
    assert "Takeout copy with fewer bytes" in reasons[3]
    assert "edited version" in reasons[4]
    assert "fewer pixels" in reasons[5]
    assert "not a favourite" in reasons[6]
    assert "less preferred format (JPEG vs HEIF)" in reasons[7]
    assert "hidden in Photos" in reasons[8]
    assert "compressed cloud copy" in reasons[9]
    assert "lower id" in reasons[11]
    assert "less metadata" in reasons[12]
    # The keeper says what it is and every rule that made it win.
    assert reasons[10].startswith(
        "kept: the original file on disk, 4032×3024 HEIF, with capture time, GPS and camera"
    )
    for phrase in (
        "not in the trash or hidden",
        "on disk",
        "not a cloud copy",
        "it is the original",
        "most pixels",
        "richest metadata",
        "favourite",
        "camera's own format (HEIF)",
        "lowest id",
    ):
        assert phrase in reasons[10]


def test_single_member():
    kept, reasons = keep(item(4))
    assert kept == 4 and "the only copy" in reasons[4]
    with pytest.raises(ValueError):
        choose_keeper([], KeeperConfig())


def test_apply_keeper_sets_keep_and_reason_on_a_copy():
    items = {m.id: m for m in (item(1, width=640, height=480), item(2), item(3, trashed=True))}
    group = Group(
        id="g1", kind="same", members=[Member(id=i, path=items[i].path, source="folder") for i in items]
    )
    out = apply_keeper(group, items, KeeperConfig())
    assert [m.keep for m in out.members] == [False, True, False]
    assert all(m.reason for m in out.members)
    assert not any(m.keep or m.reason for m in group.members)  # the input is untouched
    overridden = apply_keeper(group, items, KeeperConfig(), override=3)
    assert [m.keep for m in overridden.members] == [False, False, True]
    with pytest.raises(KeyError, match="no MatchItem"):
        apply_keeper(group, {1: items[1]}, KeeperConfig())


# -- config file ------------------------------------------------------------------------------


def test_load_config_reads_keeper_table(tmp_path, monkeypatch):
    monkeypatch.delenv("PHOTODEDUP_CONFIG", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        '[scan]\nworkers = 2\n\n[keeper]\nrules = ["on_disk", "most_pixels"]\n'
        'prefer_edits = true\nprefer_formats = ["HEIC", "jpeg"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config == KeeperConfig(
        rules=["on_disk", "most_pixels"], prefer_edits=True, prefer_formats=["HEIF", "JPEG"]
    )
    assert config.path == path
    # A file without [keeper] gives the defaults.
    other = tmp_path / "other.toml"
    other.write_text("[scan]\nworkers = 2\n", encoding="utf-8")
    assert load_config(str(other)) == KeeperConfig()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[keeper]\nrules = ["most_pixels", "newest_first"]\n', "unknown keeper rule(s): newest_first"),
        ("[keeper]\nprefer_edit = true\n", "unknown key(s) in [keeper]: prefer_edit"),
        ('[keeper]\nprefer_edits = "yes"\n', "prefer_edits must be true or false"),
        ("[keeper\n", "not valid TOML"),
    ],
)
def test_load_config_errors_name_the_problem(tmp_path, text, words):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as e:
        load_config(path)
    assert words in str(e.value) and str(path) in str(e.value)


def test_load_config_env_var_and_default_location(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PHOTODEDUP_CONFIG", raising=False)
    assert load_config(None) == KeeperConfig()  # no file at the default location: defaults
    default = tmp_path / "xdg" / "photodedup" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text('[keeper]\nrules = ["most_pixels"]\n', encoding="utf-8")
    assert load_config(None).rules == ["most_pixels"]

    env = tmp_path / "env.toml"
    env.write_text("[keeper]\nprefer_edits = true\n", encoding="utf-8")
    monkeypatch.setenv("PHOTODEDUP_CONFIG", str(env))
    config = load_config(None)
    assert config.prefer_edits is True and config.path == env
    # A file the user named but that is not there is an error, not a silent fallback.
    monkeypatch.setenv("PHOTODEDUP_CONFIG", str(tmp_path / "typo.toml"))
    with pytest.raises(FileNotFoundError, match=r"typo\.toml"):
        load_config(None)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")


# -- real store rows --------------------------------------------------------------------------


def test_real_scan_keeps_the_larger_file(tmp_path, data_dir):
    from photodedup.scan.engine import ScanOptions, scan
    from photodedup.store.db import Store

    nd = data_dir / "near-duplicates/imagededup"
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(nd / "base_images/ukbench00120.jpg", folder / "ukbench00120.jpg")
    shutil.copy(nd / "mixed_images/ukbench00120_resize.jpg", folder / "ukbench00120_resize.jpg")
    store = Store(tmp_path / "s.db")
    try:
        scan([str(folder)], store, ScanOptions(workers=1))
        items = {}
        for row in store.items():
            m = from_row(row, store.source(row["source_id"]))
            items[m.name] = m
    finally:
        store.close()
    big, small = items["ukbench00120.jpg"], items["ukbench00120_resize.jpg"]
    kept, reasons = choose_keeper([small, big], KeeperConfig())
    assert kept == big.id
    assert reasons[small.id] == "fewer pixels than the kept copy (300×300 vs 640×480)"
    assert (
        reasons[big.id].startswith("kept: the original file on disk, 640×480 JPEG")
        and "most pixels" in reasons[big.id]
    )


@pytest.mark.parametrize(
    ("name", "marked"),
    [
        ("copy of IMG_1.jpg", True),
        ("IMG_1 copy.jpg", True),
        ("IMG_1 copy 2.JPG", True),
        ("IMG_1 - Copy.jpg", True),
        ("IMG_1 - Copy (3).jpg", True),
        ("IMG_1 (1).jpeg", True),
        ("IMG_1(2).jpeg", True),
        ("IMG_1.jpg", False),
        ("copycat.jpg", False),
        ("IMG_1-1.jpg", False),
        ("photocopy.jpg", False),
    ],
)
def test_plain_name_knows_copy_markers(name, marked):
    plain, other = item(1, path=f"/p/{name}"), item(2, path="/p/IMG_9.jpg")
    kept, reasons = keep(plain, other)
    assert (kept == 2) == marked, reasons
