"""The Flow Production Tracking user signed in with FPT Login, for DCCs and scripts.

Standard library only; Python 3.7 and later (the Pythons Maya, Nuke and Houdini ship).

    import fpt_login

    sg = fpt_login.connect()                  # a shotgun_api3.Shotgun for the default site
    user = fpt_login.get_user(min_ttl=300)    # .site, .login, .session_token, .expires_at, ...
    token = fpt_login.get_rest_token()        # .access_token, .expires_at: a REST API token
    headers = fpt_login.rest_headers()        # {"Authorization": "Bearer ..."}

``connect()`` returns a ``shotgun_api3.Shotgun`` that recovers instead of prompting: when a
call fails because the site refused the session (error 102, or the SAML claims lapsed), it asks
FPT Login for the current user and repeats that call once with the new credentials. When there
is nobody usable, it asks the app to show its "needs attention" notification and raises
``FptLoginError`` with ``sign_in_required``: never a prompt, never a second retry.

The client asks the FPT Login app over its private local socket. When the app is not running
it runs ``fpt-login token --json`` instead, which reads the OS keyring. Either way, a user who
must sign in first raises ``FptLoginError`` with ``sign_in_required`` set, so tools can say so
instead of showing a login prompt of their own. Anything else that goes wrong, including a
reply the client does not understand, also raises ``FptLoginError``; its message says what
came back, never a token or key.

How long it waits:

- A request waits up to 60 s for the app's answer.
- A request with ``min_ttl`` may make the app renew the session first, and a renewal can take
  one call to the site (up to 30 s), the silent renewal itself (the app's ``renew-timeout``,
  30 s unless ``fpt-login settings set renew-timeout`` changed it, read from the app's
  settings file) and one more call to the site to check the result (up to 30 s). Such a
  request waits that long plus 60 s: 150 s with the default settings. Callers asking while a
  renewal is under way share it.
- A ``min_ttl`` request is never sent again on its own: when it times out or the app drops
  the connection before answering, ``FptLoginError`` says so, and the renewal it may have
  started carries on in the app. Sending it again could start a second renewal. The same goes
  for ``get_rest_token`` (the app may be refreshing the REST token, or renewing first) and for
  the ``session_refused`` report ``connect()`` sends.

Threads share one connection; a forked child (``os.fork``, ``multiprocessing``) opens its
own connection and lock the first time it asks, and never uses its parent's.
"""

import json
import os
import re
import socket
import stat
import struct
import subprocess
import sys
import threading
import weakref

__all__ = [
    "FptLoginError", "User", "RestToken", "Client", "get_user", "get_rest_token", "rest_headers",
    "connect", "socket_path",
]

PROTOCOL_VERSION = 1

# How long an ordinary request may take: the app answers from memory and the OS keyring.
_REQUEST_TIMEOUT = 60.0
# The app gives up on one call to a site after this long (its HTTP client's timeout).
_SITE_CALL_TIMEOUT = 30.0
# The app's renew-timeout when its settings do not set one.
_DEFAULT_RENEW_TIMEOUT = 30
# A renew-timeout beyond a day is a typo, not a slow IdP; waiting longer helps nobody.
_MAX_RENEW_TIMEOUT = 24 * 3600
# The longest reply line read, as in the app's own client: a get_user reply is well under a
# kilobyte, a status reply with every site and recent user a few.
_MAX_REPLY = 1024 * 1024
# The settings file is read for one number; a bigger one is not the app's.
_MAX_SETTINGS = 1024 * 1024

# The app's folder name and socket file (crates/core/src/paths.rs).
_APP_DIR = "fpt-login"
_SOCKET_FILE = "fpt-login.sock"
# confstr's _CS_DARWIN_USER_TEMP_DIR, which Python's os module does not name.
_CS_DARWIN_USER_TEMP_DIR = 65537


class FptLoginError(Exception):
    """Getting the user failed. ``kind`` is the app's machine-readable error kind;
    ``sign_in_required`` is true when the person has to sign in (again)."""

    def __init__(self, message, kind="internal"):
        super(FptLoginError, self).__init__(message)
        self.kind = kind
        self.sign_in_required = kind in ("sign_in_required", "cancelled", "sign_in_failed")


