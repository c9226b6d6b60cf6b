#!/usr/bin/env bash
# Regenerate docs/digest.png: seed a small synthetic deployment (bench/bench_digest.py --seed-only),
# run `logloop analyze` and `logloop digest`, and screenshot the HTML in headless chromium.
#
#   bash scripts/screenshot-digest.sh            # needs a node at $LOGLOOP_ES_URL (default 127.0.0.1:9200)
#
# The data are seeded (the same picture every time); the indices are deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

ES_URL="${LOGLOOP_ES_URL:-http://127.0.0.1:9200}"
PREFIX="shot-$(date +%s)-$$"
UNTIL="2026-11-23T08:00:00Z"
WORK="$(mktemp -d /tmp/logloop-screenshot.XXXXXX)"
chmod 755 "$WORK"
CHROMIUM="${CHROMIUM:-chromium}"

cleanup() {
    python3 - "$ES_URL" "$PREFIX" <<'PY' || true
import sys
from elasticsearch import Elasticsearch
es = Elasticsearch(sys.argv[1])
prefix = sys.argv[2]
names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
if names:
    es.indices.delete(index=",".join(names))
es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-events")
PY
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 bench/bench_digest.py --es-url "$ES_URL" --prefix "$PREFIX" --seed-only --keep \
    --sizes 4000 --history-weeks 4 --previous-ratio 0.9 >/dev/null

cat > "$WORK/logloop.toml" <<TOML
[logloop]
index_prefix = "$PREFIX"

[elasticsearch]
url = "$ES_URL"

[digest]
title = "shop.example: weekly error digest"

[kibana]
url = "https://kibana.shop.example"
TOML
export LOGLOOP_CONFIG="$WORK/logloop.toml"
unset LOGLOOP_INDEX_PREFIX LOGLOOP_ES_URL LOGLOOP_KIBANA_URL

logloop analyze --window 7d --until "$UNTIL" >/dev/null
logloop digest --window 7d --until "$UNTIL" --format html -o "$WORK/digest.html"

"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking --hide-scrollbars \
    --force-device-scale-factor=1 --window-size=760,6000 --screenshot="$WORK/full.png" \
    "file://$WORK/digest.html" 2>/dev/null

# Crop the empty page background below the digest.
python3 - "$WORK/full.png" docs/digest.png <<'PY'
import sys
import numpy as np
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
pixels = np.asarray(image).astype(int)
background = pixels[-1, 0]
rows = np.where(np.abs(pixels - background).sum(axis=(1, 2)) > 0)[0]
bottom = min(pixels.shape[0], int(rows.max()) + 17) if rows.size else pixels.shape[0]
image.crop((0, 0, image.width, bottom)).save(sys.argv[2], optimize=True)
print(f"docs/digest.png: {image.width}x{bottom}")
PY
