#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) and the system data packages.
# Safe to run again: when nothing changed it only checks and returns in a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.tlw-setup"
# data sets, speech synthesis (09), Japanese fonts for the kana glyphs (06), colour emoji and their
# Unicode groups (10), a browser
APT_PACKAGES="dataset-fashion-mnist opencv-doc fortunes fortunes-min espeak-ng fonts-ipafont-gothic fonts-ipafont-mincho fonts-ipaexfont-gothic fonts-ipaexfont-mincho fonts-vlgothic fonts-mplus fonts-takao-gothic fonts-noto-color-emoji unicode-data chromium"

missing=""
if command -v dpkg >/dev/null; then  # Debian and Ubuntu; elsewhere the data sets have other routes (README)
  for pkg in $APT_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
fi
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

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tlworkbench needs Python 3.11 or newer")'
# a digest of what decides the environment (Python's hashlib: no GNU-only tool needed)
want=$("$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(b"".join(open(f, "rb").read() for f in sys.argv[1:])).hexdigest())' \
  pyproject.toml constraints.txt scripts/setup.sh)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "setup: $VENV is up to date"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# torch first, as the tested pair (constraints.txt pins the whole tested set).
$PIP install -q -c constraints.txt torch torchvision
$PIP install -q -c constraints.txt -e ".[dev]"
# animal-mnist declares tensorflow as a requirement but its data files need nothing.
$PIP install -q -c constraints.txt --no-deps animal-mnist
echo "$want" > "$STAMP"
echo "setup: $VENV is ready"
