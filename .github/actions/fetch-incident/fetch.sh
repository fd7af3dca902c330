#!/usr/bin/env bash
# Fetch what incident-bot reads of the given incidents into the checkout, with git: git traffic is not counted
# against the REST API's rate limit, so the bot reads these branches' commits and files from here instead of
# asking the API (bot/forge/github/shallow.py, reads.py). For each id: incident/<id>, rollback/<id>, audit/<id>.
#
#   fetch.sh ID[,ID...] [ID...]     fetch.sh --merged   (the ids HEAD's commit message names: post-merge)
#   fetch.sh --audit                (every incident's audit/<id>: sync confirm reads them all)
#   fetch.sh ID --audit             (both: readiness, whose repeated-failure rule reads every merged incident's trace)
#
# One `git ls-remote` lists the branches, and one `git fetch` with a refspec per branch fetches them all into
# refs/remotes/origin/<branch>, with --shallow-exclude=<default branch>: their commits that main does not hold,
# nothing of main's history. git computes that boundary once for the whole fetch (upload-pack's
# send_shallow_list runs one `rev-list --not <excluded refs> --not <every wanted tip>`,
# https://github.com/git/git/blob/master/upload-pack.c), which has two consequences handled here: a fetch whose
# every tip main already holds selects no commit and fails ("no commits selected for shallow requests",
# get_shallow_commits_by_rev_list in https://github.com/git/git/blob/master/shallow.c), and a tip main holds next
# to others gets no boundary at all, so main's whole history below it would come along. So a branch main holds
# where the checkout can tell (its tip is the checked-out commit or one of its parents: the merged branch
# post-merge sees) is fetched apart, --depth=1 (its tip only). If a batched fetch fails, each of its branches
# is fetched on its own, so one bad branch does not cost the others. Only objects are fetched, as data: the
# working tree stays the default branch's, and nothing fetched is executed.
# Writes `fetched=<branches>` to $GITHUB_OUTPUT (and stdout, and the checkout's git config incident-bot.fetched):
# the branches whose state the checkout now holds, present or absent on GitHub (INCIDENT_BOT_FETCHED for the
# bot). A branch that could not be fetched is left out, and the bot asks the API for it; a copy an earlier job
# left is deleted first, so none is ever read stale.
# FETCH_TOKEN (optional): the token git authenticates with, for this process only (the checkout keeps none).
set -uo pipefail

main="${INCIDENT_BOT_DEFAULT_BRANCH:-main}"
pattern='^[A-Z]+-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]+$'
fetched=()
report() {
  echo "fetched=${fetched[*]}"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "fetched=${fetched[*]}" >> "$GITHUB_OUTPUT"; fi
  # the same list in the checkout itself: the bot trusts a branch only if both name it (this step, this checkout)
  if [ "${#fetched[@]}" -gt 0 ]; then git config incident-bot.fetched "${fetched[*]}"; fi
}
if [ "${INCIDENT_BOT_FORGE:-github}" != "github" ] || ! git rev-parse --git-dir > /dev/null 2>&1; then
  echo "not a GitHub checkout: nothing to fetch (the bot reads everything through its forge)"
  report
  exit 0
fi

if [ -n "${FETCH_TOKEN:-}" ]; then
  basic=$(printf 'x-access-token:%s' "$FETCH_TOKEN" | base64 | tr -d '\n')
  echo "::add-mask::$basic"
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader" \
    GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $basic"
fi

git config --unset-all incident-bot.fetched 2> /dev/null || true
ids=()
audit_all=false
for word in "$@"; do
  IFS=', ' read -r -a parts <<< "$word"
  for part in "${parts[@]}"; do
    case "$part" in
      --audit) audit_all=true ;;
      --merged) mapfile -t -O "${#ids[@]}" ids < <(git log -1 --format=%B HEAD \
        | grep -oE '\b[A-Z]+-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]+\b' | sort -u) ;;
      *) ids+=("$part") ;;
    esac
  done
