//! The StatusNotifierItem and its `com.canonical.dbusmenu` menu, through `ksni`.

use std::sync::LazyLock;

use fpt_login_core::actions::{Action, Entry};
use ksni::TrayMethods as _;
use ksni::menu::{CheckmarkItem, MenuItem, StandardItem, SubMenu};

use super::{OnAction, TrayError};

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

pub struct Icon {
    handle: ksni::Handle<Item>,
}

impl std::fmt::Debug for Icon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Icon").finish_non_exhaustive()
    }
}

impl Icon {
    pub async fn spawn(
        headline: String,
        menu: Vec<Entry>,
        on_action: OnAction,
    ) -> Result<Self, TrayError> {
        let item = Item {
            headline,
            actions: actions_of(&menu),
            menu,
            on_action,
            stale_marker: false,
        };
        // A tray that starts after the app (or never: stock GNOME) is not an error; the item
        // registers whenever a watcher appears.
        let handle = item
            .assume_sni_available(true)
            .spawn()
            .await
            .map_err(|e| TrayError::Bus(e.to_string()))?;
        Ok(Self { handle })
    }

    pub async fn show(&self, headline: String, menu: Vec<Entry>) {
        let shown = self
            .handle
            .update(move |item| {
                let actions = actions_of(&menu);
                // An entry keeps its id while the menu keeps its shape, so a click made on a
                // menu drawn before the change would do what now sits at its place ("Renew
                // now" for another site, a toggle the other way). A changed menu gets another
                // shape: the ids of the old one expire, and such a click does nothing.
                if actions != item.actions {
                    item.stale_marker = !item.stale_marker;
                }
                item.headline = headline;
                item.actions = actions;
                item.menu = menu;
            })
            .await;
        if shown.is_none() {
            tracing::warn!("the tray icon has gone; the menu cannot be updated");
        }
    }
}

/// Every action of `menu`, in the order the entries come, submenus included.
fn actions_of(menu: &[Entry]) -> Vec<Action> {
    let mut all = Vec::new();
    for entry in menu {
        match entry {
            Entry::Item { action, .. } | Entry::Check { action, .. } => all.push(action.clone()),
            Entry::Submenu { entries, .. } => all.extend(actions_of(entries)),
            Entry::Text(_) | Entry::Separator => {}
        }
    }
    all
}

/// The tray item's state, owned by `ksni`'s task.
struct Item {
    headline: String,
    menu: Vec<Entry>,
    actions: Vec<Action>,
    on_action: OnAction,
    /// Flipped to change the menu's shape (see [`Icon::show`]).
    stale_marker: bool,
}

/// dbusmenu reads `_` as the mark of an access key: a login such as `jane_doe` would lose it.
fn label(text: &str) -> String {
    text.replace('_', "__")
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
            title: format!("FPT Login — {}", self.headline),
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
    fn a_menu_whose_actions_change_gets_another_shape() {
        let site = |url: &str| fpt_login_core::Site::parse(url).unwrap();
        let renew = |url: &str| {
            vec![Entry::Item {
                label: "Renew now…".to_owned(),
                action: Action::RenewNow { site: site(url) },
                enabled: true,
            }]
        };
        let a = renew("https://a.example.com");
        let b = renew("https://b.example.com");
        assert_ne!(actions_of(&a), actions_of(&b));
        assert_eq!(actions_of(&a), actions_of(&renew("https://a.example.com")));
        let nested = vec![Entry::Submenu {
            label: "Default site".to_owned(),
            entries: a.clone(),
        }];
        assert_eq!(actions_of(&nested), actions_of(&a), "submenus count");
    }
}
