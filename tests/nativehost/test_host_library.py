"""The host over a real store made by a real `photodedup scan`: status, groups, thumbnails, page matching,
decisions; checked against what the CLI says about the same store."""

from __future__ import annotations

import base64
import io
import json
import re
import time

import pytest
from nativehost_testkit import Host, clean_env, run_cli, scan_store
from PIL import Image

B = "near-duplicates/imagededup/"
LIBRARY = {
    "a/ukbench00120.jpg": B + "base_images/ukbench00120.jpg",
    "a/ukbench00120_gray.jpg": B + "ukbench00120_gray.jpg",
    "b/ukbench00120.jpg": B + "mixed_images/ukbench00120.jpg",  # byte-identical to a/
    "a/ukbench01380.jpg": B + "base_images/ukbench01380.jpg",
    "a/ukbench09012.jpg": B + "base_images/ukbench09012.jpg",
    "a/ukbench09060.jpg": B + "base_images/ukbench09060.jpg",
    "a/IMG_0102.HEIC": "media/heic/IMG_0102.HEIC",
    "a/sample.mp4": "media/video/sample.mp4",
    "b/clip.mp4": "media/video/sample.mp4",
}


@pytest.fixture(scope="module")
def library(tmp_path_factory, data_dir):
    """(tmp, db, ids by file) — read-only for the tests that share it."""
    tmp = tmp_path_factory.mktemp("library")
    folder, db = scan_store(tmp, data_dir, LIBRARY)
    ids = {}
    r = run_cli("groups", "--db", str(db), "--format", "json", env=clean_env(tmp))
    import sqlite3

    with sqlite3.connect(db) as conn:
        for item_id, path in conn.execute("SELECT id, path FROM items"):
            ids[path[len(str(folder)) + 1 :]] = item_id
    return tmp, db, ids, json.loads(r.stdout)["groups"]


@pytest.fixture
def own_library(tmp_path, data_dir):
    _folder, db = scan_store(tmp_path, data_dir, LIBRARY)
    return tmp_path, db


def cli_groups(tmp, db) -> list[dict]:
    r = run_cli("groups", "--db", str(db), "--format", "json", env=clean_env(tmp))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["groups"]


def all_groups(host: Host, **args) -> list[dict]:
    out, offset = [], 0
    while offset is not None:
        page = host.call("groups.list", {**args, "offset": offset})
        out += page["groups"]
        offset = page["next_offset"]
    return out


def image_b64(path, size: int, fmt: str = "JPEG", **save) -> str:
    im = Image.open(path)
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.convert("RGB").save(buf, fmt, **save)
    return base64.b64encode(buf.getvalue()).decode()


def turned_b64(path) -> str:
    """The photo turned a quarter in its pixels, as a phone app or a web page may show it."""
    im = Image.open(path).transpose(Image.Transpose.ROTATE_90)
    im.thumbnail((220, 220))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return base64.b64encode(buf.getvalue()).decode()


def test_status_counts_the_library(library):
    tmp, db, _ids, _ = library
    with Host(tmp, db=db) as host:
        s = host.call("status")
        assert s["items"] == {"total": 9, "images": 7, "videos": 2, "errors": 0, "gone": 0}
        assert [(x["kind"], x["name"], x["items"]) for x in s["sources"]] == [("folder", "library", 9)]
        assert s["last_scan"]["status"] == "complete" and s["last_scan"]["finished"]
        assert s["sources"][0]["last_scan"] == s["last_scan"]["finished"]
        assert s["jobs"] == []
        assert host.close() == 0