# The protocol's field names, which messages may show (crates/core/src/protocol.rs).
_KNOWN_FIELDS = frozenset((
    "type", "site", "kind", "login", "session_token", "api_script", "api_key", "expires_at",
    "http_proxy", "message", "version", "server", "pid", "default_site", "sites", "sessions",
    "event", "token_type", "access_token",
))


def _fields(data):
    """Names the keys of a reply, for messages: never values (they may be secrets), nor keys
    the protocol does not have (a broken reply's keys may be anything)."""
    known = sorted(key for key in data if key in _KNOWN_FIELDS)
    others = len(data) - len(known)
    if others:
        known.append("%d other%s" % (others, "" if others == 1 else "s"))
    return ", ".join(known) or "none"


def _describe(value):
    """What came back, for messages: a reply's type and keys, never its values."""
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str):
            return "a %r reply (keys: %s)" % (kind, _fields(value))
        return "an object without a type (keys: %s)" % _fields(value)
    return "JSON %s" % type(value).__name__


# Runs of token-like characters: a reply cut short may hold part of a token or key.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9_\-+/=.~%]{12,}")


def _preview(raw):
    """The start of a line that is not JSON, with anything that could be a secret masked."""
    text = raw[:60].decode("utf-8", "replace")
    return repr(_SECRET_LIKE.sub("...", text))


class User(object):
    """A site's default user: a person's session, or an API script (``kind == "script"``).

    Built from the app's (or ``fpt-login token --json``'s) user object; anything else raises
    ``FptLoginError``."""

    def __init__(self, data):
        if not isinstance(data, dict):
            raise FptLoginError("expected a user, got %s" % _describe(data))
        self.kind = data.get("kind", "session")
        if self.kind == "session":
            required = ("site", "login", "session_token")
        elif self.kind == "script":
            required = ("site", "api_script", "api_key")
        else:
            raise FptLoginError(
                "expected a user of kind 'session' or 'script', got %s" % _describe(data)
            )
        for key in required:
            if not isinstance(data.get(key), str) or not data[key]:
                raise FptLoginError(
                    "expected a %s user with %r, got %s" % (self.kind, key, _describe(data))
                )
        expires_at = data.get("expires_at")
        if expires_at is not None and (
            isinstance(expires_at, bool) or not isinstance(expires_at, int)
        ):
            raise FptLoginError(
                "expected expires_at in epoch seconds or null, got %s" % type(expires_at).__name__
            )
        http_proxy = data.get("http_proxy")
        if http_proxy is not None and not isinstance(http_proxy, str):
            raise FptLoginError(
                "expected http_proxy as text or null, got %s" % type(http_proxy).__name__
            )
        self.site = data["site"]
        self.login = data.get("login")
        self.session_token = data.get("session_token")
        self.api_script = data.get("api_script")
        self.api_key = data.get("api_key")
        self.expires_at = expires_at
        self.http_proxy = http_proxy

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


class RestToken(object):
    """A REST API access token for a site's default user (``kind`` ``"session"`` with
    ``login``, or ``"script"`` with ``api_script``): send it as ``Authorization: Bearer``."""

    def __init__(self, data):
        if not isinstance(data, dict):
            raise FptLoginError("expected a REST token, got %s" % _describe(data))
        self.kind = data.get("kind")
        who = {"session": "login", "script": "api_script"}.get(self.kind)
        if who is None:
            raise FptLoginError(
                "expected a REST token of kind 'session' or 'script', got %s" % _describe(data)
            )
        for key in ("site", who, "access_token"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise FptLoginError("expected a REST token with %r, got %s" % (key, _describe(data)))
        if data.get("token_type") != "Bearer":
            raise FptLoginError("expected a Bearer token, got %s" % _describe(data))
        expires_at = data.get("expires_at")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int):
            raise FptLoginError("expected expires_at in epoch seconds, got %s" % _describe(data))
        self.site = data["site"]
        self.login = data.get("login")
        self.api_script = data.get("api_script")
        self.token_type = data["token_type"]
        self.access_token = data["access_token"]
        self.expires_at = expires_at

    def headers(self):
        """``{"Authorization": "Bearer <access_token>"}``."""
        return {"Authorization": "Bearer %s" % self.access_token}

    def __repr__(self):
        who = "script %s" % self.api_script if self.kind == "script" else self.login
        # Never the token: reprs end up in logs.
        return "<fpt_login.RestToken %s @ %s>" % (who, self.site)


