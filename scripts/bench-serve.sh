#!/usr/bin/env bash
# Load benchmark of `facetwin serve` (a benchmark, not a test): wrk posts one 640×480 JPEG to
# /v1/verify, claiming the person enrolled from another photo, at 1, 8 and 32 connections for
# DURATION seconds each: requests/s, p50 and p99 latency, errors (non-2xx, socket errors), the
# server's RSS before and after. Beside it, on the same machine and photo, face_recognition's
# own Flask web-service example (examples/web_service_example.py: is this Obama?), run from a
# checkout of that repository (never copied into this one) with Flask's threaded server.
#
#   scripts/bench-serve.sh --fr-repo DIR [--duration 30] [--model models/dlib-resnet.safetensors]
#       [--fr-python /path/to/venv/bin/python] [--facetwin .build/release/facetwin] [--workers N]
#
# DIR is a clone (or bare git directory) of github.com/ageitgey/face_recognition; its
# examples/obama.jpg is enrolled and examples/obama-480p.jpg, centre-cropped to 640×480 (Pillow,
# quality 90), is the probe for both. The Python needs face_recognition, Flask and Pillow.
# Needs wrk (Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=30
MODEL=models/dlib-resnet.safetensors
FR_REPO=""
FR_PYTHON="${FR_PYTHON:-python3}"
FACETWIN=""
WORKERS=""
CONNECTIONS="1 8 32"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --fr-repo) FR_REPO="$2"; shift 2 ;;
    --fr-python) FR_PYTHON="$2"; shift 2 ;;
    --facetwin) FACETWIN="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    *) echo "bench-serve: unknown option $1" >&2; exit 2 ;;
  esac
done
say() { echo "bench-serve: $*" >&2; }
command -v wrk >/dev/null || { say "wrk is missing: apt-get install wrk"; exit 2; }
[ -n "$FR_REPO" ] || { say "give --fr-repo DIR (a clone of face_recognition: its photos and web-service example)"; exit 2; }
[ -f "$MODEL" ] || { say "$MODEL is missing: run scripts/fetch-models.sh"; exit 2; }
if [ -z "$FACETWIN" ]; then
  swift build -c release --product facetwin >&2
  FACETWIN=.build/release/facetwin
fi

