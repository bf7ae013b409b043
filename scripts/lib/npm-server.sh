# Shared by scripts/setup/*.sh: install an npm-packaged server into ./.tools and start it on 127.0.0.1.
# Source it after `cd` to the repository root; every function exits the script with a one-line error on failure.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# npm_install LABEL TOOLS_DIR BIN PACKAGE@VERSION: installs the package into TOOLS_DIR unless BIN is already there.
npm_install() {
  local label=$1 tools=$2 bin=$3 package=$4
  [ -x "$tools/node_modules/.bin/$bin" ] && return 0
  command -v npm >/dev/null || { echo "$label: npm is missing: apt-get install -y nodejs npm" >&2; exit 1; }
  echo "$label: installing $package into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "$package" >"$tools/npm-install.log" 2>&1 \
    || { echo "$label: npm install failed, see $tools/npm-install.log" >&2; exit 1; }
}

# start_server LABEL PORT PIDFILE LOGFILE COMMAND...: starts COMMAND detached and waits (60 s at most) until PORT answers.
start_server() {
  local label=$1 port=$2 pidfile=$3 log=$4
  shift 4
  setsid nohup "$@" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + 60))
  until port_open "$port"; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$label: exited during start-up, see $log" >&2; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$label: not answering on 127.0.0.1:$port after 60 s, see $log" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "$label: ready on 127.0.0.1:$port (pid $(cat "$pidfile"))"
}
