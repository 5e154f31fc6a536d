#!/usr/bin/env bash
# The Action's `gatekeeper check` step (action.yml runs this file; tests/test_action.py runs it too).
#
# The verdict comes from this run alone: the check writes into a folder that holds nothing before it
# (a fresh one under $RUNNER_TEMP, outside the checkout, unless `output-dir` names one, which is
# emptied first), and the `verdict` output is read from that folder's gatekeeper.json only when it
# agrees with gatekeeper's exit code; anything else is "error". Files the checkout committed (a
# gatekeeper-reports/gatekeeper.json saying pass, a SARIF, an HTML page) are never read, reported or
# uploaded as this run's.
#
# Environment: GK_PATH, GK_POLICY, GK_OUT (empty: a fresh folder), GK_ARGS, GK_CACHE_SECRET,
# GK_SIGNING_KEY (given to gatekeeper as GATEKEEPER_AUDIT_KEY), GK_SUBJECTS (--subject, one per line),
# GK_NEW_CODE (the `new-code` input: action/newcode.sh), GITHUB_OUTPUT, RUNNER_TEMP. Writes exit-code,
# verdict, report-dir, sarif (the SARIF this run wrote, or empty), new-code-ref and new-code-result
# (REF's commit and where its result came from: stored, worktree or unavailable; empty for a full
# run) to $GITHUB_OUTPUT; always exits 0 (the Action's last step exits with exit-code).
set -u

# The cache's secret and the signing key reach gatekeeper only, never the environment block of a
# process that outlives gatekeeper's start: /proc/PID/environ, which every process of the job's user
# reads (the tests under checks.coverage.run among them), is the block a process was started with,
# and `unset` does not clear it. The step execs this file; it starts itself again (the same process)
# without them, handed over on descriptors 3 and 4.
if [ -z "${GK_KEYS_HANDED:-}" ]; then
  exec env -u GK_CACHE_SECRET -u GK_SIGNING_KEY GK_KEYS_HANDED=1 bash "${BASH_SOURCE[0]}" \
    3<<< "${GK_CACHE_SECRET:-}" 4<<< "${GK_SIGNING_KEY:-}"
fi
unset GK_KEYS_HANDED
cache_key="" signing_key=""
IFS= read -r -d '' cache_key <&3
IFS= read -r -d '' signing_key <&4
exec 3<&- 4<&-
cache_key=${cache_key%$'\n'} signing_key=${signing_key%$'\n'}

say() { printf 'gatekeeper action: %s\n' "$*" >&2; }

# shellcheck source=action/newcode.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/newcode.sh"

finish() {  # exit-code verdict report-dir
  local sarif="" since=""
  [ -n "$3" ] && [ -f "$3/gatekeeper.sarif" ] && [ ! -L "$3/gatekeeper.sarif" ] && sarif="$3/gatekeeper.sarif"
  if [ -n "$3" ] && [ -f "$3/gatekeeper.json" ] && [ ! -L "$3/gatekeeper.json" ]; then
    since=$(python -I -c 'import json, sys; n = json.load(open(sys.argv[1], encoding="utf-8")).get("new_code") or {}
print(str(n.get("commit") or ""), str(n.get("result") or ""))' "$3/gatekeeper.json" 2>/dev/null)
  fi
  {
    echo "exit-code=$1"
    echo "verdict=$2"
    echo "report-dir=$3"
    echo "sarif=$sarif"
    echo "new-code-ref=${since%% *}"
    echo "new-code-result=${since#* }"
  } >> "$GITHUB_OUTPUT"
  exit 0
}

fresh_dir() {  # the folder to write into, holding nothing; "" (and a message) when it cannot be had
  if [ -z "${GK_OUT:-}" ]; then
    mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/gatekeeper-reports.XXXXXX"
    return
  fi
  local plain real
  plain=$(realpath -m -s -- "$GK_OUT") && real=$(realpath -m -- "$GK_OUT") || return 1
  if [ "$plain" != "$real" ]; then
    say "output-dir $GK_OUT goes through a symbolic link (to $real): refusing to empty or write it"
    return 1
  fi
  case "$PWD/" in
    "$plain"/*)
      say "output-dir $GK_OUT holds the working directory: refusing to empty it"
      return 1
      ;;
  esac
  rm -rf -- "$plain" && mkdir -p -- "$plain" || return 1
  printf '%s\n' "$plain"
}

out=$(fresh_dir) || finish 2 error ""
[ -n "$out" ] || finish 2 error ""

# the cache's secret and the signing key reach gatekeeper only (which takes them out of its
# environment, and its environment block, before any tool or test starts); neither is written into
# the cached folder
keys=()
[ -n "$cache_key" ] && keys+=("GATEKEEPER_CACHE_KEY=$cache_key")
[ -n "$signing_key" ] && keys+=("GATEKEEPER_AUDIT_KEY=$signing_key")
policy=()
[ -n "${GK_POLICY:-}" ] && policy=(--policy "$GK_POLICY")
subjects=()  # release artifacts the attestation names, one path or glob per line
while IFS= read -r subject; do
  [ -n "$subject" ] && subjects+=(--subject "$subject")
done <<< "${GK_SUBJECTS:-}"
read -r -a extra <<< "${GK_ARGS:-}"
since=$(new_code_ref) || finish 2 error "$out"
new_code=()
[ -n "$since" ] && new_code=(--new-code-since "$since")
env "${keys[@]}" gatekeeper check "${GK_PATH:-.}" "${policy[@]}" --output-dir "$out" --format json,sarif,html,markdown,junit \
  "${subjects[@]}" "${new_code[@]}" "${extra[@]}"
code=$?

said=""
report="$out/gatekeeper.json"
if [ -f "$report" ] && [ ! -L "$report" ]; then
  said=$(python -I -c 'import json, sys; print(json.load(open(sys.argv[1], encoding="utf-8"))["verdict"])' "$report" 2>/dev/null)
fi
case "$code:$said" in
  0:pass) finish 0 pass "$out" ;;
  1:fail) finish 1 fail "$out" ;;
  0:*)  # a pass this run's own report does not confirm is no pass
    say "gatekeeper exited 0 but $report does not say pass (${said:-no report}): the verdict is error"
    finish 3 error "$out"
    ;;
  *) finish "$code" error "$out" ;;
esac