def test_groups_are_the_cli_groups_largest_first(library):
    tmp, db, ids, cli = library
    with Host(tmp, db=db) as host:
        listed = all_groups(host)
        assert len(listed) == len(cli) == 2
        assert {g["id"] for g in listed} == {g["id"] for g in cli}
        assert [g["size"] for g in listed] == [3, 2]  # members first
        same, exact = listed
        assert same["kind"] == "same" and exact["kind"] == "exact"
        assert same["member_ids"] == sorted(
            ids[f] for f in ("a/ukbench00120.jpg", "a/ukbench00120_gray.jpg", "b/ukbench00120.jpg")
        )
        assert exact["member_ids"] == sorted([ids["a/sample.mp4"], ids["b/clip.mp4"]])
        by_id = {g["id"]: g for g in cli}
        for g in listed:
            keeper = [m["id"] for m in by_id[g["id"]]["members"] if m["keep"]]
            assert [g["keeper_id"]] == keeper and g["member_ids_complete"] is True
            assert g["reclaimable"] == by_id[g["id"]]["reclaimable_bytes"] > 0
        name_of = {i: path.rsplit("/", 1)[1] for path, i in ids.items()}  # which copy is kept depends on ids
        assert same["title"] == f"3 copies of {name_of[same['keeper_id']]}"
        assert exact["title"] == f"2 identical copies of {name_of[exact['keeper_id']]}"
        assert all_groups(host, kind="exact") == [exact]
        assert host.call("groups.list", {"kind": "burst"}) == {
            "total": 0,
            "offset": 0,
            "next_offset": None,
            "groups": [],
        }
        page = host.call("groups.list", {"limit": 1})
        assert page["groups"] == [same] and page["next_offset"] == 1 and page["total"] == 2
        assert host.call("groups.list", {"offset": 5})["groups"] == []
        assert host.close() == 0


def test_group_detail_names_files_without_paths(library):
    tmp, db, ids, cli = library
    same = next(g for g in cli if g["kind"] == "same")
    with Host(tmp, db=db) as host:
        g = host.call("groups.get", {"group_id": same["id"]})
        assert g["id"] == same["id"] and g["kind"] == "same" and g["why"] == same["why"] and g["size"] == 3
        assert g["next_member_offset"] is None
        assert [(m["id"], m["keep"], m["reason"]) for m in g["members"]] == [
            (m["id"], m["keep"], m["reason"]) for m in same["members"]
        ]
        first = next(m for m in g["members"] if m["id"] == ids["a/ukbench00120.jpg"])
        assert (
            first["name"] == "ukbench00120.jpg" and first["source"] == "library" and first["kind"] == "image"
        )
        assert (first["width"], first["height"], first["size"]) == (640, 480, 208803)
        assert first["taken_at"]
        assert "/" not in json.dumps([m["name"] for m in g["members"]]) and "path" not in first
        paged = host.call("groups.get", {"group_id": same["id"], "member_offset": 1, "member_limit": 1})
        assert [m["id"] for m in paged["members"]] == [g["members"][1]["id"]] and paged[
            "next_member_offset"
        ] == 2
        err = host.error("groups.get", {"group_id": "s000000000000"})
        assert err["code"] == "not_found"
        assert host.close() == 0


def test_thumbnails_of_jpeg_heic_and_video_items(library):
    tmp, db, ids, _ = library
    from photodedup.fingerprint.perceptual import hamming, hashes_from_image

    with Host(tmp, db=db) as host:
        for name, aspect in (("a/ukbench00120.jpg", 4 / 3), ("a/IMG_0102.HEIC", None), ("a/sample.mp4", 1.5)):
            for size in (32, 160, 512):
                t = host.call("thumbnail", {"item_id": ids[name], "size": size})
                assert t["item_id"] == ids[name] and t["mime"] == "image/jpeg"
                im = Image.open(io.BytesIO(base64.b64decode(t["data"])))
                assert im.format == "JPEG" and im.size == (t["width"], t["height"])
                assert max(im.size) <= size and max(im.size) >= min(size, 300) * 0.9
                if aspect:
                    assert abs(im.width / im.height - aspect) < 0.05, (name, im.size)
        # The picture is the item's own: its pHash is the one the scan stored.
        t = host.call("thumbnail", {"item_id": ids["a/ukbench09012.jpg"], "size": 256})
        ph = hashes_from_image(Image.open(io.BytesIO(base64.b64decode(t["data"]))).convert("RGB")).phash
        stored = run_cli("hash", str(tmp / "library/a/ukbench09012.jpg"), "--format", "json").stdout
        assert hamming(ph, json.loads(stored)["hashes"]["phash"]) <= 6
        assert host.call("thumbnail", {"item_id": ids["a/ukbench09012.jpg"]})["width"] == 160  # default size
        assert host.error("thumbnail", {"item_id": 10_000})["code"] == "not_found"
        assert host.close() == 0


