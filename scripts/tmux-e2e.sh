#!/usr/bin/env bash
# End-to-end check of the terminal client as a person uses it: a real chatd, two real chat
# clients in tmux sessions of a fixed size, keys typed with send-keys, screens read with
# capture-pane. Every wait polls the screen until a deadline.
#
# Usage: scripts/tmux-e2e.sh   (builds the debug binaries; honours CARGO_TARGET_DIR)
# Exits 0 and prints "skipped: tmux not found" where tmux is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tmux >/dev/null 2>&1; then
    echo "skipped: tmux not found"
    exit 0
fi

cargo build --quiet --bin chatd --bin chat
target="${CARGO_TARGET_DIR:-target}"
chatd="$target/debug/chatd"
chat="$target/debug/chat"

work="$(mktemp -d)"
sock="chat-e2e-$$" # a private tmux server: the user's own sessions are not touched
chatd_pid=""
cleanup() {
    # The panes' processes and their children, so that a client that fails to exit does not
    # outlive the check.
    local panes
    panes="$(tmux -L "$sock" list-panes -a -F '#{pane_pid}' 2>/dev/null || true)"
    tmux -L "$sock" kill-server >/dev/null 2>&1 || true
    for pid in $panes; do
        pkill -KILL -P "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -n "$chatd_pid" ]; then
        kill "$chatd_pid" 2>/dev/null || true
        wait "$chatd_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for session in alice bob; do
        echo "--- screen of $session:" >&2
        tmux -L "$sock" capture-pane -p -t "$session" >&2 2>/dev/null || echo "(gone)" >&2
    done
    exit 1
}

# Waits until the screen of session $1 contains the text $2 (at most 10 s).
wait_for() {
    local session="$1" text="$2" deadline=$((SECONDS + 10))
    while ! tmux -L "$sock" capture-pane -p -t "$session" 2>/dev/null | grep -qF -- "$text"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "$session: no \"$text\" on screen within 10 s"
        fi
        sleep 0.1
    done
}

# The server on a free port: its address is in its first log line.
"$chatd" --addr 127.0.0.1:0 --log-level info 2>"$work/chatd.log" &
chatd_pid=$!
deadline=$((SECONDS + 10))
until grep -q "listening on" "$work/chatd.log"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "chatd did not start: $(cat "$work/chatd.log")"
    sleep 0.1
done
addr="$(sed -n 's/.*listening on \([0-9.:]*\),.*/\1/p' "$work/chatd.log" | head -n 1)"
echo "chatd on $addr"

# Each client runs in a shell that reports its exit status once the terminal is restored.
start_client() {
    tmux -L "$sock" new-session -d -s "$1" -x 80 -y 24 \
        "'$chat' --addr $addr --nick $1; echo \"chat exited with \$?\"; sleep 600"
}

start_client alice
wait_for alice "connected │ alice │ $addr"
start_client bob
wait_for bob "connected │ bob │ $addr"
wait_for alice "-!- bob joined"

# Both user lists show both nicks.
for session in alice bob; do
    wait_for "$session" "│ online (2)"
    wait_for "$session" "│ alice"
    wait_for "$session" "│ bob"
done
echo "ok: both clients connected; user lists show alice and bob"

tmux -L "$sock" send-keys -t alice "hello from alice" Enter
wait_for bob "<alice> hello from alice"
echo "ok: alice's line is on bob's screen"

tmux -L "$sock" send-keys -t bob "/msg alice a secret" Enter
wait_for bob "*bob* a secret"
wait_for alice "2:bob(1)!"
tmux -L "$sock" send-keys -t alice M-2
wait_for alice "*bob* a secret"
tmux -L "$sock" send-keys -t alice "/r got it" Enter
wait_for bob "*alice* got it"
echo "ok: /msg and /r work, in a tab of their own"

tmux -L "$sock" send-keys -t bob "/quit bye now" Enter
wait_for bob "chat exited with 0"
wait_for alice "bob quit (bye now)"
tmux -L "$sock" send-keys -t alice M-1
wait_for alice "│ online (1)"
echo "ok: /quit leaves cleanly; alice's user list drops bob"

# A closed window (SIGHUP, the terminal gone) ends the client too.
tmux -L "$sock" new-session -d -s carol -x 80 -y 24 "exec '$chat' --addr $addr --nick carol"
wait_for carol "connected │ carol"
carol_pid="$(tmux -L "$sock" display-message -p -t carol '#{pane_pid}')"
tmux -L "$sock" kill-session -t carol
deadline=$((SECONDS + 10))
while ps -o stat= -p "$carol_pid" 2>/dev/null | grep -qv Z; do
    [ "$SECONDS" -lt "$deadline" ] || fail "chat still runs 10 s after its window closed"
    sleep 0.1
done
wait_for alice "carol quit"
echo "ok: closing the window ends the client"

tmux -L "$sock" send-keys -t alice C-c
wait_for alice "chat exited with 0"
echo "ok: Ctrl-C quits and restores the terminal"

echo "tmux e2e: all checks passed"