def _temp_dir():
    """The temporary folder as the app (Rust's ``std::env::temp_dir``) finds it: ``TMPDIR``
    whenever it is set, else the per-user folder on macOS, else /tmp — and /tmp when that is
    not an absolute path (platform/runtime.rs ``fallback_runtime_dir``)."""
    tmp = os.environ.get("TMPDIR")
    if tmp is not None:
        return tmp if os.path.isabs(tmp) else "/tmp"
    if sys.platform == "darwin":
        try:
            tmp = os.confstr(_CS_DARWIN_USER_TEMP_DIR)
        except (OSError, ValueError):
            tmp = None
        if tmp:
            return tmp
    return "/tmp"


def _runtime_dir():
    """The app's runtime folder (crates/core/src/paths.rs and platform/runtime.rs)."""
    home = os.environ.get("FPT_LOGIN_HOME")
    if home:
        return os.path.join(home, "run")
    # The app takes XDG_RUNTIME_DIR only where the XDG layout applies, and only an absolute
    # one; otherwise a folder of its own in the temporary folder.
    if sys.platform != "darwin":
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime and os.path.isabs(runtime):
            return os.path.join(runtime, _APP_DIR)
    return os.path.join(_temp_dir(), "%s-%d" % (_APP_DIR, os.getuid()))


def socket_path():
    """Where the FPT Login app listens, found the way the app finds it."""
    return os.path.join(_runtime_dir(), _SOCKET_FILE)


def _settings_file():
    """The app's settings file (crates/core/src/paths.rs)."""
    home = os.environ.get("FPT_LOGIN_HOME")
    if home:
        return os.path.join(home, "settings.json")
    if sys.platform == "darwin":
        config = os.path.join(os.path.expanduser("~"), "Library", "Application Support")
    else:
        config = os.environ.get("XDG_CONFIG_HOME")
        if not (config and os.path.isabs(config)):
            config = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(config, _APP_DIR, "settings.json")


def _renew_timeout():
    """The app's renew-timeout in seconds, as its settings say; the default when they cannot
    be read (the app then uses its default too)."""
    try:
        with open(_settings_file(), "rb") as settings:
            text = settings.read(_MAX_SETTINGS + 1)
        if len(text) > _MAX_SETTINGS:
            return _DEFAULT_RENEW_TIMEOUT
        value = json.loads(text.decode("utf-8")).get("renew_timeout")
    except (OSError, ValueError, AttributeError):
        return _DEFAULT_RENEW_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return _DEFAULT_RENEW_TIMEOUT
    return min(max(value, 1), _MAX_RENEW_TIMEOUT)


def _renewal_timeout():
    """How long a ``min_ttl`` request may take: a worst-case renewal (a site call, the silent
    renewal, a site call to check it) plus what an ordinary request may take."""
    return _REQUEST_TIMEOUT + 2 * _SITE_CALL_TIMEOUT + _renew_timeout()


def _check_private(folder):
    """Refuses a socket folder another user could have planted a socket in."""
    try:
        info = os.lstat(folder)
    except OSError as error:
        raise FptLoginError("cannot check the socket folder %s: %s" % (folder, error))
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise FptLoginError(
            "%s is not a private folder of this user; refusing to use the socket in it" % folder
        )


