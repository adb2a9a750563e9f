#!/usr/bin/env bash
# check-man.sh TOOL PAGE: the man page renders without warnings (MANWIDTH=80 man --warnings -l)
# and names every option the tool's --help lists, for the tool and each of its subcommands (and
# theirs). Exit 1 with what is missing.
set -euo pipefail
tool=$1 page=$2
text=$(MANWIDTH=80 man --warnings -l "$page" 2>"$page.warnings" | col -b)
if [ -s "$page.warnings" ]; then
  echo "check-man: $page: man warns:" >&2
  cat "$page.warnings" >&2
  exit 1
fi
rm -f "$page.warnings"
# subcommands PREFIX...: the subcommand names a --help lists under "Subcommands:".
subcommands() { "$tool" "$@" --help 2>/dev/null | awk '/^Subcommands:/ { s = 1; next } s && /^  [a-z]/ { print $1 } s && /^$/ { s = 0 }'; }
helps() {
  "$tool" "$@" --help 2>/dev/null
  local s
  for s in $(subcommands "$@"); do helps "$@" "$s"; done
}
missing=0
for opt in $(helps | grep -E '^\s+-' | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | tr -d ' ,' | sort -u); do
  if ! grep -qF -- "$opt" <<<"$text"; then
    echo "check-man: $page does not mention $opt (from $(basename "$tool") --help)" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] && echo "check-man: $(basename "$page"): renders cleanly, every option of $(basename "$tool") documented"
exit $missing
