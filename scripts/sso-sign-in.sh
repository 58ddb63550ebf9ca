#!/usr/bin/env bash
# Signs a person of a tenant's identity provider in on the local stack, as a browser and the console do, and
# prints the ID token: the local authorize page (authorization code + PKCE) sends them to the IdP named by
# identity_provider, the IdP's login form takes their address, the IdP answers the local issuer, which
# answers our redirect URI with a code, exchanged here for the token.
#   scripts/sso-sign-in.sh <email> <identity provider, t-<tenant>-oidc>     (STAGELINE_URL: the local stack)
set -euo pipefail
email=$1 provider=$2 url=${STAGELINE_URL:-http://127.0.0.1:3000}
jar=$(mktemp) && trap 'rm -f "$jar"' EXIT
verifier=$(openssl rand -base64 48 | tr -d '\n=' | tr '+/' '-_')
challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | openssl base64 -A | tr -d '=' | tr '+/' '-_')
back="$url/signed-in" state=$(openssl rand -hex 8)
# 1. the local authorize page sends us to the IdP, which sends us to its login form
login=$(curl -sf -c "$jar" -b "$jar" -L -o /dev/null -w '%{url_effective}' --get "$url/dev/oauth2/authorize" \
  --data-urlencode response_type=code --data-urlencode client_id=stageline-local --data-urlencode "redirect_uri=$back" \
  --data-urlencode "state=$state" --data-urlencode "code_challenge=$challenge" --data-urlencode code_challenge_method=S256 \
  --data-urlencode "identity_provider=$provider")
# 2. the IdP's login form; then its answer goes back to the local issuer, which redirects to $back with a code
done_at=$(curl -s -c "$jar" -b "$jar" -L --max-redirs 10 -o /dev/null -w '%{url_effective}' "$login/login" --data-urlencode "login=$email")
case "$done_at" in
  "$back"*) ;;
  *) echo "the sign-in did not come back (ended at $done_at)" >&2; curl -s -b "$jar" "$done_at" >&2; exit 1 ;;
esac
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$done_at")
[ "$(sed -n 's/.*[?&]state=\([^&]*\).*/\1/p' <<<"$done_at")" = "$state" ] || { echo 'state does not match' >&2; exit 1; }
# 3. the code for the token
curl -sf "$url/dev/oauth2/token" -d grant_type=authorization_code -d "code=$code" -d client_id=stageline-local \
  --data-urlencode "redirect_uri=$back" -d "code_verifier=$verifier" | jq -r .id_token
