#!/usr/bin/env bash
# Makes sure the machine has what `npm test`, `npm start` and `npm run bench` need beyond npm:
#   java      Java 17+ for DynamoDB Local                       (Debian: openjdk-17-jre-headless)
#   registry  the CNCF distribution registry for registry tests (Debian: docker-registry)
#   chromium  headless Chromium for the browser tests           (Debian: chromium)
#   cfn-lint  the CloudFormation linter for the deploy checks   (pip install cfn-lint)
#   moto      moto_server, an AWS-protocol server for the adapters' wire tests (pip install 'moto[server]')
#   prometheus  the Prometheus server the metric providers' tests query      (Debian: prometheus)
# Usage: scripts/prereqs.sh java [registry] [chromium] [cfn-lint] [moto] [prometheus]
# Missing pieces are installed with apt-get when running as root; otherwise it stops at once with
# the exact command to run. It never lets a test run skip silently for lack of a tool.
set -euo pipefail

java_ok() { command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; }
registry_ok() { [ -x "${DOCKER_REGISTRY_BIN:-/usr/bin/docker-registry}" ]; }
chromium_ok() { [ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; }
cfnlint_ok() { command -v cfn-lint >/dev/null 2>&1 && cfn-lint --version >/dev/null 2>&1; }
prometheus_ok() { [ -x "${PROMETHEUS_BIN:-/usr/bin/prometheus}" ]; }
moto_ok() { command -v moto_server >/dev/null 2>&1 && moto_server --help >/dev/null 2>&1; }

# Python tools: named with the command that installs them, never installed here, never skipped.
pip_missing=()
missing=()
for want in "$@"; do
  case "$want" in
    java) java_ok || missing+=(openjdk-17-jre-headless) ;;
    registry) registry_ok || missing+=(docker-registry) ;;
    chromium) chromium_ok || missing+=(chromium) ;;
    cfn-lint) cfnlint_ok || pip_missing+=(cfn-lint) ;;
    moto) moto_ok || pip_missing+=("'moto[server]'") ;;
    prometheus) prometheus_ok || missing+=(prometheus) ;;
    *) echo "prereqs: unknown requirement '$want'" >&2; exit 2 ;;
  esac
done
if [ ${#pip_missing[@]} -gt 0 ]; then
  echo "Stageline needs: ${pip_missing[*]} (Python). Install it, then run the command again:" >&2
  echo "  pip install ${pip_missing[*]}" >&2
  [ ${#missing[@]} -gt 0 ] && echo "and: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Stageline needs: ${missing[*]}. Install it, then run the command again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} (apt-get)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "Installed ${missing[*]}."
