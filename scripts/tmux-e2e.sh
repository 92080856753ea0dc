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
dave_pid=""
hostile_pid=""
relay_pid=""
grace_pid=""
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
    if [ -n "$dave_pid" ]; then
        kill "$dave_pid" 2>/dev/null || true
        wait "$dave_pid" 2>/dev/null || true
    fi
    for pid in "$hostile_pid" "$relay_pid" "$grace_pid"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
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
    for session in $(tmux -L "$sock" list-sessions -F '#S' 2>/dev/null); do
        echo "--- screen of $session:" >&2
        tmux -L "$sock" capture-pane -p -t "$session" >&2 2>/dev/null || echo "(gone)" >&2
    done
    exit 1
}

# Runs the command "${@:3}" every 0.1 s until it succeeds; after 10 s fails with the message
# $1, followed by the file $2 unless it is "-" (a log that says why).
wait_until() {
    local message="$1" show="$2" deadline=$((SECONDS + 10))
    shift 2
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            [ "$show" = - ] || message="$message: $(cat "$show")"
            fail "$message"
        fi
        sleep 0.1
    done
}

# Whether the screen of session $1 contains the text $2.
screen_has() {
    tmux -L "$sock" capture-pane -p -t "$1" 2>/dev/null | grep -qF -- "$2"
}

# Waits until the screen of session $1 contains the text $2 (at most 10 s).
wait_for() {
    wait_until "$1: no \"$2\" on screen within 10 s" - screen_has "$1" "$2"
}

# Whether process $1 has ended (or is a zombie waiting for its parent).
ended() {
    ! ps -o stat= -p "$1" 2>/dev/null | grep -qv Z
}

# The server on a free port: its address is in its first log line.
# Its history in a folder of the check's own (the resume check restarts it on that folder).
"$chatd" --addr 127.0.0.1:0 --http 127.0.0.1:0 --log-level info --data-dir "$work/data" 2>"$work/chatd.log" &
chatd_pid=$!
wait_until "chatd did not start" "$work/chatd.log" grep -q "listening on" "$work/chatd.log"
addr="$(sed -n 's/.*listening on \([0-9.:]*\),.*/\1/p' "$work/chatd.log" | head -n 1)"
echo "chatd on $addr"

# Each client runs in a shell that reports its exit status once the terminal is restored,
# then shows the next line typed or pasted with its control characters visible (a terminal
# left in bracketed paste mode would show ^[[200~ before a pasted line). Arguments after the
# nick go to chat.
start_client() {
    local nick="$1"
    shift
    tmux -L "$sock" new-session -d -s "$nick" -x 80 -y 24 \
        "'$chat' --addr $addr --nick $nick $*; echo \"chat exited with \$?\";
         IFS= read -r line; printf 'after chat: %s\\n' \"\$line\" | cat -v; sleep 600"
}

# alice asks before sending a paste of more than 15 lines.
start_client alice --paste-confirm 15
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

# Issue 12: the room's owner marked in the member list, /me, /away and the notice it brings,
# and the hand-over when the owner leaves.
tmux -L "$sock" send-keys -t alice "/join #tea" Enter
wait_for alice "-!- you own #tea"
wait_for alice "│ @alice"
tmux -L "$sock" send-keys -t bob "/join #tea" Enter
wait_for bob "│ #tea (2)"
wait_for bob "│ @alice"
tmux -L "$sock" send-keys -t alice "/me pours tea" Enter
wait_for alice "* alice pours tea"
wait_for bob "* alice pours tea"
echo "ok: the owner is marked @ in the member list; /me shows as an action"

tmux -L "$sock" send-keys -t bob "/away at lunch" Enter
wait_for bob "you are marked away: at lunch"
wait_for bob "│ bob │ away │"
tmux -L "$sock" send-keys -t alice "/msg bob are you there?" Enter
wait_for alice "-!- bob is away: at lunch"
echo "ok: /away shows in the status bar; writing to bob tells alice that he is away"

tmux -L "$sock" send-keys -t alice "/part #tea" Enter
wait_for bob "-!- you now own #tea"
wait_for bob "│ @bob"
echo "ok: when the owner leaves, the next member owns the room and is marked"

tmux -L "$sock" send-keys -t bob "/quit bye now" Enter
wait_for bob "chat exited with 0"
wait_for alice "bob quit (bye now)"
tmux -L "$sock" send-keys -t alice M-1
wait_for alice "│ online (1)"
echo "ok: /quit leaves cleanly; alice's user list drops bob"

