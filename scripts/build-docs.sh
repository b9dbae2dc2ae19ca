#!/usr/bin/env bash
# Build the docs site (mkdocs.yml) into site/ in strict mode: a broken link, a missing page
# or any other warning fails the build. Offline: the site loads nothing from the network
# (checked below). Needs the `docs` extra (scripts/setup.sh installs it).
# Preview while writing: .venv/bin/mkdocs serve -a 127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_MKDOCS_2_WARNING=1   # the theme's notice about its future; not a warning of this site
.venv/bin/mkdocs build --strict --quiet "$@"
# no script, stylesheet or font of a page may come from another host
if grep -rlE '<script[^>]* src="https?://|<link[^>]* href="https?://[^"]*\.(css|woff2?)"' site --include='*.html'; then
    echo "build-docs: the pages above load resources from the network" >&2
    exit 1
fi
echo "build-docs: site/ built ($(find site -name '*.html' | wc -l) pages)" >&2
