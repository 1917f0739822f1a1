"""Prints the WM_CLASS (instance and class) of the top-level X11 windows a person can see, one
window per line: TITLE<tab>INSTANCE<tab>CLASS. Desktop entries match windows by it
(StartupWMClass).

Usage: window_classes.py
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
            wm_class = window.get_wm_class() or ("", "")
        except error.XError:
            # Windows come and go while we look; one that vanished is not visible.
            continue
        if name:
            print("\t".join([name, *wm_class]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
