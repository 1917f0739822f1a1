"""A stand-in for the FPT Login app's socket, for the Python client's tests of what the real
app never does on purpose: odd replies, replies that never come, connections it drops.

It listens in a private folder of its own, records every request with the connection it came
on, and answers through ``respond(connection, request)``: a dict (sent as one JSON line),
bytes (sent as they are), ``HOLD`` (answer nothing until the client hangs up) or ``CLOSE``
(hang up). The default answers hello, and get_user with ``artist`` on ``https://fake.test``.
"""

import json
import os
import shutil
import socket
import tempfile
import threading
import time

HOLD = object()
CLOSE = object()
SITE = "https://fake.test"


def user(login="artist", token="tok-artist-0123456789"):
    return {
        "type": "user", "site": SITE, "kind": "session", "login": login,
        "session_token": token, "expires_at": None, "http_proxy": None,
    }


def default_reply(connection, request):
    if request.get("type") == "hello":
        return {"type": "hello", "version": 1, "server": "fake", "pid": os.getpid()}
    if request.get("type") == "get_user":
        return user()
    return {"type": "error", "kind": "bad_request", "message": "not faked"}


class FakeApp(object):
    def __init__(self, respond=None):
        self.respond = respond or default_reply
        self.folder = tempfile.mkdtemp(prefix="fake-fpt-login.")
        self.path = os.path.join(self.folder, "fpt-login.sock")
        self.requests = []  # (connection number, request)
        self.connections = 0
        self._open = []
        self.changed = threading.Condition()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self.changed:
                self.connections += 1
                number = self.connections
                self._open.append(conn)
                self.changed.notify_all()
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn, number):
        reader = conn.makefile("rb")
        try:
            for line in reader:
                request = json.loads(line.decode("utf-8"))
                with self.changed:
                    self.requests.append((number, request))
                    self.changed.notify_all()
                reply = self.respond(number, request)
                if reply is CLOSE:
                    return
                if reply is HOLD:
                    # Nothing more is read or written: what the client sees of an app busy
                    # renewing. Returns once the client hangs up.
                    conn.recv(1)
                    return
                if isinstance(reply, dict):
                    reply = json.dumps(reply).encode("utf-8") + b"\n"
                conn.sendall(reply)
        except OSError:
            pass
        finally:
            reader.close()
            conn.close()

    def drop_connections(self):
        """Hangs up on every client, as an app that quits does."""
        with self.changed:
            conns, self._open = self._open, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wait_for(self, what, check, timeout=30.0):
        """Waits until ``check()`` holds (it runs under the lock the server updates under)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "timed out waiting for %s; requests: %r" % (what, self.requests)
                    )
                self.changed.wait(left)

    def requests_of(self, kind):
        with self.changed:
            return [(n, r) for n, r in self.requests if r.get("type") == kind]

    def stop(self):
        self._listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)