def test_thumbnail_of_a_vanished_file_is_unavailable(own_library):
    tmp, db = own_library
    (tmp / "library/a/ukbench01380.jpg").unlink()
    import sqlite3

    with sqlite3.connect(db) as conn:
        (item_id,) = conn.execute("SELECT id FROM items WHERE path LIKE '%ukbench01380.jpg'").fetchone()
    with Host(tmp, db=db) as host:
        err = host.error("thumbnail", {"item_id": item_id})
        assert err["code"] == "unavailable" and "cannot be read" in err["message"]
        assert host.close() == 0


def test_match_finds_page_duplicates_and_library_copies(library, data_dir):
    tmp, db, ids, cli = library
    same = next(g for g in cli if g["kind"] == "same")
    not_in_library = data_dir / B / "base_images/ukbench08976.jpg"
    in_library = data_dir / B / "base_images/ukbench00120.jpg"
    hashes = json.loads(
        run_cli("hash", str(data_dir / B / "base_images/ukbench09060.jpg"), "--format", "json").stdout
    )
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 MP in a few KB
    grey = [io.BytesIO(), io.BytesIO()]
    Image.new("RGB", (200, 150), (128, 128, 128)).save(grey[0], "JPEG")
    Image.new("RGB", (120, 90), (120, 120, 120)).save(grey[1], "PNG")
    items = [
        {"key": "p1", "image": image_b64(not_in_library, 240, quality=75)},
        {
            "key": "p2",
            "image": image_b64(not_in_library, 180, "WEBP", quality=50),
        },  # same photo, other encoding
        {"key": "p3", "image": image_b64(in_library, 200, quality=70)},  # a library photo
        {"key": "p4", "hashes": {k: hashes["hashes"][k] for k in ("phash", "dhash", "ahash", "whash")}},
        {
            "key": "p5",
            "image": image_b64(data_dir / B / "base_images/ukbench09380.jpg", 200),
        },
        {
            "key": "turned",
            "image": turned_b64(data_dir / B / "base_images/ukbench01380.jpg"),
        },  # found by r90/r270
        # not in library
        {"key": "grey1", "image": base64.b64encode(grey[0].getvalue()).decode()},
        {"key": "grey2", "image": base64.b64encode(grey[1].getvalue()).decode()},
        {"key": "bomb", "image": base64.b64encode(bomb.getvalue()).decode()},
        {"key": "junk", "image": base64.b64encode(b"not an image at all").decode()},
        {"key": "notb64", "image": "%%%%"},
        {"key": "nothing"},
    ]
    with Host(tmp, db=db) as host:
        r = host.call("match", {"items": items})
        assert r["page_groups"] == [{"keys": ["p1", "p2"], "kind": "same"}]
        lib = r["library"]
        assert set(lib) == {"p1", "p2", "p3", "p4", "p5", "turned", "grey1", "grey2"}
        turned = {"group_id": None, "item_ids": [ids["a/ukbench01380.jpg"]], "count": 1, "where": ["library"]}
        assert lib["turned"] == turned
        for key in ("p1", "p2", "p5", "grey1", "grey2"):
            assert lib[key] == {"group_id": None, "item_ids": [], "count": 0, "where": []}, key
        assert lib["p3"]["group_id"] == same["id"] and lib["p3"]["where"] == ["library"]
        assert (
            sorted(lib["p3"]["item_ids"]) == sorted(m["id"] for m in same["members"])
            and lib["p3"]["count"] == 3
        )
        assert lib["p4"] == {
            "group_id": None,
            "item_ids": [ids["a/ukbench09060.jpg"]],
            "count": 1,
            "where": ["library"],
        }
        assert set(r["errors"]) == {"bomb", "junk", "notb64", "nothing"}
        assert "too large" in r["errors"]["bomb"] and "base64" in r["errors"]["notb64"]
        assert "not an image" in r["errors"]["junk"]
        # The same bytes twice on a page are an exact pair; a copy of the library file is found by its bytes.
        original = base64.b64encode((tmp / "library/a/ukbench09012.jpg").read_bytes()).decode()
        r = host.call("match", {"items": [{"key": "x", "image": original}, {"key": "y", "image": original}]})
        assert r["page_groups"] == [{"keys": ["x", "y"], "kind": "exact"}]
        assert r["library"]["x"]["item_ids"] == [ids["a/ukbench09012.jpg"]]
        empty = {"page_groups": [], "library": {}, "errors": {}, "groups_pending": False}
        assert host.call("match", {"items": []}) == empty
        err = host.error(
            "match", {"items": [{"key": "a", "image": original}, {"key": "a", "image": original}]}
        )
        assert err["code"] == "bad_args"
        assert host.close() == 0


