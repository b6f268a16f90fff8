"""A large library arrives complete through paging, and no reply comes near Chromium's 1 MiB limit.

The store is a real scan of one photo, grown with rows that copy its fingerprint row under new keys and
paths (111,000 items: 100 groups of 1,050 identical copies with long file names, 2,000 groups of three), so
the expected groups are known by construction.
"""

from __future__ import annotations

import sqlite3

import pytest
from nativehost_testkit import LIMIT, Host, clean_env, run_cli, scan_store

BIG, BIG_SIZE, SMALL, SMALL_SIZE = 100, 1050, 2000, 3
LONG = "a-rather-long-file-name-as-phones-and-exports-make-them-" * 3


@pytest.fixture(scope="module")
def big_library(tmp_path_factory, data_dir):
    tmp = tmp_path_factory.mktemp("big")
    folder, db = scan_store(
        tmp, data_dir, {"seed.jpg": "near-duplicates/imagededup/base_images/ukbench09012.jpg"}
    )
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    seed = dict(conn.execute("SELECT * FROM items").fetchone())
    columns = [c for c in seed if c != "id"]
    rows, expected = [], []
    for g, n in enumerate([BIG_SIZE] * BIG + [SMALL_SIZE] * SMALL):
        digest = f"{g + 1:064x}"
        expected.append(digest)
        for m in range(n):
            r = dict(
                seed,
                key=f"grown/{g}/{m}".encode(),
                path=f"{folder}/g{g:05d}/{LONG}{m:05d}.jpg",
                blake3=digest,
            )
            r.update(dict.fromkeys(("apple_fp", "phash", "dhash", "ahash", "whash", "phash_r90", "phash_r180",
                                    "phash_r270", "phash_trim"), None))  # fmt: skip
            rows.append([r[c] for c in columns])
    with conn:
        conn.executemany(
            f"INSERT INTO items ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})", rows
        )
    members = {}
    for item_id, digest in conn.execute("SELECT id, blake3 FROM items WHERE id != ?", [seed["id"]]):
        members.setdefault(digest, set()).add(item_id)
    conn.close()
    return tmp, db, [frozenset(members[d]) for d in expected]


def test_every_group_arrives_through_paging_and_every_reply_is_under_the_limit(big_library):
    tmp, db, expected = big_library
    with Host(tmp, db=db, env=clean_env(tmp, PHOTODEDUP_HOST_LOG="INFO")) as host:
        listed, offset, pages = [], 0, 0
        while offset is not None:
            page = host.call("groups.list", {"offset": offset, "limit": 200}, timeout=300)
            assert page["offset"] == offset and page["total"] == BIG + SMALL
            assert page["groups"], page  # always progress
            listed += page["groups"]
            offset = page["next_offset"]
            pages += 1
        assert max(host.sizes) < LIMIT
        assert max(host.sizes) > 600_000  # pages of the big groups are cut by bytes, near the limit
        assert pages > (BIG + SMALL) / 200  # so there are more pages than the count alone needs
        assert len(listed) == len({g["id"] for g in listed}) == BIG + SMALL
        assert [g["size"] for g in listed] == [BIG_SIZE] * BIG + [SMALL_SIZE] * SMALL  # largest first
        big = [g for g in listed if g["size"] == BIG_SIZE]
        assert all(len(g["member_ids"]) == 1000 and not g["member_ids_complete"] for g in big)
        small = [frozenset(g["member_ids"]) for g in listed if g["size"] == SMALL_SIZE]
        assert all(g["member_ids_complete"] for g in listed if g["size"] == SMALL_SIZE)
        assert set(small) == set(expected[BIG:])
        assert all(g["kind"] == "exact" and g["keeper_id"] == min(g["member_ids"]) for g in listed)

        # The default page size walks the same list in the same order.
        again, offset = [], 0
        while offset is not None:
            page = host.call("groups.list", {"offset": offset})
            again += [g["id"] for g in page["groups"]]
            offset = page["next_offset"]
        assert again == [g["id"] for g in listed]

        # Every member of a big group, through groups.get pages.
        for g in big[:3]:
            got, at = [], 0
            while at is not None:
                detail = host.call(
                    "groups.get", {"group_id": g["id"], "member_offset": at, "member_limit": 2000}
                )
                assert detail["size"] == BIG_SIZE and detail["members"]
                got += [m["id"] for m in detail["members"]]
                at = detail["next_member_offset"]
            assert len(got) == BIG_SIZE and frozenset(got) in set(expected[:BIG])
            assert set(g["member_ids"]) < set(got)
        assert max(host.sizes) < LIMIT

        # Another process changes the store right after a long grouping: the groups just computed are
        # served for a while (five times the grouping's duration) instead of grouping again at once.
        assert host.stderr().count("grouped the store") == 1
        r = run_cli("decide", "skip", big[0]["id"], "--db", str(db), env=clean_env(tmp))
        assert r.returncode == 0, r.stderr
        assert host.call("groups.list", {"limit": 1})["total"] == BIG + SMALL
        assert host.stderr().count("grouped the store") == 1
        assert host.close() == 0
