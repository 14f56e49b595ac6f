#!/usr/bin/env bash
# Prints the home of the newest JDK >= 22 (JAVA_HOME first, then /usr/lib/jvm/*, then `java` on
# PATH). Exits 1 with a one-line explanation on stderr when none is found.
# Used by the Makefile and by the ./jvq launcher so that both pick the same JDK.
set -u
min=22

major_of() {  # $1 = JDK home; prints its feature version or nothing
  local rel="$1/release"
  if [ -r "$rel" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel"
  elif [ -x "$1/bin/java" ]; then
    "$1/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'
  fi
}

ok() { [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] && { v=$(major_of "$1"); [ -n "$v" ] && [ "$v" -ge $min ]; }; }

if [ -n "${JAVA_HOME:-}" ] && ok "$JAVA_HOME"; then echo "$JAVA_HOME"; exit 0; fi

best=""; bestv=0
for d in /usr/lib/jvm/* /usr/local/lib/jvm/* /opt/java/* /opt/jdk*; do
  [ -d "$d" ] || continue
  if ok "$d"; then v=$(major_of "$d"); if [ "$v" -gt "$bestv" ]; then best="$d"; bestv=$v; fi; fi
done
if [ -n "$best" ]; then readlink -f "$best"; exit 0; fi

if command -v javac >/dev/null 2>&1; then
  h=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
  if ok "$h"; then echo "$h"; exit 0; fi
fi
echo "jvq: no JDK >= $min found (looked at JAVA_HOME, /usr/lib/jvm/*, and javac on PATH); install one, e.g. 'apt-get install openjdk-25-jdk' or Temurin 25, or set JAVA_HOME" >&2
exit 1
