#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) and the system data packages.
# Safe to run again: when nothing changed it only checks and returns in a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.tlw-setup"
APT_PACKAGES="dataset-fashion-mnist opencv-doc fortunes fortunes-min chromium"

missing=""
for pkg in $APT_PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "setup: some data sets need Debian packages that are not installed. Run:"
    echo "    sudo apt-get install$missing"
  fi
fi

want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "setup: $VENV is up to date"
  exit 0
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tlworkbench needs Python 3.11 or newer")'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# torch first, pinned as a pair: these are the builds that work together offline here.
$PIP install -q torch==2.14.1 torchvision==0.29.1
$PIP install -q -e ".[notebooks,test]"
# animal-mnist declares tensorflow as a requirement but its data files need nothing.
$PIP install -q --no-deps animal-mnist==0.4
echo "$want" > "$STAMP"
echo "setup: $VENV is ready"