def test_match_refuses_images_over_512_kib_one_by_one(library, data_dir):
    tmp, db, _, _ = library
    big = (data_dir / "media/heic/IMG_0102.HEIC").read_bytes()  # 437,204 bytes: allowed
    assert len(big) < 512 * 1024
    noisy = io.BytesIO()
    Image.effect_noise((700, 700), 100).convert("RGB").save(noisy, "PNG")  # incompressible, > 512 KiB
    assert noisy.tell() > 512 * 1024
    with Host(tmp, db=db) as host:
        r = host.call("match", {"items": [{"key": "heic", "image": base64.b64encode(big).decode()}]})
        assert r["library"]["heic"]["count"] == 1 and r["errors"] == {}
        exactly = base64.b64encode(big + b"\0" * (512 * 1024 - len(big))).decode()  # 512 KiB: still judged
        over = base64.b64encode(noisy.getvalue()).decode()
        r = host.call("match", {"items": [{"key": "big", "image": over}, {"key": "max", "image": exactly}]})
        assert r["errors"] == {"big": "image is over the 524,288-byte limit"}  # that key alone
        assert r["library"]["max"]["count"] == 1  # bytes after the HEIC data do not matter
        assert host.close() == 0


def test_decisions_change_the_groups_the_cli_sees(own_library):
    tmp, db = own_library
    env = clean_env(tmp, PHOTODEDUP_HOST_LOG="INFO")
    with Host(tmp, db=db, env=env) as host:
        same = next(g for g in all_groups(host) if g["kind"] == "same")
        first = same["keeper_id"]  # the keeper the rules chose
        second, third = (i for i in same["member_ids"] if i != first)
        # keep: another copy becomes the keeper, here and in the CLI
        d = host.call("decide", {"kind": "keep", "group_id": same["id"], "item_id": third})
        assert d["decision"] == {"kind": "keep", "group_id": same["id"], "item_id": third, "undo": False}
        assert host.call("groups.list")["groups"][0]["keeper_id"] == third
        cli = next(g for g in cli_groups(tmp, db) if g["id"] == same["id"])
        assert [m["id"] for m in cli["members"] if m["keep"]] == [third]
        host.call(
            "decide", {"kind": "keep", "group_id": same["id"], "item_id": second}
        )  # replaces the first choice
        members = host.call("groups.get", {"group_id": same["id"]})["members"]
        assert [m["id"] for m in members if m["keep"]] == [second]
        host.call("decide", {"kind": "keep", "group_id": same["id"], "item_id": second, "undo": True})
        assert host.call("groups.list")["groups"][0]["keeper_id"] == first
        # skip: the group leaves the lists; undo brings it back
        host.call("decide", {"kind": "skip", "group_id": same["id"]})
        assert same["id"] not in {g["id"] for g in all_groups(host)}
        assert same["id"] not in {g["id"] for g in cli_groups(tmp, db)}
        host.call("decide", {"kind": "skip", "group_id": same["id"], "undo": True})
        assert same["id"] in {g["id"] for g in all_groups(host)}
        # not duplicates: the pair is never grouped again
        d = host.call("decide", {"kind": "not_duplicates", "item_ids": [third, first]})
        assert d["decision"] == {"kind": "not_duplicates", "item_ids": sorted([first, third]), "undo": False}
        listed = all_groups(host)
        assert not any({first, third} <= set(g["member_ids"]) for g in listed)
        assert {g["id"] for g in listed} == {g["id"] for g in cli_groups(tmp, db)}
        # wrong decisions
        assert (
            host.error("decide", {"kind": "keep", "group_id": "s000000000000", "item_id": first})["code"]
            == "not_found"
        )
        other = next(g for g in listed if first not in g["member_ids"])
        err = host.error("decide", {"kind": "keep", "group_id": other["id"], "item_id": first})
        assert err["code"] == "bad_args" and "not in group" in err["message"]
        assert (
            host.error("decide", {"kind": "not_duplicates", "item_ids": [first, 10_000]})["code"]
            == "not_found"
        )
        assert (
            host.error("decide", {"kind": "not_duplicates", "item_ids": [first, first]})["code"] == "bad_args"
        )
        assert host.close() == 0


