#!/usr/bin/env bash
# The model of the RDMA request state machine, tied to the code.
#   check.sh TABLES_BIN SOURCE_DIR tables
#       the model's states, queues and queue-of-state are printed from the
#       transport's tables (rdma-req-tables promela); the moves of rdma_req_moves[],
#       the moves rdma_req.c makes (req_step and the functions that move a request
#       from a known state) and the MOVEs of the model must be the same set.
#   check.sh TABLES_BIN SOURCE_DIR verify
#       spin: safety (queues, WRs, buffers) and the drain property hold.
#   check.sh TABLES_BIN SOURCE_DIR spdk|abort|partial|reclaim
#       a negative control: the model with that bug put back must be rejected.
set -euo pipefail
tables_bin="$1"
src="$2"
mode="$3"
model="$src/tests/model/rdma_req.pml"
req_c="$src/src/transport/rdma/rdma_req.c"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$model" rdma_req.pml
"$tables_bin" promela > rdma_req_tables.pml

# "FROM TO" lines of the moves the model writes (MOVE(r, S_FROM, S_TO)), bug variants off.
model_moves() { # pml file
	local d
	d="$(mktemp -d -p "$work")"
	cp "$1" "$d/m.pml"
	: > "$d/rdma_req_tables.pml"
	(cd "$d" && gcc -E -P -x c '-DMOVE(r,f,t)=@MOVE f t@' m.pml) |
		grep -o '@MOVE S_[A-Z_]* S_[A-Z_]*@' | sed -e 's/@MOVE S_//' -e 's/ S_/ /' -e 's/@$//' |
		sort -u
}

# "FROM TO" lines of the moves rdma_req.c makes.
code_moves() {
	awk '
	function emit(from, to) { print from, to }
	/^[a-z].*\(/ { fn = $0; sub(/\(.*/, "", fn); n = split(fn, w, " "); fn = w[n]; sub(/^\*/, "", fn) }
	/^}/ { fn = ""; ncases = 0 }
	fn == "req_step" && /case RDMA_REQ_[A-Z_]*:/ {
		if (!in_labels) ncases = 0
		s = $0; sub(/.*case RDMA_REQ_/, "", s); sub(/:.*/, "", s)
		cases[++ncases] = s; in_labels = 1; next
	}
	{ in_labels = 0 }
	/rdma_req_move\(req, RDMA_REQ_[A-Z_]*\)/ || /rdma_req_reject\(req,/ {
		to = "EXECUTING"
		if ($0 ~ /rdma_req_move/) { to = $0; sub(/.*rdma_req_move\(req, RDMA_REQ_/, "", to); sub(/\).*/, "", to) }
		if (fn == "req_step") { for (i = 1; i <= ncases; i++) emit(cases[i], to) }
		else if (fn == "rdma_req_bind" && to == "NEW") emit("FREE", "NEW")
		else if (fn == "rdma_req_exec_done" && to == "EXECUTED") emit("EXECUTING", "EXECUTED")
		else if (fn == "rdma_req_reject" && to == "EXECUTING") { }	# from its callers
		else { print "UNKNOWN " fn ": " $0; bad = 1 }
	}
	' "$req_c"
	# rdma_req_reject outside rdma_req.c: the from-state is the guard of its loop.
	for f in "$src"/src/transport/rdma/*.c; do
		[ "$f" = "$req_c" ] && continue
		awk '
		/^}/ { guard = "" }
		/req->state != RDMA_REQ_[A-Z_]*/ { guard = $0; sub(/.*req->state != RDMA_REQ_/, "", guard); sub(/[^A-Z_].*/, "", guard) }
		/rdma_req_move\(/ { print "UNKNOWN " FILENAME ": " $0 }
		/rdma_req_reject\(req,/ { if (guard == "") print "UNKNOWN " FILENAME ": " $0; else print guard, "EXECUTING" }
		' "$f"
	done
}

run_spin() { # name, spin defines...
	local name="$1"; shift
	spin "$@" -a rdma_req.pml >/dev/null
	gcc -O0 -w -o "pan_$name" pan.c -DNFAIR=3 -DCOLLAPSE -DVECTORSZ=2048
	"./pan_$name" -a -m2000000 -N drain > "$name.out" 2>&1 || true
	if grep -q "max search depth too small" "$name.out"; then
		cat "$name.out"; echo "FAIL: $name: the search was cut at its depth bound"; exit 1
	fi
}

case "$mode" in
tables)
	"$tables_bin" moves | sort -u > table.txt
	code_moves | sort -u > code.txt
	model_moves rdma_req.pml > model.txt
	if grep -q UNKNOWN code.txt; then
		grep UNKNOWN code.txt; echo "FAIL: a move in the code this check cannot place"; exit 1
	fi
	if ! diff -u table.txt code.txt; then
		echo "FAIL: rdma_req_moves[] (-) and the moves rdma_req.c makes (+) differ"; exit 1
	fi
	if ! diff -u table.txt model.txt; then
		echo "FAIL: rdma_req_moves[] (-) and the model's MOVEs (+) differ"; exit 1
	fi
	# The comparison itself must see a move the model lost.
	grep -v 'MOVE(r, S_READY_TO_EXECUTE, S_EXECUTING)' rdma_req.pml > lost.pml
	if [ "$(model_moves lost.pml | sort -u)" = "$(cat table.txt)" ]; then
		echo "FAIL: a model without READY_TO_EXECUTE -> EXECUTING still compared equal"; exit 1
	fi
	echo "model: $(grep -c . table.txt) moves, $(grep -c '^#define S_' rdma_req_tables.pml) states," \
		"$(grep -c '^#define Q_' rdma_req_tables.pml) queues: rdma_req_moves[] = rdma_req.c = model"
	;;
verify)
	run_spin fixed
	if ! grep -q "errors: 0" fixed.out; then
		cat fixed.out; echo "FAIL: the model of unvmf's state machine has a violation"; exit 1
	fi
	states=$(grep -m1 "states, stored" fixed.out | awk '{print $1}')
	echo "model: unvmf state machine verified ($states states; safety + drain after QP error," \
		"with aborts, partial posts and a NIC that stops reporting)"
	;;
spdk|abort|partial|reclaim)
	case "$mode" in
	spdk) def=SPDK_PREFIX_BUG; want="assertion violated|acceptance cycle" ;;
	abort) def=ABORT_BUG; want="assertion violated" ;;
	partial) def=PARTIAL_BUG; want="assertion violated" ;;
	reclaim) def=NO_RECLAIM; want="acceptance cycle|invalid end state" ;;
	esac
	run_spin "$mode" "-D$def"
	if grep -q "errors: 0" "$mode.out" || ! grep -qE "$want" "$mode.out"; then
		cat "$mode.out"; echo "FAIL: the $def variant was not caught ($want)"; exit 1
	fi
	grep -m1 -E "$want" "$mode.out" | sed "s/^/negative control $def: /"
	;;
*)
	echo "usage: $0 TABLES_BIN SOURCE_DIR tables|verify|spdk|abort|partial|reclaim" >&2
	exit 2
	;;
esac
