#!/bin/sh
# Installs the Debian packages SSA Ops needs when they are missing (as root), or says which
# ones to install (as anyone else).
missing=""
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "SSA Ops needs these system packages (or their equivalents):$missing" >&2
  exit 1
fi
if [ "$(id -u)" != "0" ]; then
  echo "SSA Ops needs these Debian packages; install them as root:" >&2
  echo "  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
echo "Installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null
