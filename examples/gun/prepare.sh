#!/usr/bin/env bash
# Installs gun beside the store file and packs node_modules for upload to the nodes.
set -euo pipefail
cd "$(dirname "$0")"
npm install --omit=dev --no-audit --no-fund --loglevel=error
tar czf node_modules.tgz node_modules
