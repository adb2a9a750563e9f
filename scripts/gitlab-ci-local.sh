#!/usr/bin/env bash
# Runs .gitlab-ci.yml here, with gitlab-ci-local (npm package, pinned below) and its shell
# executor, each job in its own copy of the tracked files (--shell-isolation), so that what one
# job hands to the next goes through artifacts and caches, as on GitLab's runners.
#
#   scripts/gitlab-ci-local.sh [GITLAB-CI-LOCAL ARGS...]
#     scripts/gitlab-ci-local.sh --list
#     scripts/gitlab-ci-local.sh --needs unit asan noxen fuzz 'smoke: [platform]' 'smoke: [pvh]'
#
# gitlab-ci-local is installed once into $ELFWRAP_CACHE/npm (Node.js from Debian if none is
# installed). Its state (job copies, artifacts, caches, logs) is in .gitlab-ci-local/.
# --no-artifacts-to-source: by default gitlab-ci-local also copies every job's artifacts back
# into this checkout; the build job's artifact is build/, so a pipeline run would replace the
# checkout's own build directory with the job's copy (seen: a later ctest in build/ then tested
# the pipeline's binaries, not the tree's). Artifacts stay in .gitlab-ci-local/artifacts/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
# 4.70.1: the newest release that runs on Node.js 20 (4.75 needs Set.prototype.union, Node 22).
version=4.70.1
prefix=${ELFWRAP_CACHE:-/var/cache/elfwrap}/npm/gitlab-ci-local-$version
# rsync: gitlab-ci-local copies the tracked files into each job's directory with it.
ensure_packages rsync
command -v npm >/dev/null || ensure_packages nodejs npm
if [ ! -x "$prefix/node_modules/.bin/gitlab-ci-local" ]; then
  progress "npm install gitlab-ci-local@$version"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund "gitlab-ci-local@$version" >&2
fi
cd "$top"
exec "$prefix/node_modules/.bin/gitlab-ci-local" --shell-isolation --no-artifacts-to-source --timestamps "$@"
