//! Serves the mock FPT site and its IdP until interrupted. `--demo` is what the README uses.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use fpt_login_tests::mock::{MockConfig, MockScript, MockSite, MockUser, SiteKind};

/// A mock Flow Production Tracking site with a SAML identity provider on another origin.
///
/// Sign-ins go /auth/renew → IdP form → auto-submitted SAML POST → /auth/landing with the real
/// FPT cookies. /api3/json answers info, and read of HumanUser and Project with session tokens.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Example:\n  fpt-mock-site --demo\n  fpt-mock-site --user jane:secret:'Jane Doe' --project Alpha --claims-lifetime 20"
)]
struct Args {
    /// Fixed demo ports (site 127.0.0.1:8090, IdP 127.0.0.2:8091), user artist / sesame.
    #[arg(long)]
    demo: bool,
    /// How the site signs people in.
    #[arg(long, value_enum, default_value = "saml2")]
    kind: SiteKind,
    /// Address of the site (port 0 picks a free port).
    #[arg(long)]
    site_addr: Option<SocketAddr>,
    /// Address of the IdP; must differ from the site's host or port.
    #[arg(long)]
    idp_addr: Option<SocketAddr>,
    /// A user as LOGIN:PASSWORD[:NAME]; repeat for more. Replaces the default user.
    #[arg(long = "user", value_name = "LOGIN:PASSWORD[:NAME]")]
    users: Vec<String>,
    /// An API script as NAME:KEY; repeat for more.
    #[arg(long = "script", value_name = "NAME:KEY")]
    scripts: Vec<String>,
    /// Turn the App Session Launcher off (its endpoints answer 403).
    #[arg(long)]
    no_asl: bool,
    /// A project name; repeat for more. Replaces the default projects.
    #[arg(long = "project", value_name = "NAME")]
    projects: Vec<String>,
    /// Seconds of inactivity after which a session is gone (error 102).
    #[arg(long, value_name = "SECS")]
    session_inactivity: Option<u64>,
    /// Seconds the SAML claims last after each pass through the IdP.
    #[arg(long, value_name = "SECS")]
    claims_lifetime: Option<u64>,
    /// Seconds REST API access tokens last (default 600).
    #[arg(long, value_name = "SECS")]
    rest_token_lifetime: Option<u64>,
}

fn config(args: &Args) -> anyhow::Result<MockConfig> {
    let mut config = if args.demo {
        MockConfig::demo()
    } else {
        MockConfig::saml2()
    };
    config.kind = args.kind;
    if let Some(addr) = args.site_addr {
        config.site_addr = addr;
    }
    if let Some(addr) = args.idp_addr {
        config.idp_addr = addr;
    }
    if !args.users.is_empty() {
        config.users = args
            .users
            .iter()
            .zip(1_u64..)
            .map(|(spec, id)| {
                let mut parts = spec.splitn(3, ':');
                let (Some(login), Some(password)) = (parts.next(), parts.next()) else {
                    bail!("--user {spec:?} must be LOGIN:PASSWORD[:NAME]");
                };
                Ok(MockUser::new(
                    id,
                    login,
                    password,
                    parts.next().unwrap_or(login),
                ))
            })
            .collect::<anyhow::Result<_>>()?;
    }
    for spec in &args.scripts {
        let Some((name, key)) = spec.split_once(':') else {
            bail!("--script {spec:?} must be NAME:KEY");
        };
        config.scripts.push(MockScript {
            name: name.to_owned(),
            key: key.to_owned(),
        });
    }
    config.asl_enabled &= !args.no_asl;
    if !args.projects.is_empty() {
        config.projects.clone_from(&args.projects);
    }
    if let Some(secs) = args.session_inactivity {
        config.session_inactivity = Duration::from_secs(secs);
    }
    if let Some(secs) = args.claims_lifetime {
        config.claims_lifetime = Duration::from_secs(secs);
    }
    if let Some(secs) = args.rest_token_lifetime {
        config.rest_token_lifetime = Duration::from_secs(secs);
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let config = config(&args)?;
    let site = MockSite::start(config.clone()).await.with_context(|| {
        format!(
            "cannot listen on {} and {}",
            config.site_addr, config.idp_addr
        )
    })?;
    println!("mock FPT site: {}", site.url());
    println!("mock IdP:      {}", site.idp_url());
    for user in &config.users {
        println!(
            "user:          {} / {} ({})",
            user.login, user.password, user.name
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
