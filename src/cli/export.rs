//! `export`: stored credentials as a pull secret, on stdout or in a 0600 file.

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::CommandResult;
use crate::export::document::Document;
use crate::export::link::{self, LiveServiceAccount};
use crate::export::manifest::{self, Syntax};
use crate::export::select::Pattern;
use crate::export::{self as ex, dockerconfig, PayloadKind, Selection};
use crate::store::Credentials;

const AFTER_HELP: &str = "\
Docker Hub is exported under https://index.docker.io/v1/ (the key kubelet and docker read).
A registry's paired auth server comes along unless --no-auth-servers.

Examples:
  docker-credential-keyring export --registry quay.io > config.json
  docker-credential-keyring export --format secret --namespace team-a | kubectl apply -f -
  kubectl get serviceaccount default -n team-a -o json \\
    | docker-credential-keyring export --format secret -n team-a \\
        --link-service-account default --service-accounts - \\
    | kubectl apply -f -
  oc get secret/pull-secret -n openshift-config -o json \\
    | docker-credential-keyring export --merge - --registry privateregistry.example.com \\
    | oc apply -f -

Exit codes: 0 written, 1 error (nothing was written), 2 bad command line.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The raw {"auths":{...}} payload (for `oc set data --from-file=.dockerconfigjson=`)
    Dockerconfigjson,
    /// The legacy .dockercfg map (no "auths" wrapper)
    Dockercfg,
    /// A whole v1 Secret (JSON, or YAML with --yaml) for `kubectl apply -f -`
    Secret,
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Output format [default: dockerconfigjson]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Only these registries (repeatable; key or glob like '*.example.com')
    #[arg(long = "registry", value_name = "KEY")]
    pub registries: Vec<String>,
    /// Do not add the auth servers paired with the selected registries
    #[arg(long)]
    pub no_auth_servers: bool,
    /// Export identity-token credentials too (kubelet ignores them)
    #[arg(long)]
    pub include_tokens: bool,
    /// Email to put in every exported entry (overrides `login --email`)
    #[arg(long)]
    pub email: Option<String>,
    /// Secret name (--format secret)
    #[arg(long, default_value = "pull-secret")]
    pub name: String,
    /// Secret namespace (repeatable: one Secret per namespace, in a v1 List)
    #[arg(long = "namespace", short = 'n', value_name = "NAMESPACE")]
    pub namespaces: Vec<String>,
    /// Secret of type kubernetes.io/dockercfg (legacy .dockercfg payload)
    #[arg(long)]
    pub legacy: bool,
    /// Print the Secret or List as YAML instead of JSON
    #[arg(long)]
    pub yaml: bool,
    /// Add the Secret to this service account's imagePullSecrets ([NAMESPACE/]NAME,
    /// repeatable): with --service-accounts, as ServiceAccounts in the output;
    /// without, as safe `kubectl patch` commands on stderr (see --link-commands)
    #[arg(long = "link-service-account", value_name = "SA")]
    pub link_service_accounts: Vec<String>,
    /// The live ServiceAccounts to link (FILE or - for stdin: `kubectl get serviceaccount
    /// NAME -n NS -o json`, one or a List); the output adds each, its imagePullSecrets
    /// kept and the Secret added, guarded by its resourceVersion
    #[arg(
        long,
        value_name = "FILE",
        requires = "link_service_accounts",
        conflicts_with = "link_commands"
    )]
    pub service_accounts: Option<String>,
    /// Print only the `kubectl patch` commands that link the service accounts (for `| sh`)
    #[arg(long, requires = "link_service_accounts")]
    pub link_commands: bool,
    /// Update an existing pull secret (FILE or - for stdin): raw, dockercfg, or Secret in JSON/YAML
    #[arg(long, value_name = "FILE")]
    pub merge: Option<String>,
    /// With --merge: keep resourceVersion, uid, creationTimestamp and managedFields
    #[arg(long, requires = "merge")]
    pub keep_metadata: bool,
    /// With --merge: print a JSON merge patch for `kubectl patch secret/NAME --type=merge -p`
    #[arg(long, requires = "merge")]
    pub patch: bool,
    /// Write to FILE (mode 0600, replaced atomically) instead of stdout; `-`,
    /// /dev/stdout, /dev/fd/N, a FIFO or /dev/null are written to as streams;
    /// a directory, socket or other device is refused
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> CommandResult {
    check_flags(&args)?;
    // Read the document to merge before touching the store: bad input fails first.
    let merge_doc = match &args.merge {
        Some(source) => Some(Document::parse(&super::import::read_input(source)?)?),
        None => None,
    };
    let live_service_accounts = match &args.service_accounts {
        Some(source) => Some(link::parse_service_accounts(&super::import::read_input(
            source,
        )?)?),
        None => None,
    };
    let selection = Selection {
        patterns: args
            .registries
            .iter()
            .map(|r| Pattern::parse(r))
            .collect::<Result<_>>()?,
        no_auth_servers: args.no_auth_servers,
        include_tokens: args.include_tokens,
        email: args.email.clone(),
    };
    let store = Credentials::open()?;
    let collected = ex::collect(&store, &selection)?;
    for warning in &collected.warnings {
        crate::errln!("warning: {warning}");
    }
    // A Secret lives long: say when a token in it will stop working soon.
    for (key, entry) in &collected.entries {
        let (ex::Entry::Password { password: s, .. } | ex::Entry::IdentityToken(s)) = entry;
        if let Some(w) = crate::jwt::warning(key, crate::jwt::expiry(s.expose())) {
            crate::errln!("warning: {w}; the exported pull secret stops working then");
        }
    }
    let text = match &merge_doc {
        Some(doc) => {
            let payload = doc.merged_payload(&ex::entry_map(&collected.entries))?;
            if args.patch {
                let data_key = doc.payload_kind().data_key();
                let encoded = {
                    use base64::Engine;
                    dockerconfig::B64.encode(dockerconfig::payload_bytes(&payload))
                };
                let patch = serde_json::json!({"data": {data_key: encoded}});
                format!("{}\n", crate::gojson::to_string(&patch))
            } else {
                doc.render_with(&payload, args.keep_metadata)?
            }
        }
        None => fresh_output(&args, &collected.entries, live_service_accounts.as_deref())?,
    };
    emit(&args, &text)?;
    Ok(0)
}

