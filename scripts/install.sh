#!/usr/bin/env bash
# Install the project and what offscreen rendering needs on a headless Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import ctypes.util, sys; sys.exit(not ctypes.util.find_library('EGL'))"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libegl1 libgl1-mesa-dri >/dev/null
  else
    echo "note: no libEGL found; rendering needs it (Debian/Ubuntu: apt-get install libegl1 libgl1-mesa-dri)" >&2
  fi
fi
python3 -m pip install -q -e ".[dev]"
