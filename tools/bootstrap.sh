#!/usr/bin/env bash
# tools/bootstrap.sh
#
# Installs the Debian packages the build needs, and only those that are
# missing. Shared by ./test and ./grade, which run it before every build:
#
#   tools/bootstrap.sh          # prints one line when nothing is missing
#   tools/bootstrap.sh --tests  # also what only ./test needs (a browser)
#
# Needs root (or an administrator) only when something is missing; then it runs
# `apt-get update` and `apt-get install --no-install-recommends` for exactly the
# missing packages. Without root, or when apt fails, it names the missing
# packages and the command to run, and exits 1.
#
# python3-rich colours the trace viewers' terminal view (tools/trace/). With
# --tests it also installs chromium, which the HTML timeline's browser test
# (tools/trace/browser_test.py) runs headless; ./grade does not need it.
#
# libgmock-dev, clang and bubblewrap are installed only if the apt archive has
# them (clang is needed only for `./test --config=clang`; bubblewrap lets
# ./grade run student code without network and with a read-only file system,
# and ./grade says so when it is missing or does not work).

set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

REQUIRED=(
  bazel-bootstrap
  bazel-rules-cc
  bazel-rules-java
  bazel-platforms
  bazel-skylib
  libabsl-dev
  libgtest-dev
  googletest
  libbenchmark-dev
  libcereal-dev
  libboost-context-dev
  pkg-config
  g++
  python3
  python3-rich
)
if [[ "${1:-}" == "--tests" ]]; then
  REQUIRED+=(chromium)
fi
readonly REQUIRED
readonly OPTIONAL=(
  libgmock-dev
  clang
  bubblewrap
)

say() { echo "bootstrap: $*"; }
err() { echo "bootstrap: $*" >&2; }

is_installed() {
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
  [[ "${status}" == *" ok installed" ]]
}

# True if the apt lists as they are now offer a version of $1.
is_installable() {
  local candidate
  candidate="$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')"
  [[ -n "${candidate}" && "${candidate}" != "(none)" ]]
}

# Prints how to install $@ by hand, then exits 1.
fail_with_command() {
  local why="$1"
  shift
  err "${why}"
  err "missing packages: $*"
  err "install them with:"
  err "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $*"
  exit 1
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  err "not a Debian system; skipping the package check (needs Bazel 4.2.3, Abseil, GoogleTest, Google Benchmark, cereal, Boost.Context, pkg-config, g++, Python 3.11)"
  exit 0
fi

missing_required=()
for pkg in "${REQUIRED[@]}"; do
  is_installed "${pkg}" || missing_required+=("${pkg}")
done
missing_optional=()
for pkg in "${OPTIONAL[@]}"; do
  is_installed "${pkg}" || missing_optional+=("${pkg}")
done

if [[ ${#missing_required[@]} -eq 0 && ${#missing_optional[@]} -eq 0 ]]; then
  say "all dependencies present"
  exit 0
fi

# Optional packages the current apt lists offer. With nothing required missing,
# this is all we look at: no `apt-get update` just to find out that clang is
# still unavailable.
optional_to_install=()
for pkg in "${missing_optional[@]}"; do
  if is_installable "${pkg}"; then
    optional_to_install+=("${pkg}")
  fi
done

if [[ ${#missing_required[@]} -eq 0 ]]; then
  if [[ ${#optional_to_install[@]} -eq 0 ]]; then
    say "all dependencies present (not available here, skipped: ${missing_optional[*]})"
    exit 0
  fi
  if [[ "$(id -u)" -ne 0 ]]; then
    say "all dependencies present (optional, not installed: ${optional_to_install[*]}; needs root)"
    exit 0
  fi
fi

if [[ "$(id -u)" -ne 0 ]]; then
  fail_with_command "some packages are missing and installing them needs root" \
    "${missing_required[@]}" "${optional_to_install[@]}"
fi

all_missing=("${missing_required[@]}" "${missing_optional[@]}")
say "installing missing packages: ${all_missing[*]}"
if ! apt-get -q update; then
  fail_with_command "apt-get update failed (is the Debian archive reachable?)" \
    "${missing_required[@]}" "${optional_to_install[@]}"
fi

# The lists are fresh now: look again for optional packages.
to_install=("${missing_required[@]}")
skipped=()
for pkg in "${missing_optional[@]}"; do
  if is_installable "${pkg}"; then
    to_install+=("${pkg}")
  else
    skipped+=("${pkg}")
  fi
done

if [[ ${#to_install[@]} -gt 0 ]]; then
  if ! apt-get -q install -y --no-install-recommends "${to_install[@]}"; then
    fail_with_command "apt-get install failed" "${to_install[@]}"
  fi
fi

still_missing=()
for pkg in "${missing_required[@]}"; do
  is_installed "${pkg}" || still_missing+=("${pkg}")
done
if [[ ${#still_missing[@]} -gt 0 ]]; then
  fail_with_command "apt-get finished but these are still not installed" "${still_missing[@]}"
fi

say "installed: ${to_install[*]}${skipped[*]:+ (not available here, skipped: ${skipped[*]})}"
