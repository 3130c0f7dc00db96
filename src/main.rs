use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use phonebase::config::Config;
use phonebase::core::Core;
use phonebase::core::apps::{App, NewApp};
use phonebase::core::credentials::Dialect;
use phonebase::core::review::{Content, Decision, Kind};
use phonebase::startup::{Application, Hooks, build_core};

#[derive(Parser)]
#[command(name = "phonebase", version, about = "Self-hosted user accounts with phone authentication")]
struct Cli {
    /// TOML configuration file (default: ./phonebase.toml if it exists).
    #[arg(long, global = true, env = "PHONEBASE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates and migrates the database on first start).
    Serve {
        /// Listen address, e.g. 0.0.0.0:8080 (overrides the configuration).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage apps (tenants).
    #[command(subcommand)]
    App(Box<AppCommand>),
    /// Manage operators (the console's administrators).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Review SMS templates.
    #[command(subcommand)]
    Template(ReviewCommand),
    /// Review SMS signatures.
    #[command(subcommand)]
    Signature(ReviewCommand),
    /// Move users in from another service.
    #[command(subcommand)]
    Import(ImportCommand),
    /// SMS providers: list them, map texts to their registered templates, send a test message.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// The server secret (see the README's security section).
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Print a new random secret (hex) for `secret_key`, `secret_key_file` or PHONEBASE_SECRET_KEY.
    Generate,
    /// Print the secret an older version kept in the PostgreSQL database, to move it into the
    /// configuration (the next start with it configured deletes the database's copy).
    FromDatabase,
}

/// Which of our texts a mapping is for.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct TextArg {
    /// A built-in text: verification, login, reset_password, change_phone, voice.
    #[arg(long)]
    builtin: Option<String>,
    /// An app's approved template, by name (needs --app).
    #[arg(long)]
    template: Option<String>,
    /// An app's approved template read out by a voice call (a TTS template; needs --app).
    #[arg(long)]
    voice_template: Option<String>,
}

impl TextArg {
    fn text_ref(&self) -> String {
        use phonebase::core::outbox::routing::{template_ref, voice_template_ref};
        match (&self.builtin, &self.template, &self.voice_template) {
            (Some(kind), _, _) => format!("builtin:{kind}"),
            (_, Some(name), _) => template_ref(name),
            (_, _, Some(name)) => voice_template_ref(name),
            _ => unreachable!("clap requires one"),
        }
    }
}

