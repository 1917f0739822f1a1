//! `fpt-login settings`: the network and keep-alive settings, shown and changed.

use fpt_login_core::network::{self, CA_BUNDLE_ENV, Network, Proxy, load_bundle};
use fpt_login_core::paths::Paths;
use fpt_login_core::settings::SettingsFile;
use fpt_login_core::settings::{SECONDS_SETTING, parse_seconds};
use fpt_login_core::store::KeyringStore;
use serde_json::json;

use crate::args::{SettingKey, SettingsAction};
use crate::backend::Backend;
use crate::exit::{EXIT_FAILURE, EXIT_USAGE, Failure};
use crate::input;
use crate::output::{print, to_json};

pub fn settings(action: Option<SettingsAction>, json: bool) -> Result<(), Failure> {
    let file = Backend::accounts()?.settings_file().clone();
    let failed = |e: &dyn std::fmt::Display| Failure::new(EXIT_FAILURE, e.to_string());
    let usage = |e: &dyn std::fmt::Display| Failure::new(EXIT_USAGE, e.to_string());
    match action {
        None => show(&file, json),
        Some(SettingsAction::Set {
            key,
            value,
            password_stdin,
        }) => {
            if password_stdin && !matches!(key, SettingKey::HttpProxy) {
                return Err(usage(&"--password-stdin is for http-proxy only"));
            }
            match key {
                SettingKey::HttpProxy => set_proxy(&file, &value, password_stdin)?,
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
            if matches!(key, SettingKey::HttpProxy) {
                forget_proxy_password(&file, None)?;
            }
            file.update(|s| match key {
                SettingKey::HttpProxy => {
                    s.http_proxy = None;
                    s.http_proxy_password_set = None;
                }
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

/// Sets the proxy; its user's password goes to the keyring, asked for or read from stdin,
/// never taken from the command line.
fn set_proxy(file: &SettingsFile, value: &str, password_stdin: bool) -> Result<(), Failure> {
    let proxy = Proxy::parse(value).map_err(|e| Failure::usage(e.to_string()))?;
    if proxy.has_password() {
        return Err(Failure::usage(
            "the proxy password is not taken on the command line, where other programs on this machine can read it: give USER@HOST[:PORT] and type the password when asked (or pipe it to --password-stdin)",
        ));
    }
    let store = keyring()?;
    let address = proxy.address();
    match proxy.user() {
        Some(user) => {
            let password = input::secret(
                password_stdin,
                &format!("Password for proxy user {user} at {address} (empty for none): "),
                "no terminal to ask for the proxy password on: pipe it to --password-stdin",
            )?;
            forget_proxy_password(file, Some(&proxy))?;
            let kept = if password.is_empty() {
                store.delete_proxy_password(user, &address).map(drop)
            } else {
                store.save_proxy_password(user, &address, &password)
            };
            kept.map_err(|e| Failure::failed(e.to_string()))?;
        }
        None if password_stdin => {
            return Err(Failure::usage(
                "--password-stdin needs a proxy user: USER@HOST[:PORT]",
            ));
        }
        None => forget_proxy_password(file, Some(&proxy))?,
    }
    file.update(|s| {
        s.http_proxy = Some(proxy.toolkit_form());
        // Running processes read the password again.
        s.http_proxy_password_set = Some(fpt_login_core::time::now());
    })
    .map(drop)
    .map_err(|e| Failure::failed(e.to_string()))
}

/// Removes the keyring password of the proxy set now, unless it is `keep`'s.
fn forget_proxy_password(file: &SettingsFile, keep: Option<&Proxy>) -> Result<(), Failure> {
    let settings = file.load().map_err(|e| Failure::failed(e.to_string()))?;
    let Some(old) = settings
        .http_proxy
        .as_deref()
        .and_then(|p| Proxy::parse(p).ok())
    else {
        return Ok(());
    };
    let Some(user) = old.user() else {
        return Ok(());
    };
    if keep.is_some_and(|k| k.user() == Some(user) && k.address() == old.address()) {
        return Ok(());
    }
    keyring()?
        .delete_proxy_password(user, &old.address())
        .map(drop)
        .map_err(|e| Failure::failed(e.to_string()))
}

fn keyring() -> Result<KeyringStore, Failure> {
    let paths = Paths::from_env().map_err(Failure::failed)?;
    Ok(KeyringStore::for_profile(&paths))
}

/// Prints the settings in force, the proxy password hidden.
fn show(file: &SettingsFile, json: bool) -> Result<(), Failure> {
    let failed = |e: &dyn std::fmt::Display| Failure::new(EXIT_FAILURE, e.to_string());
    let settings = file.load_shared().map_err(|e| failed(&e))?;
    let network = Network {
        proxy: network::stored_proxy(&settings).map_err(|e| failed(&e))?,
        ..Network::from_settings(&settings).map_err(|e| failed(&e))?
    };
    if settings
        .http_proxy
        .as_deref()
        .and_then(|p| Proxy::parse(p).ok())
        .is_some_and(|p| p.has_password())
    {
        eprintln!(
            "note: settings.json holds the proxy password; set http-proxy again as USER@HOST:PORT to move it to the OS keyring"
        );
    }
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