WORK=$(mktemp -d /tmp/facetwin-bench-serve.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# face_recognition's examples folder, from a work tree or a bare git directory.
if [ -d "$FR_REPO/examples" ]; then
  mkdir -p "$WORK/examples"
  cp "$FR_REPO/examples/"{web_service_example.py,obama.jpg,obama-480p.jpg} "$WORK/examples/"
else
  mkdir -p "$WORK/examples"
  for f in web_service_example.py obama.jpg obama-480p.jpg; do
    git --git-dir="$FR_REPO" show "HEAD:examples/$f" > "$WORK/examples/$f"
  done
fi
"$FR_PYTHON" - "$WORK/examples/obama-480p.jpg" "$WORK/probe.jpg" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
left = (w - 640) // 2
top = (h - 480) // 2
im.crop((left, top, left + 640, top + 480)).save(sys.argv[2], quality=90)
print(Image.open(sys.argv[2]).size, file=sys.stderr)
EOF

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
wait_http() { for _ in $(seq 1 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; say "$1 did not answer"; exit 1; }

# wrk's request: the multipart body read from a file, with the headers given.
cat > "$WORK/post.lua" <<'EOF'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=BenchBoundary"
if os.getenv("AUTH") and os.getenv("AUTH") ~= "" then wrk.headers["Authorization"] = os.getenv("AUTH") end
EOF
python3 - "$WORK" <<'EOF'
import sys, os
work = sys.argv[1]
photo = open(os.path.join(work, "probe.jpg"), "rb").read()
def part(name, value, filename=None):
    head = 'Content-Disposition: form-data; name="%s"' % name
    if filename: head += '; filename="%s"\r\nContent-Type: image/jpeg' % filename
    return b"--BenchBoundary\r\n" + head.encode() + b"\r\n\r\n" + value + b"\r\n"
end = b"--BenchBoundary--\r\n"
open(os.path.join(work, "facetwin.body"), "wb").write(part("claim", b"obama") + part("photo", photo, "probe.jpg") + end)
open(os.path.join(work, "flask.body"), "wb").write(part("file", photo, "probe.jpg") + end)
EOF

# One wrk run: prints "connections req/s p50 p99 errors".
load() { # URL BODY AUTH CONNECTIONS
  local out
  out=$(BODY_FILE="$2" AUTH="$3" wrk -t "$(( $4 < 2 ? 1 : 2 ))" -c "$4" -d "${DURATION}s" --timeout 120s --latency -s "$WORK/post.lua" "$1")
  echo "$out" >> "$WORK/wrk.log"
  local rps p50 p99 non2xx sockerr
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  sockerr=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}')
  echo "$4 ${rps:-0} ${p50:-?} ${p99:-?} $(( ${non2xx:-0} + ${sockerr:-0} ))"
}

# --- FaceTwin ---
GALLERY="$WORK/g.sqlite"
KEY=$("$FACETWIN" keys add bench --role verify --gallery "$GALLERY" --model "$MODEL" 2>/dev/null)
ADMIN=$("$FACETWIN" keys add admin --role admin --gallery "$GALLERY" 2>/dev/null)
PORT=$(free_port)
"$FACETWIN" serve --model "$MODEL" --gallery "$GALLERY" --listen "127.0.0.1:$PORT" ${WORKERS:+--workers "$WORKERS"} 2>"$WORK/serve.err" &
FT_PID=$!; PIDS+=("$FT_PID")
wait_http "http://127.0.0.1:$PORT/healthz"
curl -sf -H "Authorization: Bearer $ADMIN" -F name=obama -F "photo=@$WORK/examples/obama.jpg" \
  "http://127.0.0.1:$PORT/v1/enroll" >/dev/null
answer=$(curl -s -H "Authorization: Bearer $KEY" -F claim=obama -F "photo=@$WORK/probe.jpg" "http://127.0.0.1:$PORT/v1/verify")
say "FaceTwin answers: $answer"
FT_RSS0=$(rss "$FT_PID")
FT_ROWS=()
for c in $CONNECTIONS; do FT_ROWS+=("$(load "http://127.0.0.1:$PORT/v1/verify" "$WORK/facetwin.body" "Bearer $KEY" "$c")"); done
FT_RSS1=$(rss "$FT_PID")
kill "$FT_PID"; wait "$FT_PID" 2>/dev/null || true

# --- face_recognition's Flask example, unchanged, served by `flask run` on loopback ---
FPORT=$(free_port)
FLASK_BIN="$(dirname "$FR_PYTHON")/flask"
(cd "$WORK/examples" && exec "$FLASK_BIN" --app web_service_example run --host 127.0.0.1 --port "$FPORT") 2>"$WORK/flask.err" &
FR_PID=$!; PIDS+=("$FR_PID")
wait_http "http://127.0.0.1:$FPORT/"
answer=$(curl -s -F "file=@$WORK/probe.jpg" "http://127.0.0.1:$FPORT/")
say "face_recognition answers: $(echo $answer)"
FR_RSS0=$(rss "$FR_PID")
FR_ROWS=()
for c in $CONNECTIONS; do FR_ROWS+=("$(load "http://127.0.0.1:$FPORT/" "$WORK/flask.body" "" "$c")"); done
FR_RSS1=$(rss "$FR_PID")

echo
echo "verify of a 640×480 JPEG, ${DURATION} s per row, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
echo "| connections | FaceTwin req/s | p50 | p99 | errors | face_recognition req/s | p50 | p99 | errors | throughput ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for i in "${!FT_ROWS[@]}"; do
  read -r c a ap50 ap99 aerr <<<"${FT_ROWS[$i]}"
  read -r _ b bp50 bp99 berr <<<"${FR_ROWS[$i]}"
  ratio=$(python3 -c "print(f'{$a / $b:.2f}x' if $b > 0 else '-')")
  echo "| $c | $a | $ap50 | $ap99 | $aerr | $b | $bp50 | $bp99 | $berr | $ratio |"
done
echo
echo "RSS (MiB) before / after the runs: FaceTwin $FT_RSS0 / $FT_RSS1, face_recognition $FR_RSS0 / $FR_RSS1"
