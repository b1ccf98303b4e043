#!/bin/sh
# configure.sh HOST PEERS WORKDIR: redis.conf (a replica of the first peer, except on it) and
# sentinel.conf (a majority quorum), as rift's native redis store writes them.
set -eu
host=$1; peers=$2; dir=$3
first=${peers%%,*}
count=$(printf '%s' "$peers" | tr ',' '\n' | wc -l)
quorum=$((count / 2 + 1))
mkdir -p "$dir/data"
cat > "$dir/redis.conf" <<CONF
bind $host
port 6379
protected-mode no
daemonize no
dir $dir/data
save ""
appendonly no
repl-diskless-sync yes
repl-diskless-sync-delay 0
CONF
[ "$host" = "$first" ] || echo "replicaof $first 6379" >> "$dir/redis.conf"
cat > "$dir/sentinel.conf" <<CONF
bind $host
port 26379
protected-mode no
daemonize no
dir $dir
sentinel monitor rift $first 6379 $quorum
sentinel down-after-milliseconds rift 2000
sentinel failover-timeout rift 6000
CONF
