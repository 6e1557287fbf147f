//! `export`: stored credentials as a pull secret, on stdout or in a 0600 file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::CommandResult;
use crate::export::document::{Document, Metadata};
use crate::export::kube_name;
use crate::export::link;
use crate::export::link_script::LinkFor;
use crate::export::manifest::Syntax;
use crate::export::render::{self, Merge, Request};
use crate::export::select::Pattern;
use crate::export::{self as ex, Selection};
use crate::reader::source::read_source;
use crate::registry::ServerKey;
use crate::store::Credentials;

const AFTER_HELP: &str = "\
Docker Hub is exported under https://index.docker.io/v1/ (the key kubelet and docker read).
A registry's paired auth server comes along unless --no-auth-servers (with --merge only
when --registry names it too); --registry can also name an auth server itself, which is
exported with the credential `get` answers for it.

Examples:
  docker-credential-keyring export --registry quay.io > config.json
  docker-credential-keyring export --format secret --namespace team-a | kubectl create -f -
  kubectl get serviceaccount default -n team-a -o json \\
    | docker-credential-keyring export --format secret -n team-a \\
        --link-service-account default --service-accounts - \\
    | kubectl apply -f -
  docker-credential-keyring export --format secret -n team-a --link-service-account default \\
      --link-commands --kubectl oc | sh
  oc get secret/pull-secret -n openshift-config -o json \\
    | docker-credential-keyring export --merge - --registry privateregistry.example.com \\
    | oc replace -f -
  (--merge keeps the Secret's resourceVersion: if it changed since the `get`, `replace` fails
  with a Conflict and changes nothing; run the whole pipeline again)

--merge writes only the registries --registry names (every stored credential only with
--all-registries). Each ends under one key with the new credential; its other spellings
(http://HOST, HOST/v2/, upper case) are removed. An entry of another username (e.g. the
OpenShift release credential on quay.io) is replaced only with --replace HOST: otherwise
nothing is written. What the merge did per registry (added, updated, replaced, unchanged,
spellings removed) goes to stderr. --merge FILE -o FILE creates FILE when it is missing.

The link script (--link-commands) checks each Secret is on the cluster, waits up to --wait
seconds for each service account (and on OpenShift for its own image pull secret: after the
wait it warns and links anyway), then adds each Secret with a JSON patch guarded by the
resourceVersion read, retried from a fresh read on 409 Conflict (5 tries). It exits 0 when
every link is made or already there, 1 otherwise.

Exit codes: 0 written, 1 error (nothing was written), 2 bad command line.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// The raw {"auths":{...}} payload (for `oc set data --from-file=.dockerconfigjson=`)
    Dockerconfigjson,
    /// The legacy .dockercfg map (no "auths" wrapper)
    Dockercfg,
    /// A whole v1 Secret (JSON, or YAML with --yaml) for `kubectl create -f -`
    Secret,
}

