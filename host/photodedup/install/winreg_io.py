"""The Windows registry, for the keys that point each browser at our manifest. Windows only (``winreg``).

Chromium and Firefox read the 64-bit view first on 64-bit Windows; we write there (KEY_WOW64_64KEY).
Not run by the test suite (it runs on Linux): the key names come from tested pure functions in browsers.py.
"""

from __future__ import annotations

import sys

__all__ = ["delete_key", "get_default", "set_default"]


def _winreg():
    if sys.platform != "win32":
        raise OSError("the Windows registry is only on Windows")
    import winreg

    return winreg


def _hive(winreg, hive: str):
    return winreg.HKEY_CURRENT_USER if hive == "HKCU" else winreg.HKEY_LOCAL_MACHINE


def set_default(hive: str, key: str, value: str) -> None:
    winreg = _winreg()
    access = winreg.KEY_WRITE | winreg.KEY_WOW64_64KEY
    with winreg.CreateKeyEx(_hive(winreg, hive), key, 0, access) as k:
        winreg.SetValueEx(k, "", 0, winreg.REG_SZ, value)


def get_default(hive: str, key: str) -> str | None:
    if sys.platform != "win32":
        return None
    winreg = _winreg()
    try:
        with winreg.OpenKeyEx(_hive(winreg, hive), key, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY) as k:
            value, _ = winreg.QueryValueEx(k, "")
            return str(value)
    except OSError:
        return None


def delete_key(hive: str, key: str) -> None:
    winreg = _winreg()
    winreg.DeleteKeyEx(_hive(winreg, hive), key, winreg.KEY_WOW64_64KEY, 0)
