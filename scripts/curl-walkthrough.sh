#!/usr/bin/env bash
# The README's curl walk-through, as a script CI runs against a live server so the README cannot go stale.
# usage: scripts/curl-walkthrough.sh [base-url]     (default http://127.0.0.1:3000; needs curl and jq)
# The reset step needs the token from the mailed link: from LINK_DIR/<address> when a mail catcher writes it
# there (scripts/live-checks.mjs), else pasted from the server log (development without SMTP_URL).
set -euo pipefail
API=${1:-${API:-http://127.0.0.1:3000}}
EMAIL="walkthrough.$(date +%s).$$@example.com"
PASSWORD='correct horse battery staple'

step() { printf '\n== %s\n' "$*"; }
expect() { # expected-status actual-status what
  if [ "$1" != "$2" ]; then echo "FAIL: $3: expected HTTP $1, got $2" >&2; exit 1; fi
  echo "ok: $3 (HTTP $2)"
}

step "Register"
status=$(curl -s -o /tmp/walk.json -w '%{http_code}' -X POST "$API/auth/register" \
  -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}")
expect 201 "$status" "register"; jq . /tmp/walk.json

step "Log in (refresh token in the JSON body)"
status=$(curl -s -o /tmp/walk.json -w '%{http_code}' -X POST "$API/auth/login" \
  -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}")
expect 200 "$status" "login"
ACCESS=$(jq -r .accessToken /tmp/walk.json)
REFRESH=$(jq -r .refreshToken /tmp/walk.json)
jq '{tokenType, expiresIn, refreshExpiresIn}' /tmp/walk.json

step "Who am I? (verified from the token alone, no database)"
status=$(curl -s -o /tmp/walk.json -w '%{http_code}' "$API/me" -H "Authorization: Bearer $ACCESS")
expect 200 "$status" "/me"; jq . /tmp/walk.json

step "Refresh: the refresh token rotates"
status=$(curl -s -o /tmp/walk.json -w '%{http_code}' -X POST "$API/auth/refresh" \
  -H 'Content-Type: application/json' -d "{\"refreshToken\":\"$REFRESH\"}")
expect 200 "$status" "refresh"
NEW_REFRESH=$(jq -r .refreshToken /tmp/walk.json)
[ "$NEW_REFRESH" != "$REFRESH" ] && echo "ok: got a new refresh token"

step "Where am I signed in, and what happened to my account?"
status=$(curl -s -o /tmp/walk.json -w '%{http_code}' "$API/me/sessions" -H "Authorization: Bearer $ACCESS")
expect 200 "$status" "/me/sessions"; jq '.items[] | {device, ip, lastUsedAt, current}' /tmp/walk.json
status=$(curl -s -o /tmp/walk.json -w '%{http_code}' "$API/me/events?limit=5" -H "Authorization: Bearer $ACCESS")
expect 200 "$status" "/me/events"; jq '.items[] | {type, at, device}' /tmp/walk.json

step "Log out (revokes this login's refresh tokens)"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/auth/logout" \
  -H 'Content-Type: application/json' -d "{\"refreshToken\":\"$NEW_REFRESH\"}")
expect 204 "$status" "logout"

step "Refresh after logout is refused"
status=$(curl -s -o /tmp/walk.json -w '%{http_code}' -X POST "$API/auth/refresh" \
  -H 'Content-Type: application/json' -d "{\"refreshToken\":\"$NEW_REFRESH\"}")
expect 401 "$status" "refresh after logout"; jq '{status, code, detail}' /tmp/walk.json

step "The access token still works until it expires (that is the stateless trade-off)"
status=$(curl -s -o /dev/null -w '%{http_code}' "$API/me" -H "Authorization: Bearer $ACCESS")
expect 200 "$status" "/me with the old access token"

step "Forgot password: 202 for any address; the reset link goes out by mail"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/auth/password/forgot" \
  -H 'Content-Type: application/json' -d "{\"email\":\"$EMAIL\"}")
expect 202 "$status" "forgot"

if [ -n "${LINK_DIR:-}" ]; then
  for _ in $(seq 150); do [ -s "$LINK_DIR/$EMAIL" ] && break; sleep 0.1; done
  TOKEN=$(cat "$LINK_DIR/$EMAIL")
elif [ -t 0 ]; then
  read -rp "Paste the token from the reset link in the server log (after #token=): " TOKEN
else
  echo; echo "walk-through passed (reset skipped: no LINK_DIR and no terminal to paste the token)"; exit 0
fi

step "Reset the password with the mailed token: every login of the user ends"
NEW_PASSWORD='a brand new, much longer passphrase 42'
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/auth/password/reset" \
  -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\",\"newPassword\":\"$NEW_PASSWORD\"}")
expect 204 "$status" "reset"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/auth/login" \
  -H 'Content-Type: application/json' -d "{\"email\":\"$EMAIL\",\"password\":\"$NEW_PASSWORD\"}")
expect 200 "$status" "login with the new password"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/auth/password/reset" \
  -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\",\"newPassword\":\"$NEW_PASSWORD\"}")
expect 400 "$status" "the same link again (a link works once)"

echo; echo "walk-through passed"