def _check_server(sock, path):
    """Refuses a server run by another user, before anything is sent to it. Linux tells who
    listens (``SO_PEERCRED``); elsewhere the private folder is the guard."""
    if not hasattr(socket, "SO_PEERCRED"):
        return
    try:
        # struct ucred: pid_t pid, uid_t uid, gid_t gid (uids are unsigned).
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("iII"))
        uid = struct.unpack("iII", creds)[1]
    except (OSError, struct.error) as error:
        sock.close()
        raise FptLoginError("cannot tell who serves %s: %s" % (path, error))
    if uid != os.getuid():
        sock.close()
        raise FptLoginError(
            "%s is served by uid %d, not by this user; refusing to talk to it" % (path, uid)
        )


def _is_renewal(request):
    """Whether the app may renew a session (or spend a REST refresh token) to answer
    ``request``."""
    kind = request.get("type")
    if kind in ("get_rest_token", "session_refused"):
        return True
    return kind == "get_user" and request.get("min_ttl") is not None


# Every client, so that a forked child can drop its parent's connections (os.register_at_fork).
_clients = weakref.WeakSet()
# What a child inherited and must never finalise: a parent's thread may have held the reader's
# internal lock at the fork, and closing the reader would then wait for ever.
_inherited = []


def _after_fork_in_child():
    for client in list(_clients):
        client._leave_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

# Writing to an app that has gone must raise, not kill the process: embedding programs do not
# always ignore SIGPIPE as Python does.
_SEND_FLAGS = getattr(socket, "MSG_NOSIGNAL", 0)


class _Undelivered(Exception):
    """A request could not be sent: the app never saw it."""


class _Closed(FptLoginError):
    """The app closed the connection before answering."""


