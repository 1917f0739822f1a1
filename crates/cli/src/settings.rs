//! `fpt-login settings`: the network and keep-alive settings, shown and changed.

use fpt_login_core::network::{CA_BUNDLE_ENV, Network, Proxy, load_bundle};
use fpt_login_core::settings::{SECONDS_SETTING, parse_seconds};
use serde_json::json;

use crate::args::{SettingKey, SettingsAction};
use crate::backend::Backend;
use crate::exit::{EXIT_FAILURE, EXIT_USAGE, Failure};
use crate::output::{print, to_json};

pub fn settings(action: Option<SettingsAction>, json: bool) -> Result<(), Failure> {
    let file = Backend::accounts()?.settings_file().clone();
    let failed = |e: &dyn std::fmt::Display| Failure::new(EXIT_FAILURE, e.to_string());
    let usage = |e: &dyn std::fmt::Display| Failure::new(EXIT_USAGE, e.to_string());
    match action {
        None => {
            let settings = file.load().map_err(|e| failed(&e))?;
            let network = Network::from_settings(&settings).map_err(|e| failed(&e))?;
            if json {
                return print(&to_json(&json!({
                    "http_proxy": network.proxy.as_ref().map(ToString::to_string),
                    "ca_bundle": network.ca_bundle,
                    "keep_alive": settings.keep_alive_enabled(),
                    "keep_alive_interval": settings.keep_alive_every().as_secs(),
                    "renew_timeout": settings.renew_timeout().as_secs(),
                    "autostart": settings.autostart,
                })));
            }
            let proxy = network.proxy.map_or_else(
                || "not set (HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply)".to_owned(),
                |p| p.to_string(),
            );
            let bundle = match (&settings.ca_bundle, network.ca_bundle) {
                (Some(path), _) => path.display().to_string(),
                (None, Some(path)) => format!("{} (from {CA_BUNDLE_ENV})", path.display()),
                (None, None) => "not set (the system's CAs are trusted)".to_owned(),
            };
            let on_off = |on: bool| if on { "on" } else { "off" };
            print(&format!(
                "http-proxy           {proxy}\nca-bundle            {bundle}\n\
                 keep-alive           {}\nkeep-alive-interval  {}s\n\
                 renew-timeout        {}s\nautostart            {}",
                on_off(settings.keep_alive_enabled()),
                settings.keep_alive_every().as_secs(),
                settings.renew_timeout().as_secs(),
                on_off(settings.autostart),
            ))
        }
        Some(SettingsAction::Set { key, value }) => {
            match key {
                SettingKey::HttpProxy => {
                    let proxy = Proxy::parse(&value).map_err(|e| usage(&e))?;
                    file.update(|s| s.http_proxy = Some(proxy.toolkit_form()))
                        .map_err(|e| failed(&e))?;
                }
                SettingKey::CaBundle => {
                    let path = std::path::absolute(&value).map_err(|e| usage(&e))?;
                    let count = load_bundle(&path).map_err(|e| usage(&e))?.len();
                    file.update(|s| s.ca_bundle = Some(path.clone()))
                        .map_err(|e| failed(&e))?;
                    eprintln!("{} holds {count} certificate(s).", path.display());
                }
                SettingKey::KeepAlive => {
                    let on = on_off(key, &value)?;
                    file.update(|s| s.keep_alive = Some(on))
                        .map_err(|e| failed(&e))?;
                }
                SettingKey::Autostart => {
                    let on = on_off(key, &value)?;
                    file.update(|s| s.autostart = on).map_err(|e| failed(&e))?;
                    eprintln!(
                        "The FPT Login app applies this when it next starts or the tray toggle is used."
                    );
                }
                SettingKey::KeepAliveInterval | SettingKey::RenewTimeout => {
                    let secs = seconds(key, &value)?;
                    file.update(|s| match key {
                        SettingKey::KeepAliveInterval => s.keep_alive_interval = Some(secs),
                        _ => s.renew_timeout = Some(secs),
                    })
                    .map_err(|e| failed(&e))?;
                }
            }
            settings(None, json)
        }
        Some(SettingsAction::Unset { key }) => {
            file.update(|s| match key {
                SettingKey::HttpProxy => s.http_proxy = None,
                SettingKey::CaBundle => s.ca_bundle = None,
                SettingKey::KeepAlive => s.keep_alive = None,
                SettingKey::KeepAliveInterval => s.keep_alive_interval = None,
                SettingKey::RenewTimeout => s.renew_timeout = None,
                SettingKey::Autostart => s.autostart = false,
            })
            .map_err(|e| failed(&e))?;
            settings(None, json)
        }
    }
}

fn on_off(key: SettingKey, value: &str) -> Result<bool, Failure> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(Failure::new(
            EXIT_USAGE,
            format!("{} takes on or off, not {value:?}", key.name()),
        )),
    }
}

fn seconds(key: SettingKey, value: &str) -> Result<u64, Failure> {
    parse_seconds(value).ok_or_else(|| {
        Failure::new(
            EXIT_USAGE,
            format!(
                "{} takes a number of seconds from {} to {} (a day), such as 300, not {value:?}",
                key.name(),
                SECONDS_SETTING.start(),
                SECONDS_SETTING.end()
            ),
        )
    })
}
