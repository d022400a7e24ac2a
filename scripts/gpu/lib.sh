# Shared by the GPU scripts that drive the kielo CLI (e2e.sh, real-model.sh); sourced, not run.
#
# The caller sets ROOT (the repository), WORK (its work folder, with logs/ and info/ in it), PHASES
# (comma-separated phases to run), NAME (its name in messages) and defines `needs PHASE` (the phase
# a phase cannot run without, or nothing) and one function `phase_<name>` per phase (dashes become
# underscores). A phase function returns 0 (ok), 3 (skipped: its log's first `SKIPPED…` line says
# why) or anything else (failed); what it wants in the table goes through `note`/`noted`.
#
# Provides: setup_python (exports KIELO_PYTHON and PY), setup_node (NODE, and `kielo`), run_phase,
# print_table, check_phases, phase_doctor (needs DEVICE), FAILED (1 once a phase failed) and
# DONE_OK[phase].

node_runs() { [ -x "$1" ] && "$1" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)' 2>/dev/null; }

# xz where there is one, else Python's lzma (every Python has it).
unxz_file() {
  if command -v xz > /dev/null; then xz -dc "$1" > "$2"; else
    "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}
untar_xz() {
  if command -v xz > /dev/null; then tar -xJf "$1" -C "$2"; else
    "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2], filter="data")' "$1" "$2"
  fi
}

# Node: the checkout's node_modules (a dev machine), else the .gpu/ bundle (scripts/gpu/bundle.sh)
# unpacked to KIELO_GPU_NODE_DIR (default /tmp/kielo-node/bin) and node_modules into the checkout.
setup_node() {
  if node_runs "$ROOT/node_modules/.bin/node" && [ -d "$ROOT/node_modules/commander" ]; then
    NODE="$ROOT/node_modules/.bin/node"
    echo "$NAME: node $("$NODE" --version) from the checkout's node_modules"
  else
    if [ ! -s "$ROOT/.gpu/node.xz" ] || [ ! -s "$ROOT/.gpu/node_modules.tar.xz" ]; then
      echo "$NAME: no node_modules here and no .gpu/ bundle: run \`bash scripts/gpu/bundle.sh\` on a machine with npm" \
        "and carry .gpu to this one" >&2
      return 1
    fi
    local dir="${KIELO_GPU_NODE_DIR:-/tmp/kielo-node/bin}" stamp
    # Unpacked once per bundle: a second script on the same host (or a later call on a warm one)
    # must not rewrite node_modules under steps that are loading it.
    stamp="$(cksum < "$ROOT/.gpu/node.xz" | cut -d' ' -f1)-$(cksum < "$ROOT/.gpu/node_modules.tar.xz" | cut -d' ' -f1)"
    if node_runs "$dir/node" && [ "$(cat "$ROOT/node_modules/.kielo-bundle" 2>/dev/null)" = "$stamp" ]; then
      NODE="$dir/node"
      echo "$NAME: node $("$NODE" --version) at $dir and node_modules, unpacked from this .gpu/ earlier"
    else
      mkdir -p "$dir"
      unxz_file "$ROOT/.gpu/node.xz" "$dir/node.tmp" && chmod +x "$dir/node.tmp" && mv "$dir/node.tmp" "$dir/node" || return 1
      untar_xz "$ROOT/.gpu/node_modules.tar.xz" "$ROOT" || return 1
      echo "$stamp" > "$ROOT/node_modules/.kielo-bundle"
      NODE="$dir/node"
      node_runs "$NODE" || { echo "$NAME: the unpacked $NODE does not run" >&2; return 1; }
      echo "$NAME: node $("$NODE" --version) unpacked from .gpu/ to $dir, node_modules from .gpu/node_modules.tar.xz"
    fi
  fi
  export PATH="$(dirname "$NODE"):$PATH"
}
kielo() { "$NODE" "$ROOT/bin/kielo.js" "$@"; }

# Python: $KIELO_PYTHON, else the checkout's .venv, else python3 — made absolute (the translate
# backend checks that the interpreter file exists) and exported with the engine on PYTHONPATH.
setup_python() {
  local candidate="${KIELO_PYTHON:-}"
  if [ -z "$candidate" ] && [ -x "$ROOT/.venv/bin/python" ]; then candidate="$ROOT/.venv/bin/python"; fi
  candidate="${candidate:-python3}"
  PY="$(command -v "$candidate")" || { echo "$NAME: no Python ($candidate)" >&2; return 1; }
  export KIELO_PYTHON="$PY"
  export PYTHONPATH="$ROOT/engine${PYTHONPATH:+:$PYTHONPATH}"
  echo "$NAME: python $("$PY" -c 'import sys; print(sys.version.split()[0])') at $PY"
}

# What a phase wants in the table's last column: `note "text"` (appended), or `noted command …`
# (its stdout; the phase fails when the command does).
note() { printf '%s ' "$*" >> "$WORK/info/$CURRENT"; }
noted() {
  local text
  text="$("$@")" || { printf '%s\n' "$text"; return 1; }
  note "$text"
}

declare -a TABLE_PHASE TABLE_STATUS TABLE_SECONDS TABLE_NOTE
declare -A DONE_OK
FAILED=0

# Run one phase (if PHASES names it): its output to $WORK/logs/<phase>.log, a row in the table.
run_phase() {
  local phase="$1" fn="phase_${1//-/_}" status rc started seconds log="$WORK/logs/$1.log" need
  case ",$PHASES," in *",$phase,"*) ;; *) return 0 ;; esac
  CURRENT="$phase"
  mkdir -p "$WORK/logs" "$WORK/info"
  : > "$WORK/info/$phase"
  need="$(needs "$phase")"
  if [ -n "$need" ] && [ "${DONE_OK[$need]:-}" != 1 ] && [[ ",$PHASES," == *",$need,"* ]]; then
    TABLE_PHASE+=("$phase"); TABLE_STATUS+=("SKIPPED"); TABLE_SECONDS+=("-"); TABLE_NOTE+=("needs $need")
    echo "== $phase: SKIPPED (needs $need)"
    return 0
  fi
  echo "== $phase"
  started="$(date +%s.%N)"
  "$fn" > "$log" 2>&1
  rc=$?
  seconds="$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  case "$rc" in
    0) status=ok; DONE_OK[$phase]=1 ;;
    3) status=SKIPPED; note "$(grep -m1 '^SKIPPED' "$log")" ;;
    *) status=FAIL; FAILED=1; echo "-- last lines of $log:"; tail -n 15 "$log" | sed 's/^/   /' ;;
  esac
  TABLE_PHASE+=("$phase"); TABLE_STATUS+=("$status"); TABLE_SECONDS+=("$seconds"); TABLE_NOTE+=("$(cat "$WORK/info/$phase")")
  echo "   $status in ${seconds}s: $(cat "$WORK/info/$phase")"
}