class Client(object):
    """A connection to the FPT Login app, kept open between calls and safe to share between
    threads; a forked child gets its own. Falls back to the ``fpt-login`` command when the app
    is not running."""

    def __init__(self, path=None, cli=None):
        self._path = path or socket_path()
        self._cli = cli or os.environ.get("FPT_LOGIN_CLI", "fpt-login")
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._sock = None
        self._reader = None
        _clients.add(self)

    def _leave_parent(self):
        """In a forked child: a lock and no connection of its own. The parent's connection is
        closed here (its file descriptor only; the parent's stays open) and never used."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        if self._sock is not None:
            _inherited.append((self._sock, self._reader))
            try:
                os.close(self._sock.detach())
            except OSError:
                pass
        self._sock = self._reader = None

    def _own(self):
        # A fork the at-fork hook did not see (a C extension calling fork()), or Pythons
        # without the hook.
        if self._pid != os.getpid():
            self._leave_parent()

    def close(self):
        self._own()
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
        """Connects and says hello; ``False`` when no app listens."""
        try:
            os.lstat(self._path)
        except OSError:
            return False
        _check_private(os.path.dirname(self._path))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(_REQUEST_TIMEOUT)
        if sys.platform == "darwin":
            try:
                sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_NOSIGPIPE", 0x1022), 1)
            except OSError:
                pass
        try:
            sock.connect(self._path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            return False
        except OSError as error:
            sock.close()
            raise FptLoginError(
                "cannot connect to the FPT Login app at %s: %s" % (self._path, error)
            )
        _check_server(sock, self._path)
        self._sock = sock
        self._reader = sock.makefile("rb")
        hello = {"type": "hello", "version": PROTOCOL_VERSION, "client": "fpt_login.py"}
        try:
            self._send(hello)
            reply = self._receive()
        except _Undelivered as error:
            self._drop()
            raise FptLoginError("cannot talk to the FPT Login app at %s: %s" % (self._path, error))
        except FptLoginError:
            self._drop()
            raise
        kind = reply.get("type")
        if kind == "hello":
            return True
        self._drop()
        if kind == "error":
            raise self._error(reply)
        raise FptLoginError("the FPT Login app answered hello with %s" % _describe(reply))

    def _send(self, request):
        try:
            self._sock.sendall(json.dumps(request).encode("utf-8") + b"\n", _SEND_FLAGS)
        except OSError as error:
            raise _Undelivered(str(error) or type(error).__name__)

    def _receive(self):
        """The next reply line as a JSON object, read within the socket's timeout. Anything else
        raises ``FptLoginError``; the connection is then out of step and must be dropped."""
        try:
            line = self._reader.readline(_MAX_REPLY + 1)
        except socket.timeout:
            raise FptLoginError(
                "the FPT Login app did not answer within %d s" % self._sock.gettimeout()
            )
        except OSError as error:
            raise FptLoginError("the connection to the FPT Login app failed: %s" % error)
        if not line:
            raise _Closed("the FPT Login app closed the connection without answering")
        if len(line) > _MAX_REPLY:
            raise FptLoginError(
                "the FPT Login app sent a reply line longer than %d bytes; not read further"
                % _MAX_REPLY
            )
        if not line.endswith(b"\n"):
            raise FptLoginError(
                "the FPT Login app closed the connection in the middle of a reply (%d bytes)"
                % len(line)
            )
        try:
            reply = json.loads(line.decode("utf-8"))
        except ValueError:
            raise FptLoginError(
                "the FPT Login app sent %d bytes that are not JSON, starting %s"
                % (len(line), _preview(line))
            )
        if not isinstance(reply, dict) or not isinstance(reply.get("type"), str):
            raise FptLoginError(
                "the FPT Login app sent %s instead of a reply with a type" % _describe(reply)
            )
        return reply

    @staticmethod
    def _error(reply):
        message, kind = reply.get("message"), reply.get("kind")
        if not isinstance(message, str) or not isinstance(kind, str):
            return FptLoginError(
                "the FPT Login app sent an error without a message and kind: %s" % _describe(reply)
            )
        return FptLoginError(message, kind)

    def request(self, request):
        """Sends one protocol request to the app and returns its reply (a JSON object with a
        ``type``); ``None`` when no app is running. A request that may start a renewal
        (``get_user`` with ``min_ttl``) waits for a worst-case renewal and is never sent again
        once the app may have seen it; any other is sent again once when the connection turns
        out to be from an app that has since restarted."""
        renewal = _is_renewal(request)
        timeout = _renewal_timeout() if renewal else _REQUEST_TIMEOUT
        self._own()
        with self._lock:
            for attempt in (1, 2):
                reused = self._sock is not None
                if not reused and not self._connect():
                    return None
                try:
                    # Set before sending: the wait starts when the app may start working.
                    if self._sock.gettimeout() != timeout:
                        self._sock.settimeout(timeout)
                    self._send(request)
                except _Undelivered as error:
                    self._drop()
                    if reused and attempt == 1:
                        continue
                    raise FptLoginError("cannot send to the FPT Login app: %s" % error)
                try:
                    return self._receive()
                except FptLoginError as error:
                    # Whatever comes next on this connection would answer this request.
                    self._drop()
                    if renewal:
                        raise FptLoginError(
                            "%s; not asking again, as the app may be renewing the session "
                            "(a later request shares that renewal)" % error
                        )
                    # An app that restarted since the last request, for a request that is
                    # safe to send twice.
                    if reused and attempt == 1 and isinstance(error, _Closed):
                        continue
                    raise
        return None

    def _ask(self, kind, expected, site, min_ttl):
        """Sends a ``kind`` request for ``site`` with ``min_ttl``; the reply when it is of the
        ``expected`` type, ``None`` when no app runs, ``FptLoginError`` otherwise."""
        request = {"type": kind}
        if site:
            request["site"] = site
        if min_ttl is not None:
            request["min_ttl"] = int(min_ttl)
        reply = self.request(request)
        if reply is None:
            return None
        if reply["type"] == "error":
            raise self._error(reply)
        if reply["type"] != expected:
            raise FptLoginError(
                "expected a '%s' reply from the FPT Login app, got %s"
                % (expected, _describe(reply))
            )
        return reply

    def get_user(self, site=None, min_ttl=None):
        reply = self._ask("get_user", "user", site, min_ttl)
        if reply is None:
            return self._get_user_from_cli(site, min_ttl)
        return User(reply)

    def get_rest_token(self, site=None, min_ttl=None):
        reply = self._ask("get_rest_token", "rest_token", site, min_ttl)
        if reply is None:
            return RestToken(self._from_cli(["--rest"], site, min_ttl, True))
        return RestToken(reply)

    def session_refused(self, site=None):
        """Tells the app the site refused the session this process was handed. The app checks
        the current session itself and returns the user to carry on with; when nobody usable
        is left it shows its needs-attention notification and this raises ``FptLoginError``
        with ``sign_in_required``."""
        request = {"type": "session_refused"}
        if site:
            request["site"] = site
        reply = self.request(request)
        if reply is None:
            raise FptLoginError(
                "the site refused the session and the FPT Login app is not running to renew it; "
                "sign in with FPT Login",
                "sign_in_required",
            )
        if reply["type"] == "error":
            raise self._error(reply)
        if reply["type"] != "user":
            raise FptLoginError(
                "expected a 'user' reply from the FPT Login app, got %s" % _describe(reply)
            )
        return User(reply)

    def _get_user_from_cli(self, site, min_ttl):
        return User(self._from_cli([], site, min_ttl, min_ttl is not None))

    def _from_cli(self, extra, site, min_ttl, slow):
        """What ``fpt-login token --json EXTRA`` prints, as JSON."""
        command = [self._cli, "token", "--json"] + extra
        if site:
            command += ["--site", site]
        if min_ttl is not None:
            command += ["--min-ttl", str(int(min_ttl))]
        timeout = _renewal_timeout() if slow else _REQUEST_TIMEOUT
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise FptLoginError("%s did not finish within %d s" % (" ".join(command), timeout))
        except OSError as error:
            raise FptLoginError(
                "the FPT Login app is not running and %s cannot be run (%s); install FPT Login or "
                "set FPT_LOGIN_CLI" % (self._cli, error)
            )
        message = done.stderr[:_MAX_REPLY].decode("utf-8", "replace").strip()
        if message.startswith("fpt-login: "):
            message = message[len("fpt-login: "):]
        if done.returncode == 4:
            raise FptLoginError(message, "sign_in_required")
        if done.returncode != 0:
            raise FptLoginError(message or "fpt-login failed with exit code %d" % done.returncode)
        if len(done.stdout) > _MAX_REPLY:
            raise FptLoginError("%s printed more than %d bytes" % (self._cli, _MAX_REPLY))
        try:
            return json.loads(done.stdout.decode("utf-8"))
        except ValueError:
            raise FptLoginError(
                "%s printed %d bytes that are not JSON, starting %s"
                % (self._cli, len(done.stdout), _preview(done.stdout))
            )


_default = Client()


def get_user(site=None, min_ttl=None):
    """The signed-in user of ``site`` (the default site when ``None``). With ``min_ttl`` (in
    seconds), the app renews a session known to end sooner first (waiting up to the time a
    renewal may take, see the module's documentation), and refuses it with
    ``sign_in_required`` when it cannot."""
    return _default.get_user(site, min_ttl)


def get_rest_token(site=None, min_ttl=None):
    """A REST API access token for the signed-in user of ``site`` (the default site when
    ``None``) with at least ``min_ttl`` seconds left (60 when ``None``). The app hands the same
    token to every caller until then; without the app, ``fpt-login`` mints one per call."""
    return _default.get_rest_token(site, min_ttl)


def rest_headers(site=None):
    """``{"Authorization": "Bearer <token>"}`` for the REST API of ``site``."""
    return get_rest_token(site).headers()


def _credentials(user):
    """What a user authenticates with, to compare two answers."""
    if user.kind == "script":
        return ("script", user.api_script, user.api_key)
    return ("session", user.login, user.session_token)


def _identity(user):
    """Who a user is, whatever the token: a person's login or a script's name."""
    return _credentials(user)[:2]


def _is_session_refusal(shotgun_api3, error):
    """Whether a failed call means the site refused the session: error 102
    (``AuthenticationFault``), or the 302 to the IdP of lapsed SAML claims, which
    ``shotgun_api3`` raises as a ``ProtocolError`` with the redirect's headers."""
    if isinstance(error, shotgun_api3.AuthenticationFault):
        return True
    if isinstance(error, shotgun_api3.ProtocolError) and error.errcode == 302:
        headers = error.headers if isinstance(error.headers, dict) else {}
        return "/saml/saml_login_request" in str(headers.get("location", ""))
    return False


_shotgun_class = None
_shotgun_class_lock = threading.Lock()


def _recovering_shotgun():
    """The ``shotgun_api3.Shotgun`` subclass ``connect`` returns, made on first use so that
    importing this module never needs ``shotgun_api3``."""
    global _shotgun_class
    with _shotgun_class_lock:
        if _shotgun_class is not None:
            return _shotgun_class
        import shotgun_api3

        class Shotgun(shotgun_api3.Shotgun):
            """A ``shotgun_api3.Shotgun`` whose calls survive a session the site refused: the
            call is repeated once with the user FPT Login has now."""

            _fpt_login_client = None
            _fpt_login_site = None
            _fpt_login_min_ttl = None

            def _call_rpc(self, *args, **kwargs):
                try:
                    return super(Shotgun, self)._call_rpc(*args, **kwargs)
                except Exception as error:
                    if self._fpt_login_client is None or not _is_session_refusal(
                        shotgun_api3, error
                    ):
                        raise
                # Outside the handler: a failure to recover is not "during" the refusal.
                self._fpt_login_recover()
                return super(Shotgun, self)._call_rpc(*args, **kwargs)

            def _fpt_login_recover(self):
                client, site = self._fpt_login_client, self._fpt_login_site
                refused = self._fpt_login_credentials()
                try:
                    user = client.get_user(site, self._fpt_login_min_ttl)
                except FptLoginError as error:
                    if not error.sign_in_required:
                        raise
                    user = None
                if user is None or _credentials(user) == refused:
                    # Nothing newer: the app checks the session itself, and when it is gone
                    # shows the person that it needs attention, and this raises.
                    user = client.session_refused(site)
                if _identity(user) != refused[:2]:
                    # Someone else is the site's user now: the refused call is not repeated
                    # under another person's (or a script's) name.
                    raise FptLoginError(
                        "the session ended and %r is now signed in to %s in its place; "
                        "connect again to act as them" % (user, site),
                        kind="sign_in_required",
                    )
                self._fpt_login_use(user)

            def _fpt_login_credentials(self):
                config = self.config
                if config.script_name and config.api_key:
                    return ("script", config.script_name, config.api_key)
                return ("session", getattr(self, "_fpt_login_login", None), config.session_token)

            def _fpt_login_use(self, user):
                config = self.config
                if user.kind == "script":
                    config.script_name, config.api_key = user.api_script, user.api_key
                    config.session_token = None
                else:
                    config.script_name = config.api_key = None
                    config.session_token = user.session_token
                self._fpt_login_login = user.login

        _shotgun_class = Shotgun
        return Shotgun


def connect(site=None, min_ttl=None, **shotgun_kwargs):
    """A ``shotgun_api3.Shotgun`` signed in as the user, with the same proxy FPT Login uses.
    Extra keyword arguments go to ``Shotgun``.

    A call the site refuses because the session ended or its SAML claims lapsed is repeated
    once with the user FPT Login has then (asked with ``min_ttl``); when there is nobody
    usable, the app shows that the session needs attention and ``FptLoginError`` with
    ``sign_in_required`` is raised. Passing your own credentials in ``shotgun_kwargs`` turns
    this off."""
    user = get_user(site, min_ttl)
    kwargs = user.shotgun_kwargs()
    kwargs.update(shotgun_kwargs)
    sg = _recovering_shotgun()(user.site, **kwargs)
    own = ("session_token", "script_name", "api_key", "login", "password")
    if not any(key in shotgun_kwargs for key in own):
        sg._fpt_login_client = _default
        sg._fpt_login_site = user.site
        sg._fpt_login_min_ttl = min_ttl
        sg._fpt_login_login = user.login
    return sg