/// Flags that only make sense together, checked before any work.
fn check_flags(args: &Args) -> Result<()> {
    let secret_only = [
        (args.name != "pull-secret", "--name"),
        (!args.namespaces.is_empty(), "--namespace"),
        (args.legacy, "--legacy"),
        (args.yaml, "--yaml"),
        (
            !args.link_service_accounts.is_empty(),
            "--link-service-account",
        ),
    ];
    if args.merge.is_some() {
        if let Some((_, flag)) = secret_only
            .iter()
            .find(|(set, _)| *set)
            .or(args.format.is_some().then_some(&(true, "--format")))
        {
            bail!("{flag} cannot be used with --merge: the merged pull secret keeps the shape, name and namespace it came with");
        }
    } else if args.format != Some(Format::Secret) && !args.link_commands {
        if let Some((_, flag)) = secret_only.iter().find(|(set, _)| *set) {
            bail!("{flag} needs --format secret");
        }
    }
    for ns in &args.namespaces {
        check_name("--namespace", ns)?;
    }
    check_name("--name", &args.name)?;
    Ok(())
}

/// A Kubernetes object name: lower-case alphanumerics, '-' and '.', at most 253.
fn check_name(flag: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        bail!("{flag} {name:?} is not a valid Kubernetes name (lower-case letters, digits, '-' and '.')");
    }
    Ok(())
}

