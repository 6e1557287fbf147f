//! `grant-pull`: the RoleBinding that lets one namespace's service accounts
//! pull images from another namespace (what `oc policy add-role-to-user
//! system:image-puller ...` / `add-role-to-group` create), for `kubectl apply -f -`.

use super::CommandResult;
use crate::export::kube_name;
use crate::export::manifest::{self, PullSubject, Syntax};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example (pods in project-a pull images from project-b's internal registry):
  docker-credential-keyring grant-pull --from-namespace project-a --to-namespace project-b | kubectl apply -f -

The binding gets its own name (image-puller-<from>[-<service account>]), so applying it
never rewrites the subjects of a binding someone else made.

Exit codes: 0 printed, 1 error, 2 bad command line.")]
pub(crate) struct Args {
    /// Namespace whose pods pull the images
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) from_namespace: String,
    /// Namespace that holds the images (where the RoleBinding is created)
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) to_namespace: String,
    /// The service account that pulls [default: default]
    #[arg(long, value_name = "NAME", conflicts_with = "all_service_accounts")]
    pub(crate) service_account: Option<String>,
    /// Every service account of --from-namespace (the group system:serviceaccounts:NAMESPACE)
    #[arg(long)]
    pub(crate) all_service_accounts: bool,
    /// RoleBinding name [default: image-puller-<from>[-<service account>]]
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Print YAML instead of JSON
    #[arg(long)]
    pub(crate) yaml: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    kube_name::check_namespace("--from-namespace", &args.from_namespace)?;
    kube_name::check_namespace("--to-namespace", &args.to_namespace)?;
    let subject = if args.all_service_accounts {
        PullSubject::AllServiceAccounts {
            namespace: args.from_namespace.clone(),
        }
    } else {
        let sa = args
            .service_account
            .clone()
            .unwrap_or_else(|| "default".into());
        kube_name::check_object_name("--service-account", &sa)?;
        PullSubject::ServiceAccount {
            namespace: args.from_namespace.clone(),
            name: sa,
        }
    };
    let name = args.name.clone().unwrap_or_else(|| subject.binding_name());
    kube_name::check_object_name("--name", &name)?;
    let binding = manifest::role_binding(&name, &args.to_namespace, &subject);
    let syntax = if args.yaml {
        Syntax::Yaml
    } else {
        Syntax::Json
    };
    let text = manifest::render_built(&binding, syntax);
    print!("{text}");
    Ok(0)
}
