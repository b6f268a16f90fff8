"""Who may talk to the host: the extension ids shipped with photodedup, and those the installer recorded."""

from __future__ import annotations

import json

import pytest
from nativehost_testkit import CHROME_ID, FIREFOX_ID, ORIGIN, Host, clean_env


def refused(host: Host) -> dict:
    """A refused caller gets exactly one forbidden_origin frame and exit code 2, whatever it sends."""
    host.send(b"\x10\x00\x00\x00" + b'{"cmd":"hello"} ')
    reply = host.recv()
    assert host.close() == 2
    assert reply["ok"] is False and reply["id"] is None and reply["error"]["code"] == "forbidden_origin"
    return reply["error"]


def answers(host: Host) -> bool:
    ok = host.call("hello")["protocol"] == 1
    return ok and host.close() == 0


@pytest.mark.parametrize(
    "caller",
    [
        [ORIGIN],  # Chromium
        [ORIGIN, "--parent-window=0"],  # Chromium on Windows adds the parent window
        ["/home/u/.mozilla/native-messaging-hosts/org.photodedup.host.json", FIREFOX_ID],  # Firefox
    ],
)
def test_shipped_extension_ids_are_answered(tmp_path, caller):
    with Host(tmp_path, *caller, db=tmp_path / "s.db") as host:
        assert answers(host)


@pytest.mark.parametrize(
    "caller",
    [
        ["chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"],  # another Chromium extension
        [f"chrome-extension://{CHROME_ID}"],  # no trailing slash: not what Chromium passes
        [f"chrome-extension://{CHROME_ID}/evil/"],
        [f"chrome-extension://{CHROME_ID.upper()}/"],
        [f"moz-extension://{CHROME_ID}/"],
        [
            "/home/u/.mozilla/native-messaging-hosts/org.photodedup.host.json",
            "evil@example.org",
        ],  # Firefox form
        ["/home/u/.mozilla/native-messaging-hosts/org.photodedup.host.json", ""],
        [FIREFOX_ID],  # the id alone, where Firefox puts the manifest path first
        [],  # started by hand with no caller
    ],
)
def test_other_callers_are_refused(tmp_path, caller):
    with Host(tmp_path, *caller, db=tmp_path / "s.db", bare=not caller) as host:
        message = refused(host)
        assert "may not use this host" in message["message"]
    assert not (tmp_path / "s.db").exists()  # refused before touching the store


def test_ids_recorded_by_the_installer_are_answered(tmp_path):
    """host.json in the platform config folder (XDG_CONFIG_HOME here), or named by PHOTODEDUP_HOST_CONFIG."""
    extra_chrome, extra_firefox = "b" * 32, "{12345678-1234-1234-1234-123456789abc}"
    config = tmp_path / "config" / "photodedup" / "host.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"allowed_extension_ids": [extra_chrome, extra_firefox]}))
    with Host(tmp_path, f"chrome-extension://{extra_chrome}/", db=tmp_path / "s.db") as host:
        assert answers(host)
    with Host(tmp_path, "/x/org.photodedup.host.json", extra_firefox, db=tmp_path / "s.db") as host:
        assert answers(host)
    with Host(tmp_path, ORIGIN, db=tmp_path / "s.db") as host:  # the shipped ids still count
        assert answers(host)
    with Host(tmp_path, "chrome-extension://" + "c" * 32 + "/", db=tmp_path / "s.db") as host:
        refused(host)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"allowed_extension_ids": ["c" * 32]}))
    env = clean_env(tmp_path, PHOTODEDUP_HOST_CONFIG=str(elsewhere))
    with Host(tmp_path, "chrome-extension://" + "c" * 32 + "/", db=tmp_path / "s.db", env=env) as host:
        assert answers(host)
    with Host(tmp_path, f"chrome-extension://{extra_chrome}/", db=tmp_path / "s.db", env=env) as host:
        refused(host)  # that file replaces the default one


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"allowed_extension_ids": "abc"}', '{"allowed_extension_ids": [1]}']
)
def test_a_damaged_host_config_adds_nothing_and_breaks_nothing(tmp_path, content):
    config = tmp_path / "config" / "photodedup" / "host.json"
    config.parent.mkdir(parents=True)
    config.write_text(content)
    with Host(tmp_path, ORIGIN, db=tmp_path / "s.db") as host:
        assert answers(host)
    with Host(tmp_path, "chrome-extension://" + "a" * 32 + "/", db=tmp_path / "s.db") as host:
        refused(host)


def test_store_comes_from_option_then_env_then_the_cli_default(tmp_path):
    env = clean_env(tmp_path, XDG_DATA_HOME=str(tmp_path / "data"))
    env_db = dict(env, PHOTODEDUP_DB=str(tmp_path / "from-env.db"))
    for db, environment in ((tmp_path / "from-option.db", env_db), (None, env_db), (None, env)):
        with Host(tmp_path, ORIGIN, db=db, env=environment) as host:
            assert host.call("status")["items"]["total"] == 0
            assert host.close() == 0
    assert (tmp_path / "from-option.db").exists() and (tmp_path / "from-env.db").exists()
    assert (tmp_path / "data" / "photodedup" / "photodedup.db").exists()  # where `photodedup scan` puts it
