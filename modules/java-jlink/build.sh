#!/bin/sh
# The java-jlink module's build: Server.java compiled into app.jar, jdeps asked
# which JDK modules the jar uses, and jlink making a Java runtime of only those
# (in $MODULE_BUILD/runtime; the list is in runtime/release). Skipped when
# app.jar is newer than the source and this script.
set -eu
jdk=/usr/lib/jvm/java-17-openjdk-amd64
for tool in javac jar jdeps jlink; do
	test -x $jdk/bin/$tool || { echo "the java-jlink module needs the JDK's $tool; install it with: apt-get install -y openjdk-17-jdk-headless" >&2; exit 1; }
done
test -f $jdk/jmods/java.base.jmod || { echo "the java-jlink module needs the JDK's jmods ($jdk/jmods) for jlink; install them with: apt-get install -y openjdk-17-jdk-headless" >&2; exit 1; }
stamp="$MODULE_BUILD/app.jar"
if [ -f "$stamp" ] && [ -d "$MODULE_BUILD/runtime" ] && [ "$stamp" -nt "$MODULE_DIR/Server.java" ] && [ "$stamp" -nt "$MODULE_DIR/build.sh" ]; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$jdk/bin/javac --release 17 -d "$tmp/classes" "$MODULE_DIR/Server.java"
printf 'Main-Class: Server\n' >"$tmp/manifest"
$jdk/bin/jar --create --file "$tmp/app.jar" --manifest "$tmp/manifest" -C "$tmp/classes" .
modules=$($jdk/bin/jdeps --print-module-deps --ignore-missing-deps "$tmp/app.jar")
echo "java-jlink: jdeps found $modules; jlink makes a runtime of only those" >&2
$jdk/bin/jlink --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=2 --output "$tmp/runtime"
# a runtime for a server: no keytool, and no jspawnhelper (it starts no processes)
rm -f "$tmp/runtime/bin/keytool" "$tmp/runtime/lib/jspawnhelper" "$tmp/runtime/lib/jexec"
rm -rf "$MODULE_BUILD/runtime" "$MODULE_BUILD/app.jar"
mv "$tmp/runtime" "$MODULE_BUILD/runtime"
mv "$tmp/app.jar" "$MODULE_BUILD/app.jar"
