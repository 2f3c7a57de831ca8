#!/bin/sh
# deps.sh - install the Debian packages tdlua needs to build, test and run.
# Idempotent: installs only what is missing. Works as root or through sudo,
# non-interactively. Usage: scripts/deps.sh [--check] [--fuzz] [--bench]
# (--fuzz adds what `make fuzz` needs: clang and its libFuzzer runtime;
#  --bench: what `make bench` needs on top: nginx to serve the dataset, wrk)
set -eu

PKGS="gcc make pkg-config ca-certificates
lua5.4 liblua5.4-dev lua-cjson lua-cjson-dev
libcurl4 libcurl4-openssl-dev zlib1g-dev libisal-dev libedit-dev
python3 python3-msgpack python3-yaml curl luarocks"
for a in "$@"; do
  if [ "$a" = "--fuzz" ]; then PKGS="$PKGS clang libclang-rt-14-dev"; fi
  if [ "$a" = "--bench" ]; then PKGS="$PKGS nginx wrk"; fi
done

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi
case " $* " in *" --check "*) check=1 ;; *) check=0 ;; esac
if [ "$check" = 1 ]; then
  echo "missing packages:$missing" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo -n"
else
  echo "deps.sh: need root or sudo to install:$missing" >&2
  exit 1
fi

echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
