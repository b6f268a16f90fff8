"""Registering the native-messaging host with the browsers: `install-host`, `uninstall-host`, `doctor`."""
