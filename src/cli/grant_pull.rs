//! `grant-pull`: the RoleBindings that let service accounts, users or groups
//! pull images from another namespace (what `oc policy add-role-to-user
//! system:image-puller ...` / `add-role-to-group` create), for `kubectl apply -f -`.

use anyhow::bail;

use super::CommandResult;
use crate::export::grant;
use crate::export::kube_name;
use crate::export::manifest::{self, Syntax};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples (pods in project-a pull images from project-b's internal registry):
  docker-credential-keyring grant-pull --from-namespace project-a --to-namespace project-b | kubectl apply -f -
  docker-credential-keyring grant-pull --from-namespace project-a --service-account builder \\
      --service-account deployer --group release-team --to-namespace project-b | kubectl apply -f -

Each subject gets a RoleBinding of its own (several: one per subject, in a v1 List), so
applying one never rewrites the subjects of another binding. Its name says the subject:
  image-puller.sa.<namespace>.<name>   a service account
  image-puller.sas.<namespace>         every service account of a namespace
  image-puller.user.<name>             a user
  image-puller.group.<name>            a group
and when that would not be a valid name (':' or '@' in it, capitals, over 253 characters)
image-puller.<kind>-h.<hash>[.<hint>], the hash being of the kind, namespace and name.
Distinct subjects never share a name. --user system:serviceaccount:NS:NAME is that
service account, as with oc.

Exit codes: 0 printed, 1 error, 2 bad command line.")]
pub(crate) struct Args {
    /// Namespace whose service accounts pull the images (for --service-account,
    /// --all-service-accounts, and the default service account when no subject is named)
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) from_namespace: Option<String>,
    /// Namespace that holds the images (where the RoleBindings are created)
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) to_namespace: String,
    /// A service account of --from-namespace that pulls (repeatable) [default: default]
    #[arg(long, value_name = "NAME", conflicts_with = "all_service_accounts")]
    pub(crate) service_account: Vec<String>,
    /// Every service account of --from-namespace (the group system:serviceaccounts:NAMESPACE)
    #[arg(long)]
    pub(crate) all_service_accounts: bool,
    /// A user that pulls (repeatable), as `oc policy add-role-to-user`
    #[arg(long, value_name = "NAME")]
    pub(crate) user: Vec<String>,
    /// A group that pulls (repeatable), as `oc policy add-role-to-group`
    #[arg(long, value_name = "NAME")]
    pub(crate) group: Vec<String>,
    /// RoleBinding name, with a single subject [default: see below]
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Print YAML instead of JSON
    #[arg(long)]
    pub(crate) yaml: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    kube_name::check_namespace("--to-namespace", &args.to_namespace)?;
    if let Some(ns) = &args.from_namespace {
        kube_name::check_namespace("--from-namespace", ns)?;
    }
    let subjects = grant::Request {
        from_namespace: args.from_namespace,
        service_accounts: args.service_account,
        all_service_accounts: args.all_service_accounts,
        users: args.user,
        groups: args.group,
    }
    .subjects()?;
    if args.name.is_some() && subjects.len() > 1 {
        bail!("--name names one RoleBinding, but {} subjects are given: drop --name (each gets its own binding) or grant them one by one", subjects.len());
    }
    let mut bindings = Vec::new();
    for subject in &subjects {
        let name = match &args.name {
            Some(name) => name.clone(),
            None => grant::binding_name(subject),
        };
        kube_name::check_object_name("--name", &name)?;
        bindings.push(manifest::role_binding(&name, &args.to_namespace, subject));
    }
    let object = if bindings.len() == 1 {
        bindings.remove(0)
    } else {
        manifest::list(bindings)
    };
    let syntax = if args.yaml {
        Syntax::Yaml
    } else {
        Syntax::Json
    };
    print!("{}", manifest::render_built(&object, syntax));
    Ok(0)
}
