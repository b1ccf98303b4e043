#!/bin/sh
# run.sh WORKDIR: the Sentinel in the background, redis-server in the foreground (one process
# group, which rift signals).
dir=$1
redis-sentinel "$dir/sentinel.conf" >> "$dir/sentinel.log" 2>&1 &
exec redis-server "$dir/redis.conf"