/// One `--for` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LinkUse {
    /// imagePullSecrets: kubelet pulls the pods' images with it
    Pull,
    /// secrets: pods may mount it
    Mount,
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct Args {
    /// Output format [default: dockerconfigjson]
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,
    /// Only these registries (repeatable; key or glob like '*.example.com')
    #[arg(long = "registry", value_name = "KEY")]
    pub(crate) registries: Vec<String>,
    /// Do not add the auth servers paired with the selected registries
    #[arg(long)]
    pub(crate) no_auth_servers: bool,
    /// Export identity-token credentials too (kubelet ignores them)
    #[arg(long)]
    pub(crate) include_tokens: bool,
    /// Email to put in every exported entry (overrides `login --email`)
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// Secret name (--format secret)
    #[arg(long, default_value = "pull-secret")]
    pub(crate) name: String,
    /// With --format secret: one Secret NAME holding only REGISTRY's entry (repeatable,
    /// e.g. --split private-registry=registry.connect.redhat.com --split
    /// redhat-connect-sso=sso.redhat.com); exports exactly those registries, and
    /// --link-service-account links every one of them
    #[arg(
        long,
        value_name = "NAME=REGISTRY",
        conflicts_with_all = ["registries", "merge", "name"]
    )]
    pub(crate) split: Vec<String>,
    /// Secret namespace (repeatable: one Secret per namespace, in a v1 List)
    #[arg(long = "namespace", short = 'n', value_name = "NAMESPACE")]
    pub(crate) namespaces: Vec<String>,
    /// Secret of type kubernetes.io/dockercfg (legacy .dockercfg payload)
    #[arg(long)]
    pub(crate) legacy: bool,
    /// Print the Secret or List as YAML instead of JSON
    #[arg(long)]
    pub(crate) yaml: bool,
    /// Add the Secret to this service account's imagePullSecrets ([NAMESPACE/]NAME,
    /// repeatable): with --service-accounts, as ServiceAccounts in the output;
    /// without, as a link script on stderr (see --link-commands)
    #[arg(long = "link-service-account", value_name = "SA")]
    pub(crate) link_service_accounts: Vec<String>,
    /// The live ServiceAccounts to link (FILE or - for stdin: `kubectl get serviceaccount
    /// NAME -n NS -o json`, one or a List); the output adds each, its imagePullSecrets
    /// kept and the Secret added, guarded by its resourceVersion
    #[arg(
        long,
        value_name = "FILE",
        requires = "link_service_accounts",
        conflicts_with = "link_commands"
    )]
    pub(crate) service_accounts: Option<String>,
    /// Print only the shell script that links the service accounts (for `| sh`)
    #[arg(long, requires = "link_service_accounts")]
    pub(crate) link_commands: bool,
    /// Which lists the link commands put the Secret in, as `oc secrets link --for`:
    /// pull (imagePullSecrets), mount (secrets), or pull,mount
    #[arg(
        long = "for",
        value_enum,
        value_delimiter = ',',
        value_name = "USE",
        requires = "link_service_accounts"
    )]
    pub(crate) link_for: Vec<LinkUse>,
    /// With --link-commands: print the commands that take the Secret out of those
    /// lists again (`oc secrets unlink`)
    #[arg(long, requires = "link_commands")]
    pub(crate) unlink: bool,
    /// The program the link script calls [default: $DOCKER_CREDENTIAL_KEYRING_KUBECTL, else
    /// kubectl, or oc when only oc is on PATH]; a program name or path
    #[arg(long, value_name = "PROGRAM", requires = "link_service_accounts")]
    pub(crate) kubectl: Option<String>,
    /// How long the link script waits for each service account to exist and, on
    /// OpenShift, for its own image pull secret (polling each second; 0: no wait)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "link_service_accounts",
        conflicts_with = "unlink"
    )]
    pub(crate) wait: u32,
    /// Update an existing pull secret (FILE or - for stdin): raw, dockercfg, or Secret in JSON/YAML;
    /// needs --registry or --all-registries. With -o FILE naming the same file, a missing
    /// FILE is created
    #[arg(long, value_name = "FILE")]
    pub(crate) merge: Option<String>,
    /// With --merge: merge every stored credential (without it, --merge needs --registry)
    #[arg(long, requires = "merge", conflicts_with = "registries")]
    pub(crate) all_registries: bool,
    /// With --merge: replace HOST's entry although it holds another username (repeatable;
    /// any spelling of the registry key, as --registry)
    #[arg(long = "replace", value_name = "HOST", requires = "merge")]
    pub(crate) replace: Vec<String>,
    /// With --merge: keep creationTimestamp and managedFields too (resourceVersion
    /// and uid are always kept, unless --last-writer-wins)
    #[arg(long, requires = "merge", conflicts_with = "last_writer_wins")]
    pub(crate) keep_metadata: bool,
    /// With --merge: drop resourceVersion and uid, so the write replaces the Secret
    /// even if someone changed it since it was read (their change is lost)
    #[arg(long, requires = "merge")]
    pub(crate) last_writer_wins: bool,
    /// With --merge: print a JSON merge patch for `kubectl patch secret/NAME --type=merge -p`,
    /// guarded by the Secret's resourceVersion
    #[arg(long, requires = "merge")]
    pub(crate) patch: bool,
    /// Write to FILE (mode 0600, replaced atomically) instead of stdout; `-`,
    /// /dev/stdout, /dev/fd/N, a FIFO or /dev/null are written to as streams;
    /// a directory, socket or other device is refused
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

