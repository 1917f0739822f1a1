"""The Flow Production Tracking user signed in with FPT Login, for DCCs and scripts.

Standard library only; Python 3.7 and later (the Pythons Maya, Nuke and Houdini ship).

    import fpt_login

    sg = fpt_login.connect()                  # a shotgun_api3.Shotgun for the default site
    user = fpt_login.get_user(min_ttl=300)    # .site, .login, .session_token, .expires_at, ...

The client asks the FPT Login app over its private local socket. When the app is not running
it runs ``fpt-login token --json`` instead, which reads the OS keyring. Either way, a user who
must sign in first raises ``FptLoginError`` with ``sign_in_required`` set, so tools can say so
instead of showing a login prompt of their own.
"""

import json
import os
import socket
import stat
import subprocess
import threading

__all__ = ["FptLoginError", "User", "Client", "get_user", "connect", "socket_path"]

PROTOCOL_VERSION = 1
_TIMEOUT = 60.0


class FptLoginError(Exception):
    """Getting the user failed. ``kind`` is the app's machine-readable error kind;
    ``sign_in_required`` is true when the person has to sign in (again)."""

    def __init__(self, message, kind="internal"):
        super(FptLoginError, self).__init__(message)
        self.kind = kind
        self.sign_in_required = kind in ("sign_in_required", "cancelled", "sign_in_failed")


class User(object):
    """A site's default user: a person's session, or an API script (``kind == "script"``)."""

    def __init__(self, data):
        self.site = data["site"]
        self.kind = data.get("kind", "session")
        self.login = data.get("login")
        self.session_token = data.get("session_token")
        self.api_script = data.get("api_script")
        self.api_key = data.get("api_key")
        self.expires_at = data.get("expires_at")
        self.http_proxy = data.get("http_proxy")

    def shotgun_kwargs(self):
        """Keyword arguments for ``shotgun_api3.Shotgun(user.site, **kwargs)``."""
        if self.kind == "script":
            credentials = {"script_name": self.api_script, "api_key": self.api_key}
        else:
            credentials = {"session_token": self.session_token}
        if self.http_proxy:
            credentials["http_proxy"] = self.http_proxy
        return credentials

    def __repr__(self):
        who = "script %s" % self.api_script if self.kind == "script" else self.login
        # Never the token or key: reprs end up in logs.
        return "<fpt_login.User %s @ %s>" % (who, self.site)


def socket_path():
    """Where the FPT Login app listens, found the way the app finds it."""
    home = os.environ.get("FPT_LOGIN_HOME")
    if home:
        return os.path.join(home, "run", "fpt-login.sock")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "fpt-login", "fpt-login.sock")
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(tmp, "fpt-login-%d" % os.getuid())


def _check_private(folder):
    """Refuses a socket folder another user could have planted a socket in."""
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise FptLoginError(
            "%s is not a private folder of this user; refusing to use the socket in it" % folder
        )


class Client(object):
    """A connection to the FPT Login app, kept open between calls and safe to share between
    threads. Falls back to the ``fpt-login`` command when the app is not running."""

    def __init__(self, path=None, cli=None):
        self._path = path or socket_path()
        self._cli = cli or os.environ.get("FPT_LOGIN_CLI", "fpt-login")
        self._lock = threading.Lock()
        self._sock = None
        self._reader = None

    def close(self):
        with self._lock:
            self._drop()

    def _drop(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = self._reader = None

    def _connect(self):
        folder = os.path.dirname(self._path)
        if not os.path.exists(self._path):
            return False
        _check_private(folder)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(_TIMEOUT)
        try:
            sock.connect(self._path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            return False
        self._sock = sock
        self._reader = sock.makefile("rb")
        reply = self._exchange({"type": "hello", "version": PROTOCOL_VERSION, "client": "fpt_login.py"})
        if reply.get("type") != "hello":
            self._drop()
            raise FptLoginError(reply.get("message", "the app refused the connection"), reply.get("kind", "internal"))
        return True

    def _exchange(self, request):
        self._sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
        line = self._reader.readline()
        if not line:
            raise ConnectionResetError("the app closed the connection")
        return json.loads(line.decode("utf-8"))

    def request(self, request):
        """Sends one protocol request to the app; ``None`` when no app is running."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._sock is None and not self._connect():
                        return None
                    return self._exchange(request)
                except (OSError, ValueError):
                    # A restarted app: reconnect once.
                    self._drop()
                    if attempt == 2:
                        raise
        return None

    def get_user(self, site=None, min_ttl=None):
        request = {"type": "get_user"}
        if site:
            request["site"] = site
        if min_ttl is not None:
            request["min_ttl"] = int(min_ttl)
        reply = self.request(request)
        if reply is None:
            return self._get_user_from_cli(site, min_ttl)
        if reply.get("type") == "error":
            raise FptLoginError(reply.get("message", "unknown error"), reply.get("kind", "internal"))
        return User(reply)

    def _get_user_from_cli(self, site, min_ttl):
        command = [self._cli, "token", "--json"]
        if site:
            command += ["--site", site]
        if min_ttl is not None:
            command += ["--min-ttl", str(int(min_ttl))]
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                timeout=_TIMEOUT,
            )
        except OSError as error:
            raise FptLoginError(
                "the FPT Login app is not running and %s cannot be run (%s); install FPT Login or "
                "set FPT_LOGIN_CLI" % (self._cli, error)
            )
        message = done.stderr.decode("utf-8", "replace").strip()
        if message.startswith("fpt-login: "):
            message = message[len("fpt-login: "):]
        if done.returncode == 4:
            raise FptLoginError(message, "sign_in_required")
        if done.returncode != 0:
            raise FptLoginError(message or "fpt-login failed with exit code %d" % done.returncode)
        return User(json.loads(done.stdout.decode("utf-8")))


_default = Client()


def get_user(site=None, min_ttl=None):
    """The signed-in user of ``site`` (the default site when ``None``). With ``min_ttl`` (in
    seconds), a session known to end sooner is refused with ``sign_in_required``."""
    return _default.get_user(site, min_ttl)


def connect(site=None, min_ttl=None, **shotgun_kwargs):
    """A ``shotgun_api3.Shotgun`` signed in as the user, with the same proxy FPT Login uses.
    Extra keyword arguments go to ``Shotgun``."""
    import shotgun_api3

    user = get_user(site, min_ttl)
    kwargs = user.shotgun_kwargs()
    kwargs.update(shotgun_kwargs)
    return shotgun_api3.Shotgun(user.site, **kwargs)
