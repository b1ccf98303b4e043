#!/bin/sh
# ready.sh HOST PEERS: the server answers, and its Sentinel knows every replica and every other
# Sentinel (else a failover finds no good replica).
host=$1; others=$(($(printf '%s' "$2" | tr ',' '\n' | wc -l) - 1))
redis-cli -h "$host" ping | grep -q PONG || exit 1
info=$(redis-cli -h "$host" -p 26379 sentinel master rift) || exit 1
field() { printf '%s\n' "$info" | sed -n "/^$1\$/{n;p;}"; }
[ "$(field num-slaves)" -ge "$others" ] && [ "$(field num-other-sentinels)" -ge "$others" ]
