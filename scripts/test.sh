#!/usr/bin/env bash
# Install everything the tests need, then run the whole test suite.
#   Debian packages (when missing): postgresql (the tests start a private server on
#   127.0.0.1 as the postgres user), chromium-headless-shell and chromium (browser tests; the
#   full browser for pages holding calls), graphviz (script graphs),
#   rtpengine-daemon (media of calls, run in user space), sip-tester (SIPp: callers,
#   trunks and phones), baresip-core (a real softphone), espeak-ng and sox (prompts),
#   mariadb-server (the tests start a private server on 127.0.0.1, as the mysql user).
#   Python packages: caruso with its [test] extra, in ./.venv.
# Arguments are passed to pytest, e.g. `bash scripts/test.sh tests/core -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
test -x /usr/lib/chromium/chromium-headless-shell || missing+=(chromium-headless-shell)
command -v chromium >/dev/null || missing+=(chromium)
command -v dot >/dev/null || missing+=(graphviz)
command -v rtpengine >/dev/null || missing+=(rtpengine-daemon)
command -v sipp >/dev/null || missing+=(sip-tester)
command -v baresip >/dev/null || missing+=(baresip-core)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
compgen -G "/usr/sbin/mariadbd" >/dev/null || missing+=(mariadb-server)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# the suite starts some 300 Python processes: let them share compiled bytecode. Where
# PYTHONDONTWRITEBYTECODE is set, each would compile the project's modules again and every
# worker would rewrite every test module's asserts (3.7 CPU s a worker)
unset PYTHONDONTWRITEBYTECODE
# seven workers, one test file each at a time: most tests wait on real processes and
# sockets (real servers, browsers, SIPp), so seven share two cores well (five left them
# idle a tenth of the time: 5 min 37 s against 5 min 12 s for seven on the same commit);
# the files in the order of tests/durations.json, the slowest first (see tests/conftest.py)
exec .venv/bin/python -m pytest -n 7 --dist loadfile --no-loadscope-reorder "$@"
