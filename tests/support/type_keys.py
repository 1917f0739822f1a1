"""Types into the top-level X11 window whose title contains TITLE the way a person does at the
keyboard: the window gets the input focus and the keys are pressed through the XTEST extension,
so they arrive as real key events, not as events sent to the window.

Usage: type_keys.py TITLE KEY...
  KEY is `text:<characters>` (printable ASCII), `tab`, `return` or `select-all` (Ctrl+A).
Exits 1, having typed nothing, when no window matches; 2 when a key cannot be typed; 3 when
the window went away or lost the focus partway (some keys typed).
"""

import sys
import time

from Xlib import X, XK, display, error
from Xlib.ext import xtest

from close_window import title

# Other programs' windows may take the focus while we type (GTK focuses a window it presents
# when no window manager runs): each key is pressed under a server grab, right after the focus
# is given back and checked, so no other client can move it in between and a password never
# lands in another window.
PAUSE = 0.01


class LostWindow(Exception):
    pass


def find(conn, wanted):
    root = conn.screen().root
    net_wm_name = conn.intern_atom("_NET_WM_NAME")
    utf8_string = conn.intern_atom("UTF8_STRING")
    seen = []
    for window in root.query_tree().children:
        try:
            name = title(window, net_wm_name, utf8_string)
            mapped = window.get_attributes().map_state == X.IsViewable
        except error.XError:
            continue
        seen.append(name)
        if wanted in name and mapped:
            return window, seen
    return None, seen


def keycode(conn, keysym):
    """The keycode that gives `keysym`, and whether Shift must be held for it."""
    code = conn.keysym_to_keycode(keysym)
    if not code:
        return None, False
    return code, conn.keycode_to_keysym(code, 0) != keysym


def strokes(conn, key):
    """The (keycode, modifiers) presses that type `key`."""
    control = conn.keysym_to_keycode(XK.XK_Control_L)
    if key == "tab":
        return [(conn.keysym_to_keycode(XK.XK_Tab), [])]
    if key == "return":
        return [(conn.keysym_to_keycode(XK.XK_Return), [])]
    if key == "select-all":
        return [(conn.keysym_to_keycode(XK.XK_a), [control])]
    if not key.startswith("text:"):
        raise ValueError("unknown key %r" % key)
    shift = conn.keysym_to_keycode(XK.XK_Shift_L)
    presses = []
    for char in key[len("text:"):]:
        # Printable ASCII characters are their own keysyms.
        if not " " <= char <= "~":
            raise ValueError("cannot type %r" % char)
        code, shifted = keycode(conn, ord(char))
        if code is None:
            raise ValueError("no key types %r" % char)
        presses.append((code, [shift] if shifted else []))
    return presses


def holds_focus(conn, window):
    """Whether the focus is `window` or inside it."""
    focus = conn.get_input_focus().focus
    root = conn.screen().root.id
    # PointerRoot and None come back as plain numbers.
    while not isinstance(focus, int) and focus.id not in (X.NONE, root):
        if focus.id == window.id:
            return True
        focus = focus.query_tree().parent
    return False


def press(conn, window, code, modifiers):
    conn.grab_server()
    try:
        try:
            # Requests with a reply: a window that is gone raises here.
            if window.get_attributes().map_state != X.IsViewable:
                raise LostWindow("the window is no longer shown")
            window.set_input_focus(X.RevertToParent, X.CurrentTime)
            if not holds_focus(conn, window):
                raise LostWindow("the window did not take the focus")
        except error.XError as e:
            raise LostWindow("the window went away: %s" % e)
        for modifier in modifiers:
            xtest.fake_input(conn, X.KeyPress, modifier)
        xtest.fake_input(conn, X.KeyPress, code)
        xtest.fake_input(conn, X.KeyRelease, code)
        for modifier in reversed(modifiers):
            xtest.fake_input(conn, X.KeyRelease, modifier)
        conn.sync()
    finally:
        conn.ungrab_server()
        conn.sync()
    time.sleep(PAUSE)


def main():
    wanted, keys = sys.argv[1], sys.argv[2:]
    conn = display.Display()
    if not conn.has_extension("XTEST"):
        print("the X server has no XTEST extension", file=sys.stderr)
        return 2
    try:
        presses = [p for key in keys for p in strokes(conn, key)]
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    window, seen = find(conn, wanted)
    if window is None:
        print("no window titled like %r among %r" % (wanted, [t for t in seen if t]), file=sys.stderr)
        return 1
    window.raise_window()
    for code, modifiers in presses:
        try:
            press(conn, window, code, modifiers)
        except LostWindow as e:
            print("stopped typing partway: %s" % e, file=sys.stderr)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
