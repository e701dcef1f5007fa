#!/usr/bin/env bash
# Prints a Python 3.10 interpreter (Rasa 3.6 supports 3.8-3.10 only), or fails clearly.
set -euo pipefail
for candidate in python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    command -v "$candidate"
    exit 0
  fi
done
echo "error: Python 3.10 is required (Rasa 3.6 runs on Python 3.8-3.10 only); install python3.10 and retry" >&2
exit 1