#[derive(Subcommand)]
enum ProviderCommand {
    /// The configured providers, in priority order.
    List,
    /// Map one of our texts to the provider's registered template (Aliyun TemplateCode, Tencent
    /// TemplateId), e.g. `provider map aliyun-cn --builtin verification --code SMS_123 --param code=code`.
    Map {
        provider: String,
        #[command(flatten)]
        text: TextArg,
        /// Only for this app (default: every app; an app's own mapping wins).
        #[arg(long = "app")]
        app_id: Option<String>,
        /// The provider's template code or id.
        #[arg(long)]
        code: String,
        /// PARAM=VARIABLE, in the template's order (Tencent takes values in this order). Our
        /// variables: code, ttl, name, op (built-in texts), the template's own, sign.
        #[arg(long = "param")]
        params: Vec<String>,
        /// The registered signature name, if not the provider's `sign_name`.
        #[arg(long)]
        sign_name: Option<String>,
    },
    /// Remove a mapping.
    Unmap {
        provider: String,
        #[command(flatten)]
        text: TextArg,
        #[arg(long = "app")]
        app_id: Option<String>,
    },
    /// List the template mappings (of one provider).
    Maps {
        provider: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Each provider's attempts, outcomes and mean latency over the last hours.
    Stats {
        #[arg(long, default_value_t = 1)]
        hours: i64,
    },
    /// An app's own providers, used for its messages instead of the configured ones: print them
    /// (secrets are never shown, only which are set), replace them, or clear them.
    App {
        #[arg(value_name = "APP_ID")]
        app_id: String,
        /// A JSON array of providers shaped like `[[delivery.providers]]` (aliyun, tencent,
        /// twilio); a secret left out keeps its stored value.
        #[arg(long, conflicts_with_all = ["file", "clear"])]
        set: Option<String>,
        /// The same JSON array, read from a file (`-`: standard input).
        #[arg(long, conflicts_with = "clear")]
        file: Option<std::path::PathBuf>,
        /// Remove them: the app uses the configured providers again.
        #[arg(long)]
        clear: bool,
    },
    /// Send one message through one provider now (not through the outbox) and print its answer.
    Test {
        provider: String,
        /// E.164 number, e.g. +8613800138000.
        #[arg(long)]
        to: String,
        /// Use this app's template mapping (and name).
        #[arg(long = "app")]
        app_id: Option<String>,
    },
}

fn mapping_json(m: &phonebase::core::outbox::routing::Mapping) -> serde_json::Value {
    serde_json::json!({
        "provider": m.provider, "app": m.app_id, "text": m.text_ref, "code": m.template_code,
        "params": m.params.iter().map(|(p, v)| format!("{p}={v}")).collect::<Vec<_>>(), "signName": m.sign_name,
    })
}

async fn provider_command(config: &Config, command: ProviderCommand) -> anyhow::Result<()> {
    use phonebase::core::outbox::routing::{Mapping, parse_params};
    let core = build_core(config, &Hooks::default()).await?;
    match command {
        ProviderCommand::List => {
            let mut routes = core.routes().to_vec();
            routes.sort_by_key(|r| r.priority);
            for r in routes {
                let kind =
                    config.delivery.providers.iter().find(|p| p.name == r.name).map_or("sink", |p| p.kind.as_str());
                let serves = if r.countries.is_empty() && r.prefixes.is_empty() {
                    "every number".to_string()
                } else {
                    [r.countries.clone(), r.prefixes.clone()].concat().join(",")
                };
                println!("{}  {kind}  priority {}  {}  {serves}", r.name, r.priority, r.channels.join("+"));
            }
            Ok(())
        }
        ProviderCommand::Map { provider, text, app_id, code, params, sign_name } => {
            let mapping = Mapping {
                provider,
                app_id,
                text_ref: text.text_ref(),
                template_code: code,
                params: parse_params(&params)?,
                sign_name,
            };
            let mapping = tokio::task::spawn_blocking(move || core.set_mapping(mapping)).await??;
            println!("{}", mapping_json(&mapping));
            Ok(())
        }
        ProviderCommand::Unmap { provider, text, app_id } => {
            let text_ref = text.text_ref();
            let removed =
                tokio::task::spawn_blocking(move || core.remove_mapping(&provider, app_id.as_deref(), &text_ref))
                    .await??;
            println!("{}", if removed { "removed" } else { "no such mapping" });
            Ok(())
        }
        ProviderCommand::Maps { provider, json } => {
            let maps = tokio::task::spawn_blocking(move || core.list_mappings(provider.as_deref())).await??;
            if json {
                println!("{}", serde_json::Value::Array(maps.iter().map(mapping_json).collect()));
            } else {
                for m in maps {
                    let v = mapping_json(&m);
                    println!(
                        "{}  {}  {}  {}  {}",
                        m.provider,
                        m.app_id.as_deref().unwrap_or("*"),
                        m.text_ref,
                        m.template_code,
                        v["params"]
                    );
                }
            }
            Ok(())
        }
        ProviderCommand::Stats { hours } => {
            let since = core.clock.now_naive() - chrono::TimeDelta::hours(hours);
            let health = tokio::task::spawn_blocking(move || core.provider_health(since)).await??;
            for h in health {
                let ok = if h.attempts > 0 { 100 * h.accepted / h.attempts } else { 100 };
                println!(
                    "{}  attempts {}  accepted {} ({ok}%)  delivered {}  undelivered {}  retried {}  failed {}  mean {} ms",
                    h.provider,
                    h.attempts,
                    h.accepted,
                    h.delivered,
                    h.undelivered,
                    h.retries,
                    h.failed,
                    h.mean_latency_ms
                );
            }
            Ok(())
        }
        ProviderCommand::App { app_id, set, file, clear } => {
            let list = match (set, file, clear) {
                (Some(json), _, _) => Some(json),
                (_, Some(path), _) if path.as_os_str() == "-" => Some(std::io::read_to_string(std::io::stdin())?),
                (_, Some(path), _) => Some(std::fs::read_to_string(&path)?),
                (_, _, true) => Some("[]".to_string()),
                _ => None,
            };
            let list = match list {
                Some(json) => match serde_json::from_str::<serde_json::Value>(&json)? {
                    serde_json::Value::Array(items) => Some(items),
                    _ => anyhow::bail!("the providers are a JSON array of objects"),
                },
                None => None,
            };
            let views = tokio::task::spawn_blocking(move || match list {
                Some(list) => core.set_app_providers(&app_id, list),
                None => core.app_providers(&app_id),
            })
            .await??;
            let shown: Vec<serde_json::Value> = views
                .iter()
                .map(|v| serde_json::json!({"name": v.name, "provider": v.qualified, "kind": v.kind, "config": v.config, "secretsSet": v.secrets_set}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(())
        }
        ProviderCommand::Test { provider, to, app_id } => {
            let phone = phonebase::core::phone::Phone::parse(&to)?;
            let answer =
                phonebase::delivery::test_send(config, &core, &provider, phone.e164(), app_id.as_deref()).await?;
            println!("{answer}");
            Ok(())
        }
    }
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import a LeanCloud `_User` export (console zip, folder, .jsonl / .json files) into an app:
    /// ids, fields, password hashes and session tokens come across; re-running changes nothing.
    Leancloud {
        /// The Phonebase app to import into.
        #[arg(long = "app")]
        app_id: String,
        /// Decide and report everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace users changed or deleted in Phonebase since the last import.
        #[arg(long)]
        overwrite: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Users written per transaction.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=5000))]
        batch_size: u64,
        /// Pause between batches, in milliseconds, to leave room for a busy live server.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
        /// Zip archives, folders or files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an operator; the password is asked for, or read from stdin.
    Create {
        username: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// List what waits for review (revision id, app, handle, name, body or text).
    Queue,
    /// List an app's templates (or signatures): handle, name, live state, open state, id.
    List {
        app_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve the pending revision (by revision id, or by template/signature id).
    Approve {
        id: String,
        /// Recorded as the reviewer.
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Reject the pending revision with a reason.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

/// Reads a password: the first line of stdin, or a prompt with echo off on a terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let terminal = !from_stdin && stdin.is_terminal();
    if terminal {
        eprint!("Password: ");
        std::io::stderr().flush()?;
        let _ = std::process::Command::new("stty").arg("-echo").stdin(std::process::Stdio::inherit()).status();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn review(core: &phonebase::core::Core, command: ReviewCommand, kind: Kind) -> anyhow::Result<()> {
    let (id, decision, by) = match command {
        ReviewCommand::Queue => {
            for entry in core.review_queue(1000)?.into_iter().filter(|e| e.item.kind == kind) {
                let text = match &entry.revision.content {
                    Content::Template { body, .. } => body,
                    Content::Signature { text, .. } => text,
                };
                println!(
                    "{}  app {}  #{} {}  rev {}  {text:?}",
                    entry.revision.id, entry.item.app_id, entry.item.handle, entry.item.name, entry.revision.number
                );
            }
            return Ok(());
        }
        ReviewCommand::List { app_id, json } => {
            core.app(&app_id)?;
            let items = core.items(&app_id, kind)?;
            let state = |r: Option<&phonebase::core::review::Revision>| r.map_or("-", |r| r.state.as_str());
            if json {
                let list: Vec<serde_json::Value> = items
                    .iter()
                    .map(|i| {
                        serde_json::json!({
                            "id": i.id,
                            "handle": i.handle,
                            "name": i.name,
                            "live": state(i.live.as_ref()),
                            "open": state(i.open.as_ref()),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for i in &items {
                    println!(
                        "#{}  {}  live {}  open {}  {}",
                        i.handle,
                        i.name,
                        state(i.live.as_ref()),
                        state(i.open.as_ref()),
                        i.id
                    );
                }
            }
            return Ok(());
        }
        ReviewCommand::Approve { id, by } => (id, Decision::Approve, by),
        ReviewCommand::Reject { id, reason, by } => (id, Decision::Reject { reason }, by),
    };
    let item = core.review_as(kind, &id, decision, &format!("operator:{by}"))?;
    // A rejection leaves the revision open; an approval makes it the live one.
    let state = item.open.as_ref().or(item.live.as_ref()).map_or("-", |r| r.state.as_str());
    println!("{} {} ({}): {state}", item.kind.as_str(), item.name, item.id);
    Ok(())
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app and print its appId, appKey and masterKey.
    Create {
        #[arg(long)]
        name: String,
        /// Keep an existing appId (e.g. the LeanCloud app's, which shipped apps send); random if absent.
        #[arg(long)]
        id: Option<String>,
        /// Keep an existing appKey; random if absent.
        #[arg(long)]
        app_key: Option<String>,
        /// Keep an existing masterKey; random if absent.
        #[arg(long)]
        master_key: Option<String>,
        #[command(flatten)]
        keys: DialectKeyArgs,
        /// Print {"appId","appKey","masterKey","bmob","jpush","mincloud"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List apps.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show an app with its settings and its keys in every dialect, as JSON.
    Show {
        app_id: String,
        /// Accepted for symmetry with the other commands: the output is always JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show or change the app's balance of billable SMS parts (unlimited by default): every
    /// message takes its parts when queued, and gives them back if it fails for good.
    Balance {
        app_id: String,
        /// Add N parts (an unlimited app starts a balance of N).
        #[arg(long, value_name = "N", conflicts_with_all = ["set", "unlimited"])]
        add: Option<i64>,
        /// Set the balance to N parts.
        #[arg(long, value_name = "N", conflicts_with = "unlimited")]
        set: Option<i64>,
        /// Make the app unlimited again.
        #[arg(long)]
        unlimited: bool,
        /// Print {"appId","balance"} (balance null when unlimited).
        #[arg(long)]
        json: bool,
    },
    /// Merge a JSON patch into an app's settings, e.g.
    /// '{"limits":{"phone_per_day":20},"test_numbers":{"+8613800000000":"123456"}}', and/or set
    /// the app's live LeanCloud upstream for lazy migration (`--upstream-*`).
    Update {
        app_id: String,
        #[arg(long)]
        settings: Option<String>,
        #[command(flatten)]
        upstream: UpstreamArgs,
        #[command(flatten)]
        keys: DialectKeyArgs,
        /// Give the app new random keys in a dialect (bmob, jpush or mincloud), e.g. after a leak.
        /// The old ones stop working (within a few seconds on other instances).
        #[arg(long, value_name = "DIALECT")]
        rotate_keys: Vec<String>,
    },
}

/// An app's keys in the other dialects. Apps moving in keep the keys their shipped clients carry;
/// the rest are random. Secrets can come from the environment to stay out of the process list.
#[derive(clap::Args, Default)]
struct DialectKeyArgs {
    /// Bmob Application ID (plain-header mode: X-Bmob-Application-Id).
    #[arg(long)]
    bmob_application_id: Option<String>,
    /// Bmob REST API Key.
    #[arg(long, env = "PHONEBASE_BMOB_REST_API_KEY", hide_env_values = true)]
    bmob_rest_api_key: Option<String>,
    /// Bmob Master Key.
    #[arg(long, env = "PHONEBASE_BMOB_MASTER_KEY", hide_env_values = true)]
    bmob_master_key: Option<String>,
    /// Bmob Secret Key (signed mode: X-Bmob-Secret-Key; 16 characters).
    #[arg(long)]
    bmob_secret_key: Option<String>,
    /// Bmob API security code (signs the signed mode; never sent by clients).
    #[arg(long, env = "PHONEBASE_BMOB_SECURITY_CODE", hide_env_values = true)]
    bmob_security_code: Option<String>,
    /// JPush appKey.
    #[arg(long)]
    jpush_app_key: Option<String>,
    /// JPush masterSecret.
    #[arg(long, env = "PHONEBASE_JPUSH_MASTER_SECRET", hide_env_values = true)]
    jpush_master_secret: Option<String>,
    /// MinCloud (知晓云) client id.
    #[arg(long)]
    mincloud_client_id: Option<String>,
    /// MinCloud client secret.
    #[arg(long, env = "PHONEBASE_MINCLOUD_CLIENT_SECRET", hide_env_values = true)]
    mincloud_client_secret: Option<String>,
}

impl DialectKeyArgs {
    fn given(&self) -> Vec<(Dialect, &'static str, &str)> {
        use phonebase::core::credentials::*;
        [
            (Dialect::Bmob, BMOB_APPLICATION_ID, &self.bmob_application_id),
            (Dialect::Bmob, BMOB_REST_API_KEY, &self.bmob_rest_api_key),
            (Dialect::Bmob, BMOB_MASTER_KEY, &self.bmob_master_key),
            (Dialect::Bmob, BMOB_SECRET_KEY, &self.bmob_secret_key),
            (Dialect::Bmob, BMOB_SECURITY_CODE, &self.bmob_security_code),
            (Dialect::JPush, JPUSH_APP_KEY, &self.jpush_app_key),
            (Dialect::JPush, JPUSH_MASTER_SECRET, &self.jpush_master_secret),
            (Dialect::MinCloud, MINCLOUD_CLIENT_ID, &self.mincloud_client_id),
            (Dialect::MinCloud, MINCLOUD_CLIENT_SECRET, &self.mincloud_client_secret),
        ]
        .into_iter()
        .filter_map(|(d, n, v)| v.as_deref().map(|v| (d, n, v)))
        .collect()
    }

    /// Writes the given keys; the app as it is afterwards.
    fn apply(&self, core: &Core, app_id: &str) -> anyhow::Result<()> {
        for (dialect, name, value) in self.given() {
            core.set_credential(app_id, dialect, name, Some(value))?;
        }
        Ok(())
    }
}

/// Lazy migration: until `--upstream-until`, users, numbers and session tokens this app does not
/// know are looked up in the live LeanCloud app and moved in. Keys are sealed, never shown back.
#[derive(clap::Args)]
struct UpstreamArgs {
    /// The LeanCloud app's serverURL (its API domain), e.g. https://abc.lc-cn-n1-shared.com.
    #[arg(long = "upstream-leancloud", value_name = "SERVER_URL", requires_all = ["upstream_app_id", "upstream_app_key", "upstream_master_key", "upstream_until"])]
    upstream_leancloud: Option<String>,
    /// The LeanCloud appId.
    #[arg(long, requires = "upstream_leancloud")]
    upstream_app_id: Option<String>,
    /// The LeanCloud appKey (or the environment, to keep it out of the process list).
    #[arg(long, env = "PHONEBASE_UPSTREAM_APP_KEY", hide_env_values = true, requires = "upstream_leancloud")]
    upstream_app_key: Option<String>,
    /// The LeanCloud masterKey (or the environment).
    #[arg(long, env = "PHONEBASE_UPSTREAM_MASTER_KEY", hide_env_values = true, requires = "upstream_leancloud")]
    upstream_master_key: Option<String>,
    /// Ask the upstream until this date (YYYY-MM-DD: its start, UTC) or time (RFC 3339), e.g. 2027-01-12.
    #[arg(long, value_parser = parse_until, requires = "upstream_leancloud")]
    upstream_until: Option<chrono::NaiveDateTime>,
    /// Switch lazy migration off and forget the upstream's keys.
    #[arg(long, conflicts_with = "upstream_leancloud")]
    upstream_off: bool,
}

fn parse_until(text: &str) -> Result<chrono::NaiveDateTime, String> {
    phonebase::core::accounts::upstream::parse_until(text).map_err(|e| e.to_string())
}

fn app_json(app: &App, with_settings: bool) -> serde_json::Value {
    let c = &app.credentials;
    let mut v = serde_json::json!({
        "appId": app.id, "name": app.name, "appKey": app.app_key, "masterKey": app.master_key,
        "bmob": c.bmob, "jpush": c.jpush, "mincloud": c.mincloud,
    });
    if with_settings {
        v["settings"] = serde_json::to_value(&app.settings).unwrap_or_default();
    }
    v
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    phonebase::telemetry::init(config.log_format);
    match cli.command {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            let app = Application::build(config.clone()).await?;
            tracing::info!(bind = %config.bind, port = app.port(), "phonebase listening");
            app.run_until_stopped().await
        }
        Command::Migrate => {
            phonebase::startup::migrate(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Secret(SecretCommand::Generate) => {
            println!("{}", phonebase::core::secrets::Keys::generate_secret());
            Ok(())
        }
        Command::Secret(SecretCommand::FromDatabase) => match phonebase::startup::legacy_secret(&config).await? {
            // To stdout only, for a redirection into a file: never to the logs.
            Some(secret) => {
                println!("{}", secret.trim());
                Ok(())
            }
            None => anyhow::bail!("this database holds no server secret (nothing to move)"),
        },
        Command::Admin(AdminCommand::Create { username, password_stdin }) => {
            let password = read_password(password_stdin)?;
            let core = build_core(&config, &Hooks::default()).await?;
            let operator = tokio::task::spawn_blocking(move || core.create_operator(&username, &password)).await??;
            println!("operator {} created", operator.username);
            Ok(())
        }
        Command::Template(command) => {
            let core = build_core(&config, &Hooks::default()).await?;
            tokio::task::spawn_blocking(move || review(&core, command, Kind::Template)).await?
        }
        Command::Signature(command) => {
            let core = build_core(&config, &Hooks::default()).await?;
            tokio::task::spawn_blocking(move || review(&core, command, Kind::Signature)).await?
        }
        Command::Provider(command) => provider_command(&config, command).await,
        Command::Import(ImportCommand::Leancloud { app_id, dry_run, overwrite, json, batch_size, pause_ms, paths }) => {
            let core = build_core(&config, &Hooks::default()).await?;
            let args = phonebase::import::ImportArgs {
                app_id,
                options: phonebase::core::accounts::import::ImportOptions { dry_run, overwrite },
                paths,
                batch_size: batch_size as usize,
                pause: std::time::Duration::from_millis(pause_ms),
                json,
            };
            tokio::task::spawn_blocking(move || phonebase::import::run(&core, args)).await?
        }
        Command::App(command) => {
            let core = build_core(&config, &Hooks::default()).await?;
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                match *command {
                    AppCommand::Create { name, id, app_key, master_key, keys, json } => {
                        let app = core.create_app(NewApp { name, id, app_key, master_key, ..Default::default() })?;
                        keys.apply(&core, &app.id)?;
                        let app = core.app(&app.id)?;
                        if json {
                            let mut v = app_json(&app, false);
                            v.as_object_mut().map(|o| o.remove("name"));
                            println!("{v}");
                        } else {
                            println!("appId:     {}\nappKey:    {}\nmasterKey: {}", app.id, app.app_key, app.master_key);
                            println!("(keys of the other dialects: phonebase app show {})", app.id);
                        }
                    }
                    AppCommand::List { json } => {
                        let apps = core.list_apps()?;
                        if json {
                            println!("{}", serde_json::Value::Array(apps.iter().map(|a| app_json(a, false)).collect()));
                        } else {
                            for app in apps {
                                println!("{}  {}", app.id, app.name);
                            }
                        }
                    }
                    AppCommand::Show { app_id, json: _ } => {
                        let app = core.app(&app_id)?;
                        let mut v = app_json(&app, true);
                        v["upstream"] = serde_json::to_value(core.upstream_status(&app_id)?)?;
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    }
                    AppCommand::Balance { app_id, add, set, unlimited, json } => {
                        let balance = match (add, set, unlimited) {
                            (Some(n), _, _) => Some(core.top_up(&app_id, n)?),
                            (_, Some(n), _) => core.set_balance(&app_id, Some(n))?,
                            (_, _, true) => core.set_balance(&app_id, None)?,
                            _ => core.balance(&app_id)?,
                        };
                        if json {
                            println!("{}", serde_json::json!({"appId": app_id, "balance": balance}));
                        } else {
                            match balance {
                                Some(n) => println!("{app_id}: {n} parts"),
                                None => println!("{app_id}: unlimited"),
                            }
                        }
                    }
                    AppCommand::Update { app_id, settings, upstream, keys, rotate_keys } => {
                        let upstream_change = if upstream.upstream_off {
                            Some(None)
                        } else {
                            upstream.upstream_leancloud.map(|server_url| {
                                Some(phonebase::core::accounts::upstream::NewUpstream {
                                    server_url,
                                    app_id: upstream.upstream_app_id.unwrap_or_default(),
                                    app_key: upstream.upstream_app_key.unwrap_or_default(),
                                    master_key: upstream.upstream_master_key.unwrap_or_default(),
                                    until: upstream.upstream_until.unwrap_or_default(),
                                })
                            })
                        };
                        let rotate = rotate_keys
                            .iter()
                            .map(|d| {
                                Dialect::ALL.into_iter().find(|x| x.as_str() == d.as_str()).ok_or_else(|| {
                                    anyhow::anyhow!("--rotate-keys takes bmob, jpush or mincloud, not {d:?}")
                                })
                            })
                            .collect::<anyhow::Result<Vec<_>>>()?;
                        anyhow::ensure!(
                            settings.is_some() || upstream_change.is_some() || !keys.given().is_empty() || !rotate.is_empty(),
                            "nothing to update: give --settings, --upstream-leancloud ..., --upstream-off, a dialect key (--bmob-..., --jpush-..., --mincloud-...) or --rotate-keys"
                        );
                        for dialect in rotate {
                            core.rotate_credentials(&app_id, dialect)?;
                        }
                        keys.apply(&core, &app_id)?;
                        if let Some(settings) = settings {
                            let patch = serde_json::from_str(&settings).context("--settings must be JSON")?;
                            core.update_app_settings(&app_id, patch)?;
                        }
                        if let Some(change) = upstream_change {
                            core.set_upstream(&app_id, change)?;
                        }
                        let app = core.app(&app_id)?;
                        let mut v = app_json(&app, true);
                        v["upstream"] = serde_json::to_value(core.upstream_status(&app_id)?)?;
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    }
                }
                Ok(())
            })
            .await?
        }
    }
}