def test_groups_are_computed_once_per_store_state(own_library):
    """The log says when the host groups: not again for an unchanged store, again after any change."""
    tmp, db = own_library
    env = clean_env(tmp, PHOTODEDUP_HOST_LOG="INFO")
    with Host(tmp, db=db, env=env) as host:

        def computations() -> int:
            return host.stderr().count("grouped the store")

        groups = host.call("groups.list")["groups"]
        host.call("groups.list")
        host.call("groups.get", {"group_id": groups[0]["id"]})
        host.call(
            "match",
            {
                "items": [
                    {
                        "key": "k",
                        "hashes": {
                            "phash": "f" * 16,
                            "dhash": "0" * 16,
                            "ahash": "1" * 16,
                            "whash": "2" * 16,
                        },
                    }
                ]
            },
        )
        host.call("status")
        assert computations() == 1
        host.call("decide", {"kind": "skip", "group_id": groups[1]["id"]})  # the host's own write
        host.call("groups.list")
        host.call("groups.list")
        assert computations() == 2
        # Another process: seen once the last grouping is older than five times its duration.
        took = float(re.findall(r"grouped the store: \d+ groups in ([\d.]+) s", host.stderr())[-1])
        r = run_cli("decide", "skip", groups[1]["id"], "--undo", "--db", str(db), env=clean_env(tmp))
        assert r.returncode == 0, r.stderr
        time.sleep(5 * took + 0.05)
        assert host.call("groups.list")["total"] == 2
        assert computations() == 3
        assert host.close() == 0


def test_match_answers_before_the_groups_of_a_big_library_are_ready(library, data_dir):
    """match waits for the groups at most PHOTODEDUP_HOST_GROUP_WAIT seconds (0 here): the copies come back
    at once, marked pending, without group ids; asked again once grouped, they have them."""
    tmp, db, _ids, cli = library
    same = next(g for g in cli if g["kind"] == "same")
    page = {"items": [{"key": "k", "image": image_b64(data_dir / B / "base_images/ukbench00120.jpg", 200)}]}
    env = clean_env(tmp, PHOTODEDUP_HOST_GROUP_WAIT="0", PHOTODEDUP_HOST_LOG="INFO")
    with Host(tmp, db=db, env=env) as host:
        first = host.call("match", page)
        assert first["groups_pending"] is True
        assert first["library"]["k"]["group_id"] is None and first["library"]["k"]["count"] == 3
        assert host.call("groups.list")["total"] == 2  # waits for the computation already running
        again = host.call("match", page)
        assert again["groups_pending"] is False and again["library"]["k"]["group_id"] == same["id"]
        assert again["library"]["k"]["item_ids"] == first["library"]["k"]["item_ids"]
        assert host.stderr().count("grouped the store") == 1
        assert host.close() == 0
