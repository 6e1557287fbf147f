(
# Links pull Secrets to ServiceAccounts as `oc secrets link` does (printed by
# `docker-credential-keyring export --link-commands`; run it with sh). Names
# read from the cluster are compared whole, one a line: never split or globbed.
set -f
# dck_k ARG...: the cluster program, in the link's namespace when one is named.
dck_k() {
  if [ -n "$dck_ns" ]; then "$dck_prog" -n "$dck_ns" "$@"; else "$dck_prog" "$@"; fi
}
# dck_read SA FIELD: the resourceVersion, then FIELD's names, one a line.
dck_read() {
  dck_out=$(dck_k get serviceaccount "$1" -o 'jsonpath={.metadata.resourceVersion}{"\n"}{range .'"$2"'[*]}{.name}{"\n"}{end}') || return 1
  dck_rv=$(printf '%s\n' "$dck_out" | sed -n 1p)
  dck_names=$(printf '%s\n' "$dck_out" | sed 1d)
  case $dck_rv in
    '' | *[!0-9A-Za-z._:-]*)
      echo "error: serviceaccount $1 has an unexpected resourceVersion" >&2
      return 1
      ;;
  esac
}
# dck_link_one SA FIELD SECRET: appends SECRET to FIELD unless listed; a list
# that does not exist yet is created by a patch that tests the version read.
dck_link_one() {
  dck_read "$1" "$2" || return 1
  if printf '%s\n' "$dck_names" | grep -qxF -- "$3"; then
    echo "serviceaccount $1: $3 already linked ($2)"
    return 0
  fi
  if [ -n "$dck_names" ]; then
    dck_patch='[{"op":"add","path":"/'"$2"'/-","value":{"name":"'"$3"'"}}]'
  else
    dck_patch='[{"op":"test","path":"/metadata/resourceVersion","value":"'"$dck_rv"'"},{"op":"add","path":"/'"$2"'","value":[{"name":"'"$3"'"}]}]'
  fi
  dck_k patch serviceaccount "$1" --type=json -p "$dck_patch" >/dev/null || return 1
  echo "serviceaccount $1: linked $3 ($2)"
}
# dck_unlink_one SA FIELD SECRET: removes SECRET at the index read, guarded
# by a test of the name there.
dck_unlink_one() {
  dck_read "$1" "$2" || return 1
  dck_at=$(printf '%s\n' "$dck_names" | grep -nxF -- "$3" | sed -n '1s/:.*//p')
  if [ -z "$dck_at" ]; then
    echo "serviceaccount $1: $3 not linked ($2)"
    return 0
  fi
  dck_at=$((dck_at - 1))
  dck_k patch serviceaccount "$1" --type=json -p '[{"op":"test","path":"/'"$2"'/'"$dck_at"'/name","value":"'"$3"'"},{"op":"remove","path":"/'"$2"'/'"$dck_at"'"}]' >/dev/null || return 1
  echo "serviceaccount $1: unlinked $3 ($2)"
}
# dck_link PROGRAM NAMESPACE SA FOR SECRET...: each Secret must exist; then
# each is linked for pull (imagePullSecrets), mount (secrets) or both.
dck_link() {
  dck_prog=$1 dck_ns=$2 dck_sa=$3 dck_for=$4
  shift 4
  for dck_s in "$@"; do
    dck_k get secret "$dck_s" -o name >/dev/null || return 1
  done
  for dck_s in "$@"; do
    case $dck_for in *pull*) dck_link_one "$dck_sa" imagePullSecrets "$dck_s" || return 1 ;; esac
    case $dck_for in *mount*) dck_link_one "$dck_sa" secrets "$dck_s" || return 1 ;; esac
  done
}
# dck_unlink PROGRAM NAMESPACE SA FOR SECRET...: the reverse, as `oc secrets unlink`.
dck_unlink() {
  dck_prog=$1 dck_ns=$2 dck_sa=$3 dck_for=$4
  shift 4
  for dck_s in "$@"; do
    case $dck_for in *pull*) dck_unlink_one "$dck_sa" imagePullSecrets "$dck_s" || return 1 ;; esac
    case $dck_for in *mount*) dck_unlink_one "$dck_sa" secrets "$dck_s" || return 1 ;; esac
  done
}
dck_rc=0
dck_link oc team-a default pull pull-secret || dck_rc=1
exit "$dck_rc"
)