pub(crate) fn run(mut args: Args) -> CommandResult {
    check_flags(&args)?;
    let replace = replace_keys(&args.replace)?;
    // Read the document to merge before touching the store: bad input fails first.
    let merge = match &args.merge {
        Some(source) => Some(Merge {
            document: Document::parse(&merge_source(source, args.output.as_deref())?)?,
            metadata: if args.keep_metadata {
                Metadata::KeepAll
            } else if args.last_writer_wins {
                Metadata::Unguarded
            } else {
                Metadata::Guarded
            },
            patch: args.patch,
            replace,
        }),
        None => None,
    };
    let live_service_accounts = match &args.service_accounts {
        Some(source) => Some(link::parse_service_accounts(&read_source(source)?)?),
        None => None,
    };
    let split = split_specs(&args.split)?;
    let program = if args.link_service_accounts.is_empty() {
        String::new()
    } else {
        crate::export::kubectl::choose(args.kubectl.as_deref())?
    };
    let selection = Selection {
        patterns: if split.is_empty() {
            args.registries
                .iter()
                .map(|r| Pattern::parse(r))
                .collect::<Result<_>>()?
        } else {
            split
                .iter()
                .map(|(_, key)| Pattern::parse(key))
                .collect::<Result<_>>()?
        },
        // With --split, each Secret holds exactly the registry it names; a
        // merge writes only what --registry names into someone else's secret.
        auth_servers: if args.no_auth_servers || !split.is_empty() {
            ex::AuthServers::Out
        } else if args.merge.is_some() && !args.all_registries {
            ex::AuthServers::OutSaid
        } else {
            ex::AuthServers::Along
        },
        include_tokens: args.include_tokens,
        email: args.email.take(),
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
    let request = Request {
        format: match args.format.unwrap_or(Format::Dockerconfigjson) {
            Format::Dockerconfigjson => render::Format::DockerConfigJson,
            Format::Dockercfg => render::Format::DockerCfg,
            Format::Secret => render::Format::Secret,
        },
        name: std::mem::take(&mut args.name),
        namespaces: std::mem::take(&mut args.namespaces),
        legacy: args.legacy,
        syntax: if args.yaml {
            Syntax::Yaml
        } else {
            Syntax::Json
        },
        link_service_accounts: std::mem::take(&mut args.link_service_accounts),
        live_service_accounts,
        link_commands_only: args.link_commands,
        link_for: if args.link_for.is_empty() {
            LinkFor::PULL
        } else {
            LinkFor {
                pull: args.link_for.contains(&LinkUse::Pull),
                mount: args.link_for.contains(&LinkUse::Mount),
            }
        },
        unlink: args.unlink,
        program,
        wait: args.wait,
        merge,
        split,
    };
    let rendered = render::render(&request, &collected.entries)?;
    for line in &rendered.merge_report {
        // One line each: a username or key from the document cannot start another.
        crate::errln!("merge: {}", crate::printable::printable(line));
    }
    for note in &rendered.notes {
        crate::errln!("note: {note}");
    }
    show_link_script(&rendered.link_by_hand);
    emit(&args, &rendered.text)?;
    Ok(0)
}

/// An empty `.dockerconfigjson`: where `--merge FILE -o FILE` starts when FILE is missing.
const EMPTY_PAYLOAD: &str = r#"{"auths":{}}"#;

/// The text of the pull secret `--merge` updates: `source` read, or an empty
/// payload when `source` is a missing file that `--output` also names (the
/// file is then created, as `oc registry login --to=FILE` does).
fn merge_source(source: &str, output: Option<&Path>) -> Result<String> {
    let path = Path::new(source);
    let missing = source != "-"
        && matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    if missing && output.is_some_and(|out| super::output::same_file(path, out)) {
        crate::errln!(
            "note: {} does not exist: starting from an empty pull secret ({EMPTY_PAYLOAD}), written there",
            path.display()
        );
        return Ok(EMPTY_PAYLOAD.to_owned());
    }
    read_source(source)
}

/// `--replace HOST` values as registry keys: one registry each, no glob.
fn replace_keys(values: &[String]) -> Result<Vec<ServerKey>> {
    values
        .iter()
        .map(|value| {
            if value.contains(['*', '?']) {
                bail!("--replace {value:?}: name one registry, not a glob");
            }
            ServerKey::parse(value).with_context(|| format!("--replace {value:?}"))
        })
        .collect()
}

/// The link script to run by hand after applying the Secrets, on stderr.
fn show_link_script(lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    crate::errln!("# ServiceAccount imagePullSecrets is an atomic list: `kubectl apply` of a");
    crate::errln!("# ServiceAccount would replace it, so after applying the Secret link it with");
    crate::errln!("# this script (or rerun with --link-commands and pipe to sh), or pipe the");
    crate::errln!("# live ServiceAccounts in with --service-accounts - to get them in the output:");
    for line in lines {
        crate::errln!("{line}");
    }
}

/// `--split NAME=REGISTRY` values as (Secret name, registry key), checked.
fn split_specs(specs: &[String]) -> Result<Vec<(String, String)>> {
    let mut names = std::collections::BTreeSet::new();
    specs
        .iter()
        .map(|spec| {
            let Some((name, registry)) = spec.split_once('=') else {
                bail!("--split {spec:?}: expected NAME=REGISTRY");
            };
            kube_name::check_object_name("--split", name)?;
            // Two Secrets of one name: the second would replace the first.
            if !names.insert(name) {
                bail!("--split names Secret {name:?} twice: give each registry its own name");
            }
            if registry.contains(['*', '?']) {
                bail!("--split {spec:?}: name one registry, not a glob");
            }
            let key = crate::registry::ServerKey::parse(registry)
                .with_context(|| format!("--split {spec:?}"))?;
            Ok((name.to_owned(), key.as_str().to_owned()))
        })
        .collect()
}

/// Flags that only make sense together, checked before any work.
fn check_flags(args: &Args) -> Result<()> {
    if !args.split.is_empty() && args.format != Some(Format::Secret) {
        bail!("--split needs --format secret");
    }
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
        if args.registries.is_empty() && !args.all_registries {
            bail!("--merge needs --registry KEY (repeatable) naming the registries to write into the pull secret, or --all-registries to write every stored credential (imported tokens and unrelated registries included)");
        }
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
    if args.service_accounts.is_some() && args.link_for.contains(&LinkUse::Mount) {
        bail!("--service-accounts links for pull only: for --for mount, use --link-commands");
    }
    for ns in &args.namespaces {
        kube_name::check_namespace("--namespace", ns)?;
    }
    kube_name::check_object_name("--name", &args.name)?;
    Ok(())
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
