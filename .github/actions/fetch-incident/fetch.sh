#!/usr/bin/env bash
# Fetch what incident-bot reads of the given incidents into the checkout, with git: git traffic is not counted
# against the REST API's rate limit, so the bot reads these branches' commits and files from here instead of
# asking the API (bot/forge/github/shallow.py, reads.py). For each id: incident/<id>, rollback/<id>, audit/<id>.
#
#   fetch.sh ID[,ID...] [ID...]     fetch.sh --merged   (the ids HEAD's commit message names: post-merge)
#   fetch.sh --audit                (every incident's audit/<id> and nothing else: sync confirm reads them all)
#
# Each existing branch is fetched into refs/remotes/origin/<branch> with --shallow-exclude=<default branch>: its
# commits that main does not hold, nothing of main's history (a branch main already holds: its tip only). Only
# objects are fetched, as data: the working tree stays the default branch's, and nothing fetched is executed.
# Writes `fetched=<branches>` to $GITHUB_OUTPUT (and stdout, and the checkout's git config incident-bot.fetched):
# the branches whose state the checkout now holds, present or absent on GitHub (INCIDENT_BOT_FETCHED for the bot). A branch that could not be fetched is left out,
# and the bot asks the API for it; a copy an earlier job left is deleted first, so none is ever read stale.
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
kinds=(incident rollback audit)
if [ "${1:-}" = "--audit" ]; then
  kinds=(audit)
  if ! listing=$(git ls-remote --heads origin 'refs/heads/audit/*'); then
    echo "::warning::git ls-remote failed: the bot reads every trace through the API"
    report
    exit 0
  fi
  mapfile -t ids < <(cut -f2 <<< "$listing" | sed 's#^refs/heads/audit/##' | grep -E "$pattern" | sort -u)
elif [ "${1:-}" = "--merged" ]; then
  mapfile -t ids < <(git log -1 --format=%B HEAD | grep -oE '\b[A-Z]+-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]+\b' | sort -u)
else
  for word in "$@"; do
    IFS=', ' read -r -a parts <<< "$word"
    ids+=("${parts[@]}")
  done
fi
branches=()
for id in "${ids[@]}"; do
  if ! [[ "$id" =~ $pattern ]]; then
    echo "::error::not an incident id (expected e.g. HM-2026-05-17-01)"
    exit 2
  fi
  for kind in "${kinds[@]}"; do branches+=("$kind/$id"); done
done

if [ "${#branches[@]}" -gt 0 ]; then
  if listing=$(git ls-remote --heads origin "${branches[@]/#/refs/heads/}"); then
    for branch in "${branches[@]}"; do
      git update-ref -d "refs/remotes/origin/$branch" 2> /dev/null || true
      if ! cut -f2 <<< "$listing" | grep -qxF "refs/heads/$branch"; then
        fetched+=("$branch") # absent on GitHub: the bot knows that without asking
        continue
      fi
      spec="+refs/heads/$branch:refs/remotes/origin/$branch"
      if git fetch -q --no-tags --shallow-exclude="$main" origin "$spec" 2> /dev/null \
        || git fetch -q --no-tags --depth=1 origin "$spec"; then
        fetched+=("$branch")
      else
        echo "::warning::could not fetch $branch: the bot reads it through the API"
      fi
    done
  else
    echo "::warning::git ls-remote failed: the bot reads every branch through the API"
  fi
fi
report