# The table of the phases run: `print_table "title line"`.
print_table() {
  local i width=10
  for i in "${!TABLE_PHASE[@]}"; do [ "${#TABLE_PHASE[$i]}" -gt "$width" ] && width="${#TABLE_PHASE[$i]}"; done
  echo "$1"
  printf "%-${width}s  %-7s  %8s  %s\n" phase status seconds "key numbers"
  for i in "${!TABLE_PHASE[@]}"; do
    printf "%-${width}s  %-7s  %8s  %s\n" "${TABLE_PHASE[$i]}" "${TABLE_STATUS[$i]}" "${TABLE_SECONDS[$i]}" "${TABLE_NOTE[$i]}"
  done
}

# The doctor phase of every script: `kielo doctor`, and on cuda a GPU must be found.
phase_doctor() {
  kielo doctor || return 1
  kielo doctor --json > "$WORK/doctor.json" 2>/dev/null || true
  local gpu
  gpu="$("$PY" -c '
import json, sys
gpu = next(c for c in json.load(open(sys.argv[1])) if c["label"] == "GPU")
print(("ok " if gpu["ok"] else "none ") + gpu["detail"])' "$WORK/doctor.json")" || return 1
  note "GPU: ${gpu#* }"
  if [ "$DEVICE" = cuda ] && [ "${gpu%% *}" != ok ]; then echo "no GPU found, but the device is cuda" >&2; return 1; fi
}

# A phase list is valid when every name is one of ALL (comma-separated): exits 2 otherwise.
check_phases() {
  local phase
  for phase in ${PHASES//,/ }; do
    case ",$1," in *",$phase,"*) ;; *) echo "$NAME: unknown phase $phase (phases: $1)" >&2; exit 2 ;; esac
  done
}
