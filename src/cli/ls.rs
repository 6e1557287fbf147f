//! `ls`: the stored credentials as a table or JSON, from the index alone
//! (no keyring call, no secret read).

use super::CommandResult;
use crate::store::{Credentials, IDENTITY_TOKEN_USER};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Columns: SERVER (the key docker and podman look up), USERNAME, STORE (where the secret is),
AUTH SERVER (the paired SSO/token server, see `pair`), TOKEN (the secret is an identity token).

Exit codes: 0 listed, 1 error (the store could not be read), 2 bad command line.")]
pub struct Args {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Print only the server keys
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,
}

pub fn run(args: Args) -> CommandResult {
    // The index without secrets, one read: ls never loads a secret.
    let mut view = Credentials::open()?.index_view()?;
    let pairs = std::mem::take(&mut view.pairs);
    let rows: Vec<Row> = Credentials::listed(view)
        .into_iter()
        .map(|l| Row {
            pair: pairs.get(&l.key).map(|p| p.auth_server.clone()),
            token: l.username == IDENTITY_TOKEN_USER,
            server: l.key,
            username: l.username,
            store: l.store.name().to_owned(),
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if args.quiet {
        for row in &rows {
            crate::outln!("{}", row.server);
        }
    } else if rows.is_empty() {
        // A header over nothing reads like a failure: say so, and how to add one.
        println!(
            "No credentials stored. Add one with `{bin} login REGISTRY`, \
             `docker login REGISTRY` after `{bin} configure`, or `{bin} import FILE`.",
            bin = crate::BINARY_NAME
        );
    } else {
        print_table(&rows);
    }
    Ok(0)
}

#[derive(Debug, serde::Serialize)]
struct Row {
    server: String,
    username: String,
    store: String,
    #[serde(rename = "authServer")]
    pair: Option<String>,
    #[serde(rename = "identityToken")]
    token: bool,
}

fn print_table(rows: &[Row]) {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.server.clone(),
                r.username.clone(),
                r.store.clone(),
                r.pair.clone().unwrap_or_else(|| "-".into()),
                if r.token { "yes".into() } else { "no".into() },
            ]
        })
        .collect();
    super::table::print(
        ["SERVER", "USERNAME", "STORE", "AUTH SERVER", "TOKEN"],
        &cells,
    );
}
