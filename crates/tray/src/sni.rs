//! The StatusNotifierItem and its `com.canonical.dbusmenu` menu, through `ksni`.

use std::sync::{Arc, LazyLock};

use fpt_login_core::actions::{Action, Entry};
use ksni::TrayMethods as _;
use ksni::menu::{CheckmarkItem, MenuItem, StandardItem, SubMenu};
use tokio::sync::watch;

/// What a click asks for (the crate's `OnAction`).
type OnAction = Arc<dyn Fn(Action) + Send + Sync>;

/// The icon as the protocol carries it: ARGB32, big-endian. Decoded once.
static PIXMAP: LazyLock<Vec<ksni::Icon>> = LazyLock::new(|| {
    match pixmap(include_bytes!("../../../icons/tray.png")) {
        Ok(icon) => vec![icon],
        Err(e) => {
            // The themed name still works where the package installed the icon.
            tracing::warn!("cannot decode the tray icon: {e}");
            Vec::new()
        }
    }
});

fn pixmap(png_bytes: &[u8]) -> Result<ksni::Icon, png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::ALPHA | png::Transformations::EXPAND);
    let mut reader = decoder.read_info()?;
    let mut rgba = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let frame = reader.next_frame(&mut rgba)?;
    let rgba = rgba.get(..frame.buffer_size()).unwrap_or_default();
    let data = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[3], p[0], p[1], p[2]])
        .collect();
    Ok(ksni::Icon {
        width: i32::try_from(frame.width).unwrap_or(0),
        height: i32::try_from(frame.height).unwrap_or(0),
        data,
    })
}

/// Puts the item on the session bus, then draws every menu `latest` is given, the newest
/// first-come: a menu replaced before it was drawn is skipped, never drawn after its successor.
pub async fn serve(mut latest: watch::Receiver<(String, Vec<Entry>)>, on_action: OnAction) {
    let (headline, menu) = latest.borrow_and_update().clone();
    let item = Item {
        headline,
        menu,
        on_action,
        stale_marker: false,
    };
    // A tray that starts after the app (or never: stock GNOME) is not an error; the item
    // registers whenever a watcher appears.
    let handle = match item.assume_sni_available(true).spawn().await {
        Ok(handle) => handle,
        Err(e) => {
            tracing::error!("cannot put the icon in the tray: {e}");
            return;
        }
    };
    while latest.changed().await.is_ok() {
        let (headline, menu) = latest.borrow_and_update().clone();
        if handle
            .update(move |item| item.redraw(headline, menu))
            .await
            .is_none()
        {
            tracing::warn!("the tray icon has gone; the menu cannot be updated");
            return;
        }
    }
}

/// The tray item's state, owned by `ksni`'s task.
struct Item {
    headline: String,
    menu: Vec<Entry>,
    on_action: OnAction,
    /// A hidden last entry, there or not, to change the menu's shape (see [`Item::redraw`]).
    stale_marker: bool,
}

impl Item {
    /// Shows `menu` from now on. An entry keeps its id while the menu keeps its shape, so a
    /// click made on a menu drawn before the change would do what now sits at its place
    /// ("Sign out everywhere" turned "Sign out", a toggle the other way). When what the
    /// entries do changes but the shape would not, the hidden marker changes it: the ids of
    /// the old menu then expire, and such a click does nothing.
    fn redraw(&mut self, headline: String, menu: Vec<Entry>) {
        self.stale_marker = marker_for(&self.menu, self.stale_marker, &menu);
        self.headline = headline;
        self.menu = menu;
    }
}

/// The marker for `new` after `old` was drawn with `marker`: kept when the ids may stay (the
/// same entries do the same things) or expire anyway (the shape changes); flipped otherwise,
/// which always changes the shape (one entry more or less at the top).
fn marker_for(old: &[Entry], marker: bool, new: &[Entry]) -> bool {
    if positions(old) != positions(new) && shape(old, marker) == shape(new, marker) {
        !marker
    } else {
        marker
    }
}

