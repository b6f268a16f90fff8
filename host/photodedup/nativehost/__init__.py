"""``photodedup-host``: the native-messaging host the browser extension talks to (docs/native-protocol.md)."""
