//! What a desktop's tray does with the app's icon, over the session bus: read the
//! StatusNotifierItem's menu (`com.canonical.dbusmenu`) and click its entries.

use std::collections::HashMap;
use std::time::Duration;

use zbus::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use crate::harness::wait_for;

/// One entry of the tray menu as a tray draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    pub id: i32,
    /// The label as shown: access-key marks taken out (`__` is one `_`).
    pub label: String,
    pub enabled: bool,
    pub visible: bool,
    pub separator: bool,
    /// `Some(checked)` for a toggle.
    pub checked: Option<bool>,
    pub children: Vec<MenuEntry>,
}

impl MenuEntry {
    /// The line a test compares: `label`, `label [x]` / `label [ ]` for toggles, `(label)` for
    /// disabled entries, `---` for separators, `label > a | b` for submenus. Hidden entries
    /// are left out, as a tray leaves them out.
    pub fn line(&self) -> String {
        if self.separator {
            return "---".to_owned();
        }
        let mut line = match self.checked {
            Some(true) => format!("{} [x]", self.label),
            Some(false) => format!("{} [ ]", self.label),
            None => self.label.clone(),
        };
        if !self.enabled {
            line = format!("({line})");
        }
        if !self.children.is_empty() {
            let inner: Vec<String> = shown(&self.children).iter().map(Self::line).collect();
            line = format!("{line} > {}", inner.join(" | "));
        }
        line
    }
}

fn shown(entries: &[MenuEntry]) -> Vec<MenuEntry> {
    entries.iter().filter(|e| e.visible).cloned().collect()
}

/// The tray icon of the process `pid`, as a tray reaches it.
#[derive(Debug)]
pub struct TrayIcon {
    bus: Connection,
    service: String,
    menu: OwnedObjectPath,
}

impl TrayIcon {
    /// Waits for the process `pid` to put its icon on the session bus (`StatusNotifierItem-PID-N`,
    /// the name the protocol gives it) and reads where its menu is, as a tray does.
    pub async fn of(pid: u32) -> Self {
        let bus = Connection::session().await.expect("the session bus");
        let prefix = format!("org.kde.StatusNotifierItem-{pid}-");
        let dbus = zbus::fdo::DBusProxy::new(&bus).await.expect("the bus");
        let service = wait_for(
            "the app's tray icon on the session bus",
            Duration::from_secs(60),
            || async {
                let names = dbus.list_names().await.ok()?;
                names
                    .into_iter()
                    .map(|n| n.to_string())
                    .find(|n| n.starts_with(&prefix))
            },
        )
        .await;
        let item = zbus::Proxy::new(
            &bus,
            service.clone(),
            "/StatusNotifierItem",
            "org.kde.StatusNotifierItem",
        )
        .await
        .expect("the item");
        let menu: OwnedObjectPath = item
            .get_property("Menu")
            .await
            .expect("the item names its menu");
        Self { bus, service, menu }
    }

    /// The tooltip's title.
    pub async fn tooltip(&self) -> String {
        let (_icon, _pixmaps, title, _text): ToolTip = self.property("ToolTip").await;
        title
    }

    /// The sizes of the icon's pixmaps that carry pixels.
    pub async fn icon_sizes(&self) -> Vec<(i32, i32)> {
        let pixmaps: Vec<Pixmap> = self.property("IconPixmap").await;
        pixmaps
            .into_iter()
            .filter(|(_, _, data)| !data.is_empty())
            .map(|(w, h, _)| (w, h))
            .collect()
    }

    /// The item's property `name` (`ToolTip`, `IconName`, `Title`, …).
    pub async fn property<T>(&self, name: &str) -> T
    where
        T: TryFrom<OwnedValue>,
        T::Error: Into<zbus::Error>,
    {
        let item = zbus::Proxy::new(
            &self.bus,
            self.service.clone(),
            "/StatusNotifierItem",
            "org.kde.StatusNotifierItem",
        )
        .await
        .expect("the item");
        item.get_property(name)
            .await
            .unwrap_or_else(|e| panic!("the tray icon's {name}: {e}"))
    }

