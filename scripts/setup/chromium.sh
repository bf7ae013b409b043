#!/usr/bin/env bash
# Installs Debian's chromium (idempotent) for the report tests that render the HTML report in a real browser
# through Microsoft.Playwright (ExecutablePath=/usr/bin/chromium; Playwright downloads no browser of its own).
# Needs root (apt-get); does nothing when chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(command -v chromium) is installed"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "chromium: not installed and not root: run 'sudo apt-get install chromium'" >&2
  exit 1
fi

echo "chromium: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium
