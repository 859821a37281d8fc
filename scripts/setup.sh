#!/usr/bin/env bash
# Installs every Debian package aftershock needs. Idempotent: when all are
# present it only runs dpkg-query and returns in well under a second.
set -euo pipefail

packages=(
  # build
  meson ninja-build g++ pkg-config libc6-dev cmake ccache
  # core test and fault libraries
  libgtest-dev libgmock-dev librapidcheck-dev libfiu-dev fiu-utils
  # chosen libraries: CLI parsing, TOML manifests, JSON reports, hashing
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libxxhash-dev
  # symbolization of call sites, third-party targets, tools the tests compare against
  libdw-dev libelf-dev elfutils libsqlite3-dev sqlite3 safecat strace python3
  # real delivery agents (docs/delivery-agents.md): procmail, dovecot-lda
  procmail dovecot-core
  # Postfix itself as a target (docs/postfix-verdicts.md); configured per
  # test under its own directory, never through /etc/postfix
  postfix
  # report checks: SARIF schema validation and the HTML report in a real browser
  python3-jsonschema chromium
  # scale-out test: a real Slurm on localhost (docs/scale-out.md)
  slurmctld slurmd slurm-client munge
  # a Go queue, built static (CGO_ENABLED=0) and with cgo, for the ptrace
  # recorder's tests (docs/injector.md, "Static programs")
  golang-go
)

# Fuzz campaigns (scripts/fuzz.sh, docs/testing.md) need clang and its
# libFuzzer runtime; only `setup.sh --fuzz` installs them.
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang libclang-rt-14-dev)
fi

# npm fetches the SARIF schema (scripts/fetch-sarif-schema.sh). This kind of
# machine ships Node.js with npm; Debian's npm conflicts with that nodejs, so
# it is only installed where no npm is present.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure the machine's own mail system: not at all
# (aftershock runs its own instances with `postfix -c DIR`).
if [[ " ${missing[*]} " == *" postfix "* ]]; then
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
