"""Prints the titles of the top-level X11 windows a person can see (mapped), one per line.

Usage: visible_windows.py
"""

import sys

from Xlib import X, display, error

from close_window import title


def main():
    conn = display.Display()
    root = conn.screen().root
    net_wm_name = conn.intern_atom("_NET_WM_NAME")
    utf8_string = conn.intern_atom("UTF8_STRING")
    for window in root.query_tree().children:
        try:
            if window.get_attributes().map_state != X.IsViewable:
                continue
            name = title(window, net_wm_name, utf8_string)
        except error.XError:
            # Windows come and go while we look; one that vanished is not visible.
            continue
        if name:
            print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