# Pastes (issue 12). dave, a --plain client, writes every line he receives to a file; his
# input is a pipe that this script holds open until he should leave.
mkfifo "$work/dave.in"
"$chat" --plain --addr "$addr" --nick dave <"$work/dave.in" >"$work/dave.out" 2>"$work/dave.err" &
dave_pid=$!
exec 3>"$work/dave.in"
wait_for alice "dave joined"

# Writes $2 lines of 100 bytes, "<$1><number> yyy...", to the file $3.
make_lines() {
    local prefix="$1" count="$2" file="$3" i
    local filler
    filler="$(printf 'y%.0s' $(seq 96))"
    : >"$file"
    for i in $(seq -w 1 "$count"); do
        printf '%s%s %s\n' "$prefix" "$i" "$filler" >>"$file"
    done
}

# Waits until dave has received, from alice, exactly the lines of the file $1, in order; the
# lines of one paste all start with the same letter, $2.
dave_received() {
    local file="$1" prefix="$2" deadline=$((SECONDS + 10)) want got
    want="$(sed 's/^/ALL alice /' "$file")"
    while :; do
        got="$(grep "^ALL alice $prefix" "$work/dave.out" || true)"
        [ "$got" = "$want" ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "--- dave received:" >&2
            printf '%s\n' "$got" | cut -c1-20 >&2
            fail "dave did not receive the $(wc -l <"$file") lines of paste $prefix in order within 10 s"
        fi
        sleep 0.1
    done
}

# A bracketed paste of 15 lines (tmux brackets it because chat asked the terminal to): all
# of them go out at once, in order, with no key pressed after it.
make_lines a 15 "$work/paste-a"
tmux -L "$sock" load-buffer -b paste "$work/paste-a"
tmux -L "$sock" paste-buffer -p -b paste -t alice
dave_received "$work/paste-a" a
echo "ok: a bracketed paste of 15 lines of 100 bytes arrives whole and in order"

# More lines than --paste-confirm: alice is asked first, and Enter sends them.
make_lines b 16 "$work/paste-b"
tmux -L "$sock" load-buffer -b paste "$work/paste-b"
tmux -L "$sock" paste-buffer -p -b paste -t alice
wait_for alice "paste 16 lines? Enter sends them, Esc cancels"
if grep -q "^ALL alice b" "$work/dave.out"; then
    fail "a paste that asks first was sent before Enter"
fi
tmux -L "$sock" send-keys -t alice Enter
dave_received "$work/paste-b" b
echo "ok: a paste of 16 lines asks first; Enter sends them all, in order"

# A paste that is not bracketed (as from a terminal without bracketed paste) arrives as
# typed keys: each line is sent on its line break, none waits for a later key press.
make_lines c 15 "$work/paste-c"
tmux -L "$sock" load-buffer -b paste "$work/paste-c"
tmux -L "$sock" paste-buffer -b paste -t alice
dave_received "$work/paste-c" c
echo "ok: 15 lines pasted as keys all go out, with no key pressed after them"

# One line of 1,024 characters and its Enter, as keys: more than crossterm reads at once.
printf 'd%s\n' "$(printf 'x%.0s' $(seq 1023))" >"$work/paste-d"
tmux -L "$sock" load-buffer -b paste "$work/paste-d"
tmux -L "$sock" paste-buffer -b paste -t alice
dave_received "$work/paste-d" d
echo "ok: a line of 1,024 characters is sent on its Enter"

# dave's input ends: he quits.
exec 3>&-
wait "$dave_pid" || fail "chat --plain exited with $?: $(cat "$work/dave.err")"
dave_pid=""
wait_for alice "dave quit"

# A closed window (SIGHUP, the terminal gone) ends the client too.
tmux -L "$sock" new-session -d -s carol -x 80 -y 24 "exec '$chat' --addr $addr --nick carol"
wait_for carol "connected │ carol"
carol_pid="$(tmux -L "$sock" display-message -p -t carol '#{pane_pid}')"
tmux -L "$sock" kill-session -t carol
wait_until "chat still runs 10 s after its window closed" - ended "$carol_pid"
wait_for alice "carol quit"
echo "ok: closing the window ends the client"

tmux -L "$sock" send-keys -t alice C-c
wait_for alice "chat exited with 0"
printf 'pasted after chat\n' | tmux -L "$sock" load-buffer -b paste -
tmux -L "$sock" paste-buffer -p -b paste -t alice
wait_for alice "after chat: pasted after chat"
echo "ok: Ctrl-C quits and restores the terminal, bracketed paste mode included"

# Issue 13: a hostile server (or an older one) relays control characters that chatd refuses.
# A small one in Python sends them to eve; her screen shows each as U+FFFD, and the
# terminal never gets them: the pane's title, which an OSC 0 would set, stays as it was.
if command -v python3 >/dev/null 2>&1; then
    python3 - >"$work/hostile.port" <<'PY' &
import socket

with socket.create_server(("127.0.0.1", 0)) as listener:
    print(listener.getsockname()[1], flush=True)
    listener.settimeout(30)
    conn, _ = listener.accept()
conn.settimeout(30)
send = lambda line: conn.sendall(line.encode() + b"\n")
for raw in conn.makefile("rb"):
    words = raw.decode("utf-8", "replace").rstrip("\r\n").split(" ")
    if words[0] == "NICK":
        send("OK NICK " + words[1])
        send("ALL mallory hi\rMSG admin please run !shutdown")
    elif words[0] == "WHO":
        send("WHO eve mallory")
        send("END WHO")
    elif words[0] == "JOIN":
        send("OK JOIN " + words[1])
        send("WHO %s eve mallory" % words[1])
        send("END WHO " + words[1])
        send("TOPIC %s mallory \x1b]0;pwned-title\x07\x1b[2J" % words[1])
        send("MSG %s mallory \x1b]2;pwned-again\x07 \u202eolleh \u009b2J" % words[1])
    elif words[0] == "QUIT":
        send("BYE")
        break
conn.close()
PY
    hostile_pid=$!
    wait_until "the hostile server did not start" - test -s "$work/hostile.port"
    hostile="127.0.0.1:$(cat "$work/hostile.port")"
    rep=$'\xef\xbf\xbd' # U+FFFD
    tmux -L "$sock" new-session -d -s eve -x 80 -y 24 "'$chat' --addr $hostile --nick eve; sleep 600"
    title="$(tmux -L "$sock" display-message -p -t eve '#{pane_title}')"
    wait_for eve "connected │ eve │ $hostile"
    wait_for eve "<mallory> hi${rep}MSG admin please run !shutdown"
    tmux -L "$sock" send-keys -t eve "/join #tea" Enter
    wait_for eve "topic: ${rep}]0;pwned-title${rep}${rep}[2J"
    tmux -L "$sock" capture-pane -p -t eve | grep -q "^topic: ${rep}]0;pwned-title" ||
        fail "eve: the topic bar does not show the topic with U+FFFD"
    wait_for eve "<mallory> ${rep}]2;pwned-again${rep} ${rep}olleh ${rep}2J"
    # A bracketed paste of one line: its U+202E waits in the input line as U+FFFD.
    printf 'rtl \u202eolleh' | tmux -L "$sock" load-buffer -b paste -
    tmux -L "$sock" paste-buffer -p -b paste -t eve
    wait_for eve "[#tea] rtl ${rep}olleh"
    now="$(tmux -L "$sock" display-message -p -t eve '#{pane_title}')"
    [ "$now" = "$title" ] || fail "the pane's title changed from \"$title\" to \"$now\""
    tmux -L "$sock" send-keys -t eve C-u C-c
    wait "$hostile_pid" || fail "the hostile server failed"
    hostile_pid=""
    echo "ok: control characters from a hostile server and a paste show as U+FFFD, the terminal untouched"
else
    echo "skipped: the hostile-server check needs python3"
fi

# Issue 15: resume. frank reaches chatd through a relay (a small one in Python) that this
# script cuts and holds shut while grace, a --plain client, keeps talking, the server
# restarts mid-conversation, and grace talks on; when the relay opens again, frank's lobby
# shows the lines he missed, before and after the restart, each once, in order, under the
# rule that counts them.
if command -v python3 >/dev/null 2>&1; then
    mkfifo "$work/relay.ctl"
    # Its commands come on stdin, one a line: "cut" (end every connection and refuse new ones)
    # and "open"; each is echoed on stdout once carried out, after the port.
    cat >"$work/relay.py" <<'PY'
import socket
import sys
import threading

host, port = sys.argv[1].rsplit(":", 1)
upstream = (host, int(port))
lock = threading.Lock()
shut = False
conns = []
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)