/// The menu's tree as `ksni` compares layouts: the number of children of each node, depth
/// first, the marker last at the top.
fn shape(menu: &[Entry], marker: bool) -> Vec<usize> {
    fn walk(entries: &[Entry], extra: usize, out: &mut Vec<usize>) {
        out.push(entries.len().saturating_add(extra));
        for entry in entries {
            match entry {
                Entry::Submenu { entries, .. } => walk(entries, 0, out),
                _ => out.push(0),
            }
        }
    }
    let mut out = Vec::new();
    walk(menu, usize::from(marker), &mut out);
    if marker {
        out.push(0);
    }
    out
}

/// What each node does, depth first, in the order `ksni` numbers them.
fn positions(menu: &[Entry]) -> Vec<Option<&Action>> {
    let mut all = Vec::new();
    for entry in menu {
        match entry {
            Entry::Item { action, .. } | Entry::Check { action, .. } => all.push(Some(action)),
            Entry::Submenu { entries, .. } => {
                all.push(None);
                all.extend(positions(entries));
            }
            Entry::Text(_) | Entry::Separator => all.push(None),
        }
    }
    all
}

/// Text as the tray shows it. dbusmenu reads `_` as the mark of an access key (a login such
/// as `jane_doe` would lose it), and a control character (NUL above all, which the bus refuses
/// in a string) from a site's or a file's text would cost the whole menu.
fn label(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect::<String>()
        .replace('_', "__")
}

fn items(entries: &[Entry]) -> Vec<MenuItem<Item>> {
    entries
        .iter()
        .map(|entry| match entry {
            Entry::Text(text) => StandardItem {
                label: label(text),
                enabled: false,
                ..StandardItem::default()
            }
            .into(),
            Entry::Item {
                label: text,
                action,
                enabled,
            } => {
                let action = action.clone();
                StandardItem {
                    label: label(text),
                    enabled: *enabled,
                    activate: Box::new(move |item: &mut Item| (item.on_action)(action.clone())),
                    ..StandardItem::default()
                }
                .into()
            }
            Entry::Check {
                label: text,
                action,
                checked,
            } => {
                let action = action.clone();
                CheckmarkItem {
                    label: label(text),
                    checked: *checked,
                    activate: Box::new(move |item: &mut Item| (item.on_action)(action.clone())),
                    ..CheckmarkItem::default()
                }
                .into()
            }
            Entry::Submenu {
                label: text,
                entries,
            } => SubMenu {
                label: label(text),
                submenu: items(entries),
                ..SubMenu::default()
            }
            .into(),
            Entry::Separator => MenuItem::Separator,
        })
        .collect()
}

impl ksni::Tray for Item {
    // Linux trays do not agree on what a click on the icon does: every one opens the menu.
    const MENU_ON_ACTIVATE: bool = true;

    fn id(&self) -> String {
        "fpt-login".to_owned()
    }

    fn title(&self) -> String {
        "FPT Login".to_owned()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::ApplicationStatus
    }

