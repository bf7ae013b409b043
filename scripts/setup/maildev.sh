#!/usr/bin/env bash
# Starts maildev (npm) on 127.0.0.1 for the e-mail notification tests (idempotent): an SMTP server that keeps every
#   mail it receives, and an HTTP API that lists them (GET /email). Installs it into ./.tools/maildev (gitignored)
#   if missing, starts it in the background, and waits until both ports answer. Mails live in memory only.
# Environment: LIFELINE_MAILDEV_SMTP_PORT (default 1025), LIFELINE_MAILDEV_WEB_PORT (default 1080),
#   LIFELINE_MAILDEV_VERSION (default 2.2.1). Tests read LIFELINE_TEST_SMTP (default 127.0.0.1:1025) and
#   LIFELINE_TEST_MAILDEV_API (default http://127.0.0.1:1080).
# Stop it with: kill "$(cat .tools/maildev/maildev.pid)"
set -euo pipefail
cd "$(dirname "$0")/../.."
smtp="${LIFELINE_MAILDEV_SMTP_PORT:-1025}"
web="${LIFELINE_MAILDEV_WEB_PORT:-1080}"
version="${LIFELINE_MAILDEV_VERSION:-2.2.1}"
tools="$PWD/.tools/maildev"

source scripts/lib/npm-server.sh

if port_open "$smtp" && port_open "$web"; then
  echo "maildev: something already listens on 127.0.0.1:$smtp and :$web; using it"
  exit 0
fi

npm_install maildev "$tools" maildev "maildev@$version"
echo "maildev: starting maildev, SMTP on 127.0.0.1:$smtp, API on 127.0.0.1:$web"
start_server maildev "$smtp" "$tools/maildev.pid" "$tools/maildev.log" \
  "$tools/node_modules/.bin/maildev" --ip 127.0.0.1 --smtp "$smtp" --web "$web" --web-ip 127.0.0.1 --silent
deadline=$((SECONDS + 60))
until port_open "$web"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "maildev: the API is not answering on 127.0.0.1:$web after 60 s, see $tools/maildev.log" >&2; exit 1
  fi
  sleep 0.2
done
