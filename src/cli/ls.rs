//! `ls`: the stored credentials as a table or JSON, from the index alone
//! (no keyring call, no secret read), unless `--expiry` asks for the secrets.

use super::CommandResult;
use crate::store::{Credentials, IDENTITY_TOKEN_USER};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Columns: SERVER (the key docker and podman look up), USERNAME, STORE (where the secret is),
AUTH SERVER (the paired SSO/token server, see `pair`), TOKEN (the secret is an identity token).
A cell longer than 200 characters is cut with `…`; --json and -q print it whole.

Exit codes: 0 listed, 1 error (the store could not be read), 2 bad command line.")]
pub(crate) struct Args {
    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,
    /// Print only the server keys
    #[arg(short, long, conflicts_with = "json")]
    pub(crate) quiet: bool,
    /// Add when each secret that is a JWT expires (reads every secret: the keyring may ask to unlock)
    #[arg(long, conflicts_with = "quiet")]
    pub(crate) expiry: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    // The index without secrets, one read: plain ls never loads a secret;
    // `--expiry` reads every secret (a locked keyring may ask to unlock).
    let store = Credentials::open()?;
    let mut view = store.index_view()?;
    let db = if args.expiry {
        Some(store.load()?)
    } else {
        None
    };
    let pairs = crate::pairs::take_auth_servers(&mut view);
    let rows: Vec<Row> = Credentials::listed(view)
        .into_iter()
        .map(|l| Row {
            expires: db.as_ref().map(|db| {
                crate::jwt::of_stored(&store, db, &l.key)
                    .map_or_else(|_| "unreadable".into(), |e| e.display())
            }),
            pair: pairs.get(&l.key).cloned(),
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
    /// With --expiry: the JWT's exp (UTC) or "unknown".
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
}

fn print_table(rows: &[Row]) {
    if rows.iter().any(|r| r.expires.is_some()) {
        let cells: Vec<[String; 6]> = rows
            .iter()
            .map(|r| {
                let [a, b, c, d, e] = cells_of(r);
                [a, b, c, d, e, r.expires.clone().unwrap_or_default()]
            })
            .collect();
        return super::table::print(
            [
                "SERVER",
                "USERNAME",
                "STORE",
                "AUTH SERVER",
                "TOKEN",
                "EXPIRES",
            ],
            &cells,
        );
    }
    let cells: Vec<[String; 5]> = rows.iter().map(cells_of).collect();
    super::table::print(
        ["SERVER", "USERNAME", "STORE", "AUTH SERVER", "TOKEN"],
        &cells,
    );
}

fn cells_of(r: &Row) -> [String; 5] {
    [
        r.server.clone(),
        r.username.clone(),
        r.store.clone(),
        r.pair.clone().unwrap_or_else(|| "-".into()),
        if r.token { "yes".into() } else { "no".into() },
    ]
}
