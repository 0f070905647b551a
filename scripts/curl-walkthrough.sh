#!/usr/bin/env bash
# The README's curl walk-through, as a script CI runs against a live server so the README cannot go stale.
# usage: scripts/curl-walkthrough.sh [base-url]     (default http://127.0.0.1:3000; needs curl and jq)
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

echo; echo "walk-through passed"
