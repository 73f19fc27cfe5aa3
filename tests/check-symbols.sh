#!/bin/sh
# Every symbol libepcache exports is epcache_-prefixed and listed in the
# version script, and every symbol the version script lists exists.
set -eu
lib="$1"
sym="$2"

exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 != "EPCACHE_0.1" {print $3}' | sed 's/@.*//' | sort -u)
listed=$(sed -n 's/^[[:space:]]*\(epcache_[a-z0-9_]*\);$/\1/p' "$sym" | sort -u)

bad=$(echo "$exported" | grep -v '^epcache_' || true)
if [ -n "$bad" ]; then
	echo "unprefixed exported symbols:"; echo "$bad"; exit 1
fi
if [ "$exported" != "$listed" ]; then
	echo "exported and listed symbols differ:"
	echo "$exported" > /tmp/epcache-exported.$$
	echo "$listed" | diff -u - /tmp/epcache-exported.$$ || true
	rm -f /tmp/epcache-exported.$$
	exit 1
fi
echo "$(echo "$exported" | wc -l) symbols, all epcache_-prefixed and versioned"
echo "1 passed, 0 failed"
