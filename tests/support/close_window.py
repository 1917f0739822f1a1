"""Asks top-level X11 windows whose title contains TITLE to close, the way a window manager
does when a person clicks the close button: a WM_DELETE_WINDOW client message.

Usage: close_window.py TITLE   (prints how many windows it asked; exits 1 when none matched)
"""

import sys

from Xlib import X, display, error, protocol


def title(window, net_wm_name, utf8_string):
    prop = window.get_full_property(net_wm_name, utf8_string)
    if prop is not None:
        value = prop.value
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return window.get_wm_name() or ""


def main():
    wanted = sys.argv[1]
    conn = display.Display()
    root = conn.screen().root
    wm_protocols = conn.intern_atom("WM_PROTOCOLS")
    wm_delete = conn.intern_atom("WM_DELETE_WINDOW")
    net_wm_name = conn.intern_atom("_NET_WM_NAME")
    utf8_string = conn.intern_atom("UTF8_STRING")
    asked = 0
    seen = []
    for window in root.query_tree().children:
        try:
            name = title(window, net_wm_name, utf8_string)
        except error.XError:
            # Other programs' windows come and go while we look; one that vanished is not ours.
            continue
        seen.append(name)
        if wanted not in name:
            continue
        message = protocol.event.ClientMessage(
            window=window,
            client_type=wm_protocols,
            data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]),
        )
        window.send_event(message, event_mask=X.NoEventMask)
        asked += 1
    conn.flush()
    print(asked)
    if not asked:
        print("no window titled like %r among %r" % (wanted, [t for t in seen if t]), file=sys.stderr)
    return 0 if asked else 1


if __name__ == "__main__":
    sys.exit(main())