done
branches=()
for id in "${ids[@]}"; do
  if ! [[ "$id" =~ $pattern ]]; then
    echo "::error::not an incident id (expected e.g. HM-2026-05-17-01)"
    exit 2
  fi
  for kind in incident rollback audit; do branches+=("$kind/$id"); done
done
if [ "${#branches[@]}" -eq 0 ] && [ "$audit_all" = false ]; then
  report
  exit 0
fi

patterns=("${branches[@]/#/refs/heads/}" "refs/heads/$main")
if [ "$audit_all" = true ]; then patterns+=('refs/heads/audit/*'); fi
if ! listing=$(git ls-remote --heads origin "${patterns[@]}"); then
  echo "::warning::git ls-remote failed: the bot reads every branch through the API"
  report
  exit 0
fi
declare -A tip=()
while IFS=$'\t' read -r sha ref; do
  if [ -n "$ref" ]; then tip["${ref#refs/heads/}"]="$sha"; fi
done <<< "$listing"
if [ "$audit_all" = true ]; then
  declare -A named=()
  for branch in "${branches[@]}"; do named["$branch"]=1; done
  while read -r id; do
    if [ -z "${named[audit/$id]:-}" ]; then branches+=("audit/$id"); fi
  done < <(printf '%s\n' "${!tip[@]}" | sed -n 's#^audit/##p' | grep -E "$pattern" | sort)
fi

# what main holds, as far as the checkout tells: its tip, the checked-out commit and that commit's parents (read
# from the object itself: a depth-1 checkout hides them from rev-parse)
declare -A in_main=()
for sha in "${tip[$main]:-}" $(git rev-parse -q --verify HEAD) $(git cat-file commit HEAD 2> /dev/null | sed -n '/^$/q; s/^parent //p'); do
  if [ -n "$sha" ]; then in_main["$sha"]=1; fi
done
declare -A ok=()
apart=()
batch=()
for branch in "${branches[@]}"; do
  git update-ref -d "refs/remotes/origin/$branch" 2> /dev/null || true
  if [ -z "${tip[$branch]:-}" ]; then
    ok["$branch"]=1 # absent on GitHub: the bot knows that without asking
  elif [ -n "${in_main[${tip[$branch]}]:-}" ]; then
    apart+=("$branch")
  else
    batch+=("$branch")
  fi
done
specs() { for branch in "$@"; do printf '+refs/heads/%s:refs/remotes/origin/%s\n' "$branch" "$branch"; done; }
alone=()
if [ "${#batch[@]}" -gt 0 ]; then
  mapfile -t refspecs < <(specs "${batch[@]}")
  if git fetch -q --no-tags --shallow-exclude="$main" origin "${refspecs[@]}" 2> /dev/null; then
    for branch in "${batch[@]}"; do ok["$branch"]=1; done
  else
    alone+=("${batch[@]}")
  fi
fi
if [ "${#apart[@]}" -gt 0 ]; then
  mapfile -t refspecs < <(specs "${apart[@]}")
  if git fetch -q --no-tags --depth=1 origin "${refspecs[@]}" 2> /dev/null; then
    for branch in "${apart[@]}"; do ok["$branch"]=1; done
  else
    alone+=("${apart[@]}")
  fi
fi
for branch in "${alone[@]}"; do
  spec="+refs/heads/$branch:refs/remotes/origin/$branch"
  if git fetch -q --no-tags --shallow-exclude="$main" origin "$spec" 2> /dev/null \
    || git fetch -q --no-tags --depth=1 origin "$spec"; then
    ok["$branch"]=1
  else
    echo "::warning::could not fetch $branch: the bot reads it through the API"
  fi
done
for branch in "${branches[@]}"; do
  if [ -n "${ok[$branch]:-}" ]; then fetched+=("$branch"); fi
done
report