    fn icon_name(&self) -> String {
        "fpt-login".to_owned()
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        PIXMAP.clone()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        // The title is plain text; the description would be read as markup.
        ksni::ToolTip {
            title: format!("FPT Login — {}", self.headline)
                .chars()
                .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                .collect(),
            ..ksni::ToolTip::default()
        }
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        let mut menu = items(&self.menu);
        if self.stale_marker {
            menu.push(
                StandardItem {
                    visible: false,
                    enabled: false,
                    ..StandardItem::default()
                }
                .into(),
            );
        }
        menu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_decodes_to_argb() {
        let icon = pixmap(include_bytes!("../../../icons/tray.png")).unwrap();
        assert_eq!((icon.width, icon.height), (64, 64));
        assert_eq!(icon.data.len(), 64 * 64 * 4);
        assert!(
            icon.data.chunks_exact(4).any(|p| p[0] == 255),
            "opaque pixels"
        );
    }

    #[test]
    fn underscores_are_shown_not_taken_for_access_keys() {
        assert_eq!(
            label("jane_doe @ https://a.example.com"),
            "jane__doe @ https://a.example.com"
        );
    }

    #[test]
    fn control_characters_cannot_cost_the_menu() {
        assert_eq!(label("jane\0doe\n"), "jane\u{fffd}doe\u{fffd}");
    }

    /// Menus core makes for people in different states, as the tray would be given them.
    fn menus() -> Vec<Vec<Entry>> {
        use fpt_login_core::accounts::Overview;
        use fpt_login_core::accounts::overview::{PersonView, SiteView};
        use fpt_login_core::actions::tray_menu;
        use fpt_login_core::model::SessionState;
        let person = |login: &str, is_default: bool, state: SessionState| PersonView {
            login: login.to_owned(),
            name: None,
            method: None,
            current: true,
            is_default,
            state,
            state_text: "",
            attention: None,
            expires_at: None,
            ends: None,
            renew: state != SessionState::Active,
        };
        let site = |url: &str, people: Vec<PersonView>| SiteView {
            site: fpt_login_core::Site::parse(url).unwrap(),
            is_default: people.iter().any(|p| p.is_default),
            current: None,
            people,
            scripts: vec![],
        };
        let mut views = Vec::new();
        for people in 0..3 {
            for lapsed in [false, true] {
                for keep_alive in [false, true] {
                    for toggles in [false, true] {
                        let state = if lapsed {
                            SessionState::ClaimsLapsed
                        } else {
                            SessionState::Active
                        };
                        let sites: Vec<SiteView> = [
                            ("https://a.example.com", "jane"),
                            ("https://b.example.com", "joe"),
                        ]
                        .into_iter()
                        .take(people)
                        .enumerate()
                        .map(|(i, (url, login))| site(url, vec![person(login, i == 0, state)]))
                        .collect();
                        let signed_in = !sites.is_empty();
                        views.push(Overview {
                            headline: format!("{people} people"),
                            sites,
                            signed_in,
                            keep_alive,
                            idle_warning: (signed_in && !keep_alive).then(|| "idle".to_owned()),
                            toolkit_files: toggles,
                            autostart: !toggles,
                            ..Overview::default()
                        });
                    }
                }
            }
        }
        views.iter().map(|v| tray_menu(v, "v")).collect()
    }

    #[test]
    fn a_menu_that_does_other_things_never_keeps_the_old_menus_shape() {
        // From any menu to any other, with the marker either way: a click on an old id may
        // only land where the same entries do the same things.
        let menus = menus();
        let mut compared = 0;
        for old in &menus {
            for new in &menus {
                for marker in [false, true] {
                    let next = marker_for(old, marker, new);
                    if positions(old) == positions(new) {
                        assert_eq!(next, marker, "an unchanged menu keeps its ids");
                    } else {
                        assert_ne!(
                            shape(old, marker),
                            shape(new, next),
                            "old ids would stay valid on another menu:\n{old:#?}\n{new:#?}"
                        );
                    }
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 24 * 24 * 2);
    }

    #[test]
    fn a_line_more_and_the_marker_gone_would_have_kept_the_shape() {
        // One person, keep-alive turned off: the warning line comes, and a marker that flipped
        // regardless would have left the shape as it was (the review's case).
        let menus = menus();
        // In the order `menus` makes them: people, lapsed, keep-alive, toggles.
        let at = |people: usize, keep_alive: usize| &menus[people * 8 + keep_alive * 2];
        let (on, off) = (at(1, 1), at(1, 0));
        assert_ne!(positions(on), positions(off));
        assert_eq!(shape(on, true), shape(off, false), "the trap");
        assert_ne!(shape(on, true), shape(off, marker_for(on, true, off)));
    }
}
