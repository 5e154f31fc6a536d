# The Action's `new-code` input (gate.sh sources this file; tests/test_action.py runs it through gate.sh).
#
# new_code_ref prints the REF for `gatekeeper check --new-code-since`, or nothing for a full run:
#   GK_NEW_CODE=""          nothing (a policy's own `[gate] new_code` still applies)
#   GK_NEW_CODE=merge-base  on a pull request (GITHUB_BASE_REF set: pull_request, pull_request_target),
#                           the merge-base of HEAD and origin/$GITHUB_BASE_REF; on any other event
#                           nothing, and it says that the whole code is gated (a push to the default
#                           branch then leaves its complete result in the cache, for the pull requests)
#   GK_NEW_CODE=REF         that git ref or commit (a branch of origin as origin/NAME is fetched when missing)
# What a shallow checkout (actions/checkout's default fetch-depth: 1) lacks is fetched from origin:
# the base branch into refs/remotes/origin/NAME and, when HEAD and it share no commit yet, the rest
# of the history (--unshallow). `fetch-depth: 0` makes both fetches unnecessary. REF's result is
# then found by gatekeeper itself: in the cache the Action restored (a run of REF's commit under the
# same policy stored it there), else it checks REF in a temporary worktree. Returns 1, with a
# message, when REF cannot be had; gate.sh then ends with exit code 2.
# Environment: GK_NEW_CODE, GK_PATH, GITHUB_BASE_REF, GITHUB_EVENT_NAME.

new_code_git() { git -C "${GK_PATH:-.}" "$@"; }

new_code_fetch_branch() {  # NAME: origin's branch NAME into refs/remotes/origin/NAME, unless it is there
  new_code_git rev-parse --verify --quiet "refs/remotes/origin/$1^{commit}" >/dev/null && return 0
  say "new-code: fetching origin's $1 (actions/checkout with fetch-depth: 0 makes this unnecessary)"
  new_code_git fetch --quiet --no-tags origin "+refs/heads/$1:refs/remotes/origin/$1"
}

new_code_merge_base() {  # NAME: the merge-base of HEAD and origin/NAME, fetching the history a shallow checkout lacks
  local base="refs/remotes/origin/$1" found
  if found=$(new_code_git merge-base HEAD "$base" 2>/dev/null); then
    printf '%s\n' "$found"
    return 0
  fi
  if [ "$(new_code_git rev-parse --is-shallow-repository)" = true ]; then
    say "new-code: the checkout is shallow; fetching its history to find the merge-base with origin/$1"
    new_code_git fetch --quiet --no-tags --unshallow origin "+refs/heads/$1:$base" || return 1
  fi
  new_code_git merge-base HEAD "$base"
}

new_code_ref() {
  local wanted="${GK_NEW_CODE:-}" base="${GITHUB_BASE_REF:-}" found
  case "$wanted" in
    "") return 0 ;;
    -*)
      say "new-code: '$wanted' is not a git ref"
      return 1
      ;;
    merge-base)
      if [ -z "$base" ]; then
        say "new-code: merge-base, but a ${GITHUB_EVENT_NAME:-local} event names no base branch: the whole code is gated"
        return 0
      fi
      if ! git check-ref-format --branch "$base" >/dev/null 2>&1; then
        say "new-code: the base branch '$base' is not a branch name"
        return 1
      fi
      if ! new_code_fetch_branch "$base" || ! found=$(new_code_merge_base "$base"); then
        say "new-code: HEAD and origin/$base have no common commit that could be fetched"
        return 1
      fi
      say "new-code: gating what this pull request adds since its merge-base with origin/$base, ${found:0:12}"
      printf '%s\n' "$found"
      ;;
    *)
      case "$wanted" in
        origin/*) new_code_fetch_branch "${wanted#origin/}" || say "new-code: could not fetch $wanted" ;;
      esac
      printf '%s\n' "$wanted"  # a ref git cannot find stops gatekeeper with exit code 2, naming it
      ;;
  esac
}