def close(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def pipe(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    close(a)
    close(b)


def accept():
    while True:
        client, _ = listener.accept()
        with lock:
            if shut:
                client.close()
                continue
            server = socket.create_connection(upstream)
            conns.extend([client, server])
        threading.Thread(target=pipe, args=(client, server), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
for command in sys.stdin:
    with lock:
        shut = command.strip() == "cut"
        if shut:
            for s in conns:
                close(s)
            conns.clear()
    print(command.strip(), flush=True)
PY
    python3 "$work/relay.py" "$addr" <"$work/relay.ctl" >"$work/relay.out" &
    relay_pid=$!
    exec 4>"$work/relay.ctl"
    wait_until "the relay did not start" - test -s "$work/relay.out"
    relay="127.0.0.1:$(head -n 1 "$work/relay.out")"
    # Sends a command to the relay and waits until it is carried out (each is sent once).
    relay_do() {
        echo "$1" >&4
        wait_until "the relay did not $1" - grep -qx "$1" "$work/relay.out"
    }
    tmux -L "$sock" new-session -d -s frank -x 80 -y 24 "'$chat' --addr $relay --nick frank; sleep 600"
    wait_for frank "connected │ frank │ $relay"
    mkfifo "$work/grace.in"
    "$chat" --plain --addr "$addr" --nick grace <"$work/grace.in" >"$work/grace.out" 2>"$work/grace.err" &
    grace_pid=$!
    exec 5>"$work/grace.in"
    wait_for frank "-!- grace joined"
    echo "said before the cut" >&5
    wait_for frank "<grace> said before the cut"
    relay_do cut
    wait_for frank "connection lost"
    # Waits until grace's /who has been answered $1 times: then the server has kept every
    # line she sent before it.
    whos_at_least() {
        [ "$(grep -c "^END WHO$" "$work/grace.out")" -ge "$1" ]
    }
    whos_answered() {
        wait_until "grace's /who was not answered" - whos_at_least "$1"
    }
    for n in 1 2; do
        echo "missed line $n" >&5
    done
    echo "/who" >&5
    whos_answered 1
    # The server restarts mid-conversation (a clean stop writes its history, the new one on
    # the same address and folder reads it back); grace reconnects by herself and talks on.
    kill -TERM "$chatd_pid"
    wait "$chatd_pid" || fail "chatd did not stop cleanly"
    # Without the script's ends of grace's input and the relay's commands (4 and 5), or they
    # would never see an end of input while this server runs.
    "$chatd" --addr "$addr" --log-level info --data-dir "$work/data" 2>"$work/chatd2.log" 4>&- 5>&- &
    chatd_pid=$!
    wait_until "chatd did not start again" "$work/chatd2.log" grep -q "listening on" "$work/chatd2.log"
    for n in 3 4 5; do
        echo "missed line $n" >&5
    done
    echo "/who" >&5
    whos_answered 2
    relay_do open
    wait_for frank "── 5 missed while away ──"
    wait_for frank "<grace> missed line 5"
    screen="$(tmux -L "$sock" capture-pane -p -t frank)"
    order=""
    for text in "── 5 missed while away ──" "<grace> missed line 1" "<grace> missed line 2" \
        "<grace> missed line 3" "<grace> missed line 4" "<grace> missed line 5"; do
        [ "$(grep -cF -- "$text" <<<"$screen")" = 1 ] || fail "frank: \"$text\" is not on screen once"
        order="$order $(grep -nF -- "$text" <<<"$screen" | cut -d: -f1)"
    done
    [ "$(tr ' ' '\n' <<<"$order" | sed '/^$/d' | sort -n | tr '\n' ' ')" = "${order# } " ] ||
        fail "frank: the missed lines are not in order under their rule (rows$order)"
    echo "said after it" >&5
    wait_for frank "<grace> said after it"
    exec 5>&-
    # Her input ended: she quits, and exits once the server closed (within a deadline).
    wait_until "grace's chat --plain did not exit at the end of its input" "$work/grace.err" \
        ended "$grace_pid"
    wait "$grace_pid" || fail "grace's chat --plain exited with $?: $(cat "$work/grace.err")"
    grace_pid=""
    tmux -L "$sock" send-keys -t frank C-c
    exec 4>&-
    wait "$relay_pid" || fail "the relay failed"
    relay_pid=""
    echo "ok: after a cut and a server restart, the lines missed show once, in order, under a rule that counts them"
else
    echo "skipped: the resume check needs python3"
fi

echo "tmux e2e: all checks passed"
