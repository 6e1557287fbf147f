//! `kubelet-credential-provider` as clap sees it: only for `--help`, the man
//! page and completions. A bare `kubelet-credential-provider` (how the
//! kubelet runs it) never gets here: [`crate::run`] sends it straight to
//! [`crate::kubelet`], without building the parser.

use super::CommandResult;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Reads a CredentialProviderRequest (credentialprovider.kubelet.k8s.io/v1 or v1beta1) on stdin and writes the CredentialProviderResponse of the same apiVersion on stdout: the stored credentials of the image's registry, cacheKeyType Registry. Set it up in the kubelet's CredentialProviderConfig (docs/kubernetes.md).

Exit codes: 0 answered (also with no credential for the registry), 1 invalid request or unreadable store (the reason on stderr, nothing on stdout), 2 bad command line.")]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> CommandResult {
    Ok(crate::kubelet::run())
}
