#!/bin/sh
# usage: man_check.sh PAGE...   Each page renders with man -l, without a
# groff warning, to text that has NAME, SYNOPSIS and EXIT STATUS sections.
set -eu
status=0
for page in "$@"; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>"$page.err") || {
		echo "FAIL: man -l $page: exit $?" >&2
		status=1
	}
	if [ -s "$page.err" ]; then
		echo "FAIL: $page: warnings:" >&2
		cat "$page.err" >&2
		status=1
	fi
	rm -f "$page.err"
	for section in NAME SYNOPSIS OPTIONS "EXIT STATUS" EXAMPLES; do
		printf '%s\n' "$out" | grep -q "^$section\$" || {
			echo "FAIL: $page: no $section section" >&2
			status=1
		}
	done
	[ $status -eq 0 ] && echo "$page: renders"
done
exit $status
