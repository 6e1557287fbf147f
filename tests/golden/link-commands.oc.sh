(
# Links pull Secrets to ServiceAccounts as `oc secrets link` does (printed by
# `docker-credential-keyring export --link-commands`; run it with sh). Names
# read from the cluster are compared whole, one a line: never split or globbed.
set -f
dck_os=unknown
# dck_k ARG...: the cluster program, in the link's namespace when one is named.
dck_k() {
  if [ -n "$dck_ns" ]; then "$dck_prog" -n "$dck_ns" "$@"; else "$dck_prog" "$@"; fi
}
# dck_where: the namespace, for messages.
dck_where() {
  if [ -n "$dck_ns" ]; then echo "namespace $dck_ns"; else echo "the current namespace"; fi
}
# dck_read SA FIELD: the resourceVersion (dck_rv) and FIELD's names, one a line (dck_names).
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
# dck_patch SA OP: applies the JSON patch OP to SA, guarded by the version
# read: 2 when the API server refuses it as stale (409 Conflict).
dck_patch() {
  dck_err=$(dck_k patch serviceaccount "$1" --type=json -p '[{"op":"replace","path":"/metadata/resourceVersion","value":"'"$dck_rv"'"},'"$2"']' 2>&1 >/dev/null) && return 0
  case $dck_err in *Conflict*) return 2 ;; esac
  printf '%s\n' "$dck_err" >&2
  return 1
}
# dck_retry FUNCTION SA FIELD SECRET: FUNCTION again (it reads the account
# anew) while its patch meets a Conflict, at most 5 times; never forced.
dck_retry() {
  dck_try=1
  while :; do
    "$1" "$2" "$3" "$4"
    dck_status=$?
    [ "$dck_status" -eq 2 ] || return "$dck_status"
    if [ "$dck_try" -ge 5 ]; then
      echo "error: serviceaccount $2 in $(dck_where) changed during each of 5 tries (409 Conflict): run the script again" >&2
      return 1
    fi
    dck_try=$((dck_try + 1))
  done
}
# dck_listed SA FIELD SECRET: whether FIELD lists SECRET, asked by name (a
# name from the cluster holding a newline cannot pass for it).
dck_listed() {
  dck_found=$(dck_k get serviceaccount "$1" -o 'jsonpath={.'"$2"'[?(@.name=="'"$3"'")].name}') || return 2
  [ -n "$dck_found" ]
}
# dck_link_one SA FIELD SECRET: appends SECRET to FIELD unless listed, or
# creates FIELD holding it.
dck_link_one() {
  dck_read "$1" "$2" || return 1
  dck_listed "$1" "$2" "$3"
  case $? in 2) return 1 ;; 0)
    echo "serviceaccount $1: $3 already linked ($2)"
    return 0
    ;;
  esac
  if [ -n "$dck_names" ]; then
    dck_patch "$1" '{"op":"add","path":"/'"$2"'/-","value":{"name":"'"$3"'"}}' || return
  else
    dck_patch "$1" '{"op":"add","path":"/'"$2"'","value":[{"name":"'"$3"'"}]}' || return
  fi
  echo "serviceaccount $1: linked $3 ($2)"
}
# dck_unlink_one SA FIELD SECRET: removes SECRET at the index read.
dck_unlink_one() {
  dck_read "$1" "$2" || return 1
  dck_at=$(printf '%s\n' "$dck_names" | grep -nxF -- "$3" | sed -n '1s/:.*//p')
  if [ -z "$dck_at" ]; then
    echo "serviceaccount $1: $3 not linked ($2)"
    return 0
  fi
  # The test keeps a line count thrown off by a name holding a newline from
  # removing another entry: the patch then fails instead.
  dck_patch "$1" '{"op":"test","path":"/'"$2"'/'"$((dck_at - 1))"'/name","value":"'"$3"'"},{"op":"remove","path":"/'"$2"'/'"$((dck_at - 1))"'"}' || return
  echo "serviceaccount $1: unlinked $3 ($2)"
}
# dck_await SA: polls each second, for at most dck_wait seconds, until SA
# exists and, on OpenShift (the image.openshift.io API), until its own
# image pull secret is provisioned (the annotation
# openshift.io/internal-registry-pull-secret-ref from 4.16, a *-dockercfg-*
# entry in imagePullSecrets before), so the link does not race the
# controller. A cluster without the internal registry never provisions
# one: then it warns and links anyway.
dck_await() {
  if [ "$dck_os" = unknown ]; then
    dck_os=no
    "$dck_prog" get --raw /apis/image.openshift.io >/dev/null 2>&1 && dck_os=yes
  fi
  dck_waited=0
  while :; do
    if dck_err=$(dck_k get serviceaccount "$1" -o name 2>&1 >/dev/null); then
      [ "$dck_os" = yes ] || return 0
      dck_out=$(dck_k get serviceaccount "$1" -o 'jsonpath={.metadata.annotations.openshift\.io/internal-registry-pull-secret-ref}{"\n"}{range .imagePullSecrets[*]}{.name}{"\n"}{end}') || return 1
      [ -n "$(printf '%s\n' "$dck_out" | sed -n 1p)" ] && return 0
      printf '%s\n' "$dck_out" | sed 1d | grep -q -e '-dockercfg-' && return 0
      if [ "$dck_waited" -ge "$dck_wait" ]; then
        echo "warning: serviceaccount $1 in $(dck_where) has no OpenShift image pull secret after ${dck_wait}s (a cluster without the internal image registry never provisions one): linking anyway" >&2
        return 0
      fi
    else
      case $dck_err in
        *NotFound* | *'not found'*) ;;
        *)
          printf '%s\n' "$dck_err" >&2
          return 1
          ;;
      esac
      if [ "$dck_waited" -ge "$dck_wait" ]; then
        echo "error: serviceaccount $1 not found in $(dck_where) after ${dck_wait}s: create it, or wait longer with --wait SECONDS" >&2
        return 1
      fi
    fi
    sleep 1
    dck_waited=$((dck_waited + 1))
  done
}
# dck_link PROGRAM NAMESPACE SA FOR WAIT SECRET...: each Secret must exist;
# then, once SA is ready (dck_await), each is linked for pull
# (imagePullSecrets), mount (secrets) or both.
dck_link() {
  dck_prog=$1 dck_ns=$2 dck_sa=$3 dck_for=$4 dck_wait=$5
  shift 5
  for dck_s in "$@"; do
    dck_k get secret "$dck_s" -o name >/dev/null || return 1
  done
  dck_await "$dck_sa" || return 1
  for dck_s in "$@"; do
    case $dck_for in *pull*) dck_retry dck_link_one "$dck_sa" imagePullSecrets "$dck_s" || return 1 ;; esac
    case $dck_for in *mount*) dck_retry dck_link_one "$dck_sa" secrets "$dck_s" || return 1 ;; esac
  done
}
# dck_unlink PROGRAM NAMESPACE SA FOR SECRET...: the reverse, as `oc secrets unlink`.
dck_unlink() {
  dck_prog=$1 dck_ns=$2 dck_sa=$3 dck_for=$4
  shift 4
  for dck_s in "$@"; do
    case $dck_for in *pull*) dck_retry dck_unlink_one "$dck_sa" imagePullSecrets "$dck_s" || return 1 ;; esac
    case $dck_for in *mount*) dck_retry dck_unlink_one "$dck_sa" secrets "$dck_s" || return 1 ;; esac
  done
}
dck_rc=0
dck_link oc team-a default pull 60 pull-secret || dck_rc=1
exit "$dck_rc"
)
