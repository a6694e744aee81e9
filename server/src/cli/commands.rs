//! The client commands: each is one or two calls through `cosmictron-client`.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Args;
use cosmictron_client::{Client, ClientError};
use serde_json::Value as Json;

use crate::cli::{Command, credentials, table};

#[derive(Debug, Args)]
pub(crate) struct CredentialsArgs {
    #[arg(long, env = "COSMICTRON_EMAIL")]
    email: String,
    #[arg(long, env = "COSMICTRON_PASSWORD", hide_env_values = true)]
    password: String,
}

fn explain(e: ClientError) -> anyhow::Error {
    match &e {
        ClientError::NoToken => {
            anyhow::anyhow!("not signed in: run `cosmictron login` or `cosmictron sign-up` first")
        }
        _ => anyhow::anyhow!(e),
    }
}

async fn signed_in(server: &str) -> anyhow::Result<Client> {
    let mut client = Client::new(server)?;
    if let Some(token) = credentials::token_for(server)? {
        client.set_token(token);
    }
    Ok(client)
}

pub(crate) async fn run(server: &str, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(_) => anyhow::bail!("`serve` is not a client command"),
        Command::Generate(_) => anyhow::bail!("`generate` is run by cli::generate"),
        Command::SignUp(a) => {
            let mut client = Client::new(server)?;
            let s = client
                .sign_up(&a.email, &a.password)
                .await
                .map_err(explain)?;
            let at = credentials::save(server, &s.token)?;
            println!(
                "signed up as {} (identity {}); token saved to {}",
                a.email,
                s.identity,
                at.display()
            );
        }
        Command::Login(a) => {
            let mut client = Client::new(server)?;
            let s = client
                .sign_in(&a.email, &a.password)
                .await
                .map_err(explain)?;
            let at = credentials::save(server, &s.token)?;
            println!(
                "signed in as {} (identity {}); token saved to {}",
                a.email,
                s.identity,
                at.display()
            );
        }
        Command::Deploy { file, name } => {
            let name = match name {
                Some(n) => n,
                None => file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(|s| s.replace('-', "_"))
                    .context("give the module a name with --name")?,
            };
            let wasm =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            eprintln!(
                "uploading {} ({:.1} KiB) as `{name}`…",
                file.display(),
                wasm.len() as f64 / 1024.0
            );
            let meter = super::progress::UploadMeter::new(std::io::stderr().is_terminal());
            let out = signed_in(server)
                .await?
                .deploy_with_progress(&name, wasm, move |sent, total| meter.update(sent, total))
                .await
                .map_err(explain)?;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Modules => {
            let modules = signed_in(server).await?.modules().await.map_err(explain)?;
            let rows: Vec<Vec<Json>> = modules
                .iter()
                .map(|m| {
                    vec![
                        Json::from(m.name.clone()),
                        Json::from(m.version.clone()),
                        Json::from(m.reducers.join(", ")),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(&["name".into(), "version".into(), "reducers".into()], &rows)
            );
        }
        Command::Call {
            reducer,
            args,
            module,
        } => {
            let args: Json = serde_json::from_str(&args).context("the arguments are not JSON")?;
            let client = signed_in(server).await?;
            let out = match module {
                Some(m) => client.call_in(&m, &reducer, &args).await,
                None => client.call(&reducer, &args).await,
            }
            .map_err(explain)?;
            println!(
                "committed tx {} in {:.2} ms",
                out.tx_id.map_or("-".to_owned(), |t| t.to_string()),
                out.duration_ms
            );
            if !out.result.is_null() {
                println!("{}", serde_json::to_string_pretty(&out.result)?);
            }
        }
        Command::Sql {
            query,
            params,
            json,
        } => {
            let params: Vec<Json> = params
                .iter()
                .map(|p| serde_json::from_str(p).unwrap_or_else(|_| Json::String(p.clone())))
                .collect();
            let rows = signed_in(server)
                .await?
                .sql(&query, &params)
                .await
                .map_err(explain)?;
            if json {
                let out = serde_json::json!({"columns": rows.columns, "rows": rows.rows, "tx_id": rows.tx_id});
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", table::render(&rows.columns, &rows.rows));
            }
        }
        Command::Subscribe { query } => {
            let mut live = signed_in(server)
                .await?
                .subscribe(&query, &[])
                .await
                .map_err(explain)?;
            println!("tx {}: {} rows", live.tx_id(), live.rows().len());
            print!("{}", table::render(live.columns(), live.rows()));
            loop {
                let u = live.next().await.map_err(explain)?;
                for d in &u.deletes {
                    println!("tx {} - {}", u.tx_id, Json::Array(d.clone()));
                }
                for i in &u.inserts {
                    println!("tx {} + {}", u.tx_id, Json::Array(i.clone()));
                }
            }
        }
        Command::Logs { module, follow } => {
            let client = signed_in(server).await?;
            let print = |l: Json| {
                println!(
                    "{} {:5} {}{}",
                    l["timestamp"],
                    l["level"].as_str().unwrap_or(""),
                    l["reducer"]
                        .as_str()
                        .map(|r| format!("[{r}] "))
                        .unwrap_or_default(),
                    l["message"].as_str().unwrap_or("")
                );
            };
            if follow {
                client.follow_logs(&module, print).await.map_err(explain)?;
            } else {
                client
                    .logs(&module)
                    .await
                    .map_err(explain)?
                    .into_iter()
                    .for_each(print);
            }
        }
    }
    Ok(())
}
