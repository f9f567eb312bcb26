#!/usr/bin/env bash
# A short tour of the conductor CLI on a throw-away root (never your own tracks).
set -euo pipefail
CONDUCTOR_ROOT="$(mktemp -d)/.claude/conductor"
export CONDUCTOR_ROOT
conductor="${CONDUCTOR:-conductor}"
step() { printf '\n$ conductor'; printf ' %q' "$@"; printf '\n'; "$conductor" "$@"; }

step root
step create --name "OAuth login" --type feature --priority P1 --goal "Sign in with OAuth 2.0"
step create --name "Payment retry bugfix" --type bugfix --priority P0 --goal "Retry failed charges"
step activate "OAuth login"
step step add "Design the flow"
step step add "Implement the callback"
step step complete 1
step decide "Use the authorization-code flow with PKCE" --rationale "no client secret in the browser"
step assume "Every user has a verified email"
printf '\n# an urgent bug comes in: switch, all or nothing\n'
step switch --to "Payment retry bugfix" --reason "production incident"
step list
step complete --summary "Retries capped at three"
step resume "OAuth login"
step show
step stats
step validate
step report "OAuth login" -o "$(dirname "$(dirname "$CONDUCTOR_ROOT")")/oauth-report.html"
printf '\nroot: %s\n' "$CONDUCTOR_ROOT"