/// The output of an export without --merge.
fn fresh_output(
    args: &Args,
    entries: &std::collections::BTreeMap<String, ex::Entry>,
    live_service_accounts: Option<&[LiveServiceAccount]>,
) -> Result<String> {
    let format = args.format.unwrap_or(Format::Dockerconfigjson);
    let kind = match format {
        Format::Dockercfg => PayloadKind::DockerCfg,
        Format::Secret if args.legacy => PayloadKind::DockerCfg,
        _ => PayloadKind::DockerConfigJson,
    };
    let payload = dockerconfig::payload_bytes(&dockerconfig::payload_value(kind, entries));
    let targets = link_targets(args)?;
    let commands: Vec<String> = targets
        .iter()
        .map(|(ns, sa)| manifest::link_command(ns.as_deref(), sa, &args.name))
        .collect();
    if args.link_commands {
        return Ok(commands.iter().map(|l| format!("{l}\n")).collect());
    }
    if format != Format::Secret {
        return Ok(payload);
    }
    let namespaces: Vec<Option<&str>> = if args.namespaces.is_empty() {
        vec![None]
    } else {
        args.namespaces.iter().map(|n| Some(n.as_str())).collect()
    };
    let mut secrets: Vec<serde_json::Value> = namespaces
        .iter()
        .map(|ns| manifest::secret(&args.name, *ns, kind, &payload))
        .collect();
    let syntax = if args.yaml {
        Syntax::Yaml
    } else {
        Syntax::Json
    };
    if let Some(live) = live_service_accounts {
        secrets.extend(linked_service_accounts(args, &targets, live)?);
    } else if !commands.is_empty() {
        crate::errln!("# ServiceAccount imagePullSecrets is an atomic list: `kubectl apply` of a");
        crate::errln!("# ServiceAccount would replace it, so link the Secret with these patches");
        crate::errln!(
            "# (or rerun with --link-commands and pipe to sh) after applying it, or pipe"
        );
        crate::errln!(
            "# the live ServiceAccounts in with --service-accounts - to get them in the output:"
        );
        for command in &commands {
            crate::errln!("{command}");
        }
    }
    let object = if secrets.len() == 1 && args.link_service_accounts.is_empty() {
        secrets.remove(0)
    } else {
        manifest::list(secrets)
    };
    Ok(match syntax {
        Syntax::Yaml => manifest::render(&manifest::sorted(&object), syntax),
        Syntax::Json => manifest::render(&object, syntax),
    })
}

/// Every `--link-service-account` as (namespace, service account): `NS/SA`,
/// or `SA` in each `--namespace` (none: kubectl's current namespace).
fn link_targets(args: &Args) -> Result<Vec<(Option<String>, String)>> {
    let mut out = Vec::new();
    for spec in &args.link_service_accounts {
        let (ns, sa) = match spec.split_once('/') {
            Some((ns, sa)) => (Some(ns), sa),
            None => (None, spec.as_str()),
        };
        check_name("--link-service-account", sa)?;
        match ns {
            Some(ns) => {
                check_name("--link-service-account namespace", ns)?;
                if !args.namespaces.is_empty() && !args.namespaces.iter().any(|n| n == ns) {
                    bail!("--link-service-account {spec}: the Secret is not exported to namespace {ns:?}; add --namespace {ns}");
                }
                out.push((Some(ns.to_owned()), sa.to_owned()));
            }
            None if args.namespaces.is_empty() => out.push((None, sa.to_owned())),
            None => out.extend(
                args.namespaces
                    .iter()
                    .map(|ns| (Some(ns.clone()), sa.to_owned())),
            ),
        }
    }
    Ok(out)
}

/// The ServiceAccount objects for `--service-accounts`: each link target's
/// live ServiceAccount with the Secret added (see [`link`]).
fn linked_service_accounts(
    args: &Args,
    targets: &[(Option<String>, String)],
    live: &[LiveServiceAccount],
) -> Result<Vec<serde_json::Value>> {
    if args.namespaces.is_empty() {
        bail!("--service-accounts needs the Secret's namespace: pass --namespace, so the Secret lands where the ServiceAccounts are");
    }
    targets
        .iter()
        .map(|(ns, sa)| {
            // With --namespace given, every target has one (see link_targets).
            let Some(ns) = ns else {
                bail!("--link-service-account {sa}: no namespace; pass --namespace");
            };
            let found = live
                .iter()
                .find(|l| &l.namespace == ns && &l.name == sa)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--link-service-account {ns}/{sa}: no such ServiceAccount in the --service-accounts input; add it: kubectl get serviceaccount {sa} -n {ns} -o json"
                    )
                })?;
            Ok(found.linked(&args.name))
        })
        .collect()
}

/// Writes `text` to --output (see [`super::output`]) or stdout.
fn emit(args: &Args, text: &str) -> Result<()> {
    match &args.output {
        Some(path) => super::output::write(path, text.as_bytes()),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}"))
        }
    }
}
