#!/usr/bin/env bash
# Import and export of N generated contacts with the release binary, on SQLite in a temporary
# directory; prints one row of the README's import/export table. Usage:
#   cargo build --release -p tracklane && benches/import_export.sh 200000
set -euo pipefail
count=${1:-20000}
binary=$(cd "$(dirname "$0")/.." && pwd)/target/release/tracklane
dir=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"

python3 - "$count" > people.csv <<'PY'
import sys
print("Email,First Name,Last Name,Company")
for i in range(int(sys.argv[1])):
    print(f"p{i}@example.com,First{i},Last{i},Company {i % 100}")
PY

"$binary" init --json > keys.json 2>/dev/null
key=$(python3 -c "import json; print(json.load(open('keys.json'))['api_key'])")
port=$((20000 + RANDOM % 10000))
"$binary" serve --listen "127.0.0.1:$port" > serve.log 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf -o /dev/null "localhost:$port/healthz" && break; sleep 0.1; done
for body in '{"field":{"title":"Company","type":"text"}}' '{"list":{"name":"News"}}'; do
    path=$([[ $body == *field* ]] && echo fields || echo lists)
    curl -sf -o /dev/null -H "Api-Token: $key" -X POST "localhost:$port/api/3/$path" -d "$body"
done
kill "$server"; wait "$server" 2>/dev/null || true

# The most anonymous (heap) and file-backed resident memory of a command, sampled every 20 ms.
peak() {
    "$@" & local pid=$! anon=0 file=0 a f
    while kill -0 "$pid" 2>/dev/null; do
        a=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        f=$(awk '/RssFile/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        (( ${a:-0} > anon )) && anon=$a; (( ${f:-0} > file )) && file=$f
        sleep 0.02
    done
    wait "$pid"
    echo "$anon $file"
}
seconds() { local start=$(date +%s.%N); "$@" > /dev/null 2>&1; python3 -c "print($(date +%s.%N) - $start)"; }

imported=$(seconds "$binary" import contacts people.csv --list 1)
exported=$(seconds "$binary" export contacts -o out.csv)
read -r anon file < <(peak "$binary" export contacts -o again.csv 2>/dev/null)
bare=$(seconds sqlite3 -csv tracklane-data/tracklane.db \
    "SELECT id, email, first_name, last_name, phone, created_at FROM contacts ORDER BY id")
printf '%-10s %-12s %-12s %-16s %-16s %-12s\n' contacts "import s" "export s" "heap KB" "file-backed KB" "sqlite3 s"
printf '%-10s %-12.2f %-12.2f %-16s %-16s %-12.2f\n' "$count" "$imported" "$exported" "$anon" "$file" "$bare"