    async fn menu_proxy(&self) -> zbus::Proxy<'_> {
        zbus::Proxy::new(
            &self.bus,
            self.service.clone(),
            self.menu.clone(),
            "com.canonical.dbusmenu",
        )
        .await
        .expect("the menu")
    }

    /// The menu as a tray would draw it now (the entries under the root).
    pub async fn menu(&self) -> Vec<MenuEntry> {
        let menu = self.menu_proxy().await;
        // The tray says it is about to show the menu, then reads all of it.
        let _: bool = menu.call("AboutToShow", &(0i32,)).await.unwrap_or_default();
        let reply = menu
            .call_method("GetLayout", &(0i32, -1i32, Vec::<&str>::new()))
            .await
            .expect("the menu's layout");
        let (_revision, (_root, _props, children)): Layout =
            reply.body().deserialize().expect("a dbusmenu layout");
        children.iter().map(|c| entry(c)).collect()
    }

    /// The menu's lines ([`MenuEntry::line`]) as shown now.
    pub async fn lines(&self) -> Vec<String> {
        shown(&self.menu().await)
            .iter()
            .map(MenuEntry::line)
            .collect()
    }

    /// Clicks the visible, enabled entry labelled `label` (in a submenu too).
    pub async fn click(&self, label: &str) {
        fn find<'a>(entries: &'a [MenuEntry], label: &str) -> Option<&'a MenuEntry> {
            entries.iter().filter(|e| e.visible).find_map(|e| {
                if e.label == label && e.enabled {
                    Some(e)
                } else {
                    find(&e.children, label)
                }
            })
        }
        let menu = self.menu().await;
        let id = find(&menu, label)
            .unwrap_or_else(|| panic!("no entry {label:?} to click in {menu:#?}"))
            .id;
        self.try_click_id(id).await.expect("the click is taken");
    }

    /// Sends a click on entry `id`, as a tray does with the id from the layout it drew; the
    /// menu refuses an id it no longer has.
    pub async fn try_click_id(&self, id: i32) -> zbus::Result<()> {
        let menu = self.menu_proxy().await;
        let timestamp = 0u32;
        menu.call("Event", &(id, "clicked", Value::from(0i32), timestamp))
            .await
    }
}

/// An icon as the protocol carries it: width, height, ARGB32 pixels.
type Pixmap = (i32, i32, Vec<u8>);
/// A tooltip: icon name, icon pixmaps, title, text.
type ToolTip = (String, Vec<Pixmap>, String, String);

/// `GetLayout`'s answer: the revision and the root `(id, properties, children)`.
type Layout = (u32, (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>));

/// One layout node: `(id, properties, children)`, in a variant.
fn entry(node: &Value<'_>) -> MenuEntry {
    let node = match node {
        Value::Value(inner) => inner.as_ref(),
        other => other,
    };
    let Value::Structure(node) = node else {
        panic!("a menu node is a structure, not {node:?}");
    };
    let [id, props, children] = node.fields() else {
        panic!("a menu node has three fields: {node:?}");
    };
    let Value::I32(id) = id else {
        panic!("a menu node's id: {id:?}");
    };
    let props: HashMap<String, OwnedValue> = props
        .try_clone()
        .expect("properties")
        .try_into()
        .expect("a menu node's properties");
    let text = |key: &str| {
        props
            .get(key)
            .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
    };
    let flag = |key: &str| {
        props
            .get(key)
            .and_then(|v| bool::try_from(v.try_clone().ok()?).ok())
    };
    let Value::Array(children) = children else {
        panic!("a menu node's children: {children:?}");
    };
    MenuEntry {
        id: *id,
        label: text("label")
            .unwrap_or_default()
            .replace("__", "\u{0}")
            .replace('_', "")
            .replace('\u{0}', "_"),
        enabled: flag("enabled").unwrap_or(true),
        visible: flag("visible").unwrap_or(true),
        separator: text("type").as_deref() == Some("separator"),
        checked: (text("toggle-type").as_deref() == Some("checkmark")).then(|| {
            props
                .get("toggle-state")
                .and_then(|v| i32::try_from(v.try_clone().ok()?).ok())
                == Some(1)
        }),
        children: children.iter().map(entry).collect(),
    }
}
