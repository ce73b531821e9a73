#!/usr/bin/env bash
# Builds the one Tertulia image (`make image`) with no Docker daemon and no registry:
#   1. a Debian root filesystem by debootstrap --variant=minbase (python3 + venv), from the
#      suite and mirror this machine's apt already uses, with that suite's updates and
#      security fixes; cached as a tarball keyed by suite, mirrors and package list;
#   2. the project's wheel (from the files git knows) and its dependencies' wheels (cached,
#      keyed by the dependency list and the Python version);
#   3. buildah (vfs storage, chroot isolation) runs infra/image/Containerfile on them;
#   4. the image, localhost/tertulia:<version>, is written as a docker-archive that
#      `docker load` and `podman load` accept.
#
# Environment (all optional):
#   PYTHON                   the interpreter whose pip builds the wheels (python3)
#   DEBIAN_SUITE             default: this machine's VERSION_CODENAME (/etc/os-release)
#   DEBIAN_MIRROR            default: the mirror apt uses here for that suite
#   TERTULIA_IMAGE_ARCHIVE   where the archive goes (dist/tertulia-image.tar)
#   TERTULIA_IMAGE_CACHE     the cache (${XDG_CACHE_HOME:-~/.cache}/tertulia-image)
#   TERTULIA_BUILDAH_ROOT    a buildah storage of its own (--root/--runroot under it)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
ARCHIVE="${TERTULIA_IMAGE_ARCHIVE:-$ROOT/dist/tertulia-image.tar}"
CACHE="${TERTULIA_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tertulia-image}"
# What the image needs from Debian beyond minbase: the interpreter and its venv module.
PACKAGES="python3,python3-venv"
# Part of the rootfs cache key: bump it when the recipe below changes.
ROOTFS_RECIPE=1

say() { printf 'image: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }
# A step's chatter goes to a log, shown only when the step fails.
quietly() {
  "$@" >>"$WORK/steps.log" 2>&1 || { tail -n 30 "$WORK/steps.log" >&2; fail "failed: $*"; }
}

for tool in buildah debootstrap; do
  command -v "$tool" >/dev/null || fail "$tool not found: apt-get install buildah debootstrap"
done
[ "$(id -u)" = 0 ] || fail "debootstrap and buildah's chroot isolation need root"

VERSION="$(cd "$ROOT" && "$PYTHON" -c \
  'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
TAG="localhost/tertulia:$VERSION"
ARCH="$(dpkg --print-architecture)"
# shellcheck disable=SC1091
SUITE="${DEBIAN_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}"
[ -n "$SUITE" ] || fail "no VERSION_CODENAME in /etc/os-release: set DEBIAN_SUITE"

# The archives apt fetches from here for SUITE, SUITE-updates and SUITE-security, as
# "URI SUITE" lines: the image is made from the same Debian as this machine.
apt_sources() {
  # shellcheck disable=SC2016 # apt's own $(...) placeholders, not the shell's
  apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' \
    | awk -v s="$SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security"' | sort -u
}
SOURCES="$(apt_sources)"
MIRROR="${DEBIAN_MIRROR:-$(awk -v s="$SUITE" '$2 == s { print $1; exit }' <<<"$SOURCES")}"
[ -n "$MIRROR" ] || fail "apt has no source for $SUITE here: set DEBIAN_MIRROR"
[ -n "$SOURCES" ] || SOURCES="$MIRROR $SUITE"

mkdir -p "$CACHE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tertulia-image.XXXXXX")"
# Never into a file system mounted below (a debootstrap that failed may leave /proc there).
trap 'rm -rf --one-file-system "$WORK"' EXIT
start_all=$(date +%s)

# --- 1. the root filesystem ------------------------------------------------------------
key="$(printf '%s\n' "$ROOTFS_RECIPE" "$ARCH" "$SUITE" "$MIRROR" "$SOURCES" "$PACKAGES" \
  | sha256sum | cut -c1-16)"
ROOTFS="$CACHE/rootfs-$SUITE-$ARCH-$key.tar"
if [ -f "$ROOTFS" ]; then
  say "root filesystem: cached ($ROOTFS)"
else
  start=$(date +%s)
  say "root filesystem: debootstrap $SUITE from $MIRROR (first run only)"
  target="$WORK/rootfs"
  mkdir -p "$CACHE/debs"
  # --cache-dir keeps the downloaded packages, so a change of the list re-downloads little.
  quietly debootstrap --variant=minbase --arch="$ARCH" --include="$PACKAGES" \
    --cache-dir="$CACHE/debs" "$SUITE" "$target" "$MIRROR"
  # Updates and security fixes of the suite (debootstrap takes one archive only).
  awk '{ print "deb " $1 " " $2 " main" }' <<<"$SOURCES" >"$target/etc/apt/sources.list"
  quietly chroot "$target" apt-get -q update
  DEBIAN_FRONTEND=noninteractive quietly chroot "$target" apt-get -q -y upgrade
  quietly chroot "$target" apt-get -q clean
  # What a service never reads: package lists and caches, documentation, translations.
  rm -rf "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/*.bin \
    "$target"/usr/share/doc/* "$target"/usr/share/man/* "$target"/usr/share/locale/* \
    "$target"/usr/share/info/* "$target"/var/log/*.log "$target"/var/log/apt/*
  # This machine's name and resolver: a container runtime provides its own.
  rm -f "$target"/etc/hostname "$target"/etc/resolv.conf
  # The interpreter's version, for the wheels of step 2.
  chroot "$target" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' \
    >"$ROOTFS.python"
  # Into place at once: a build running beside this one sees no half-written tarball.
  tar --numeric-owner -C "$target" -cf "$ROOTFS.$$.tmp" .
  mv "$ROOTFS.$$.tmp" "$ROOTFS"
  rm -rf --one-file-system "$target"
  say "root filesystem: built in $(elapsed "$start")"
fi
IMAGE_PY="$(cat "$ROOTFS.python")"
HOST_PY="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[ "$IMAGE_PY" = "$HOST_PY" ] || fail "the image has Python $IMAGE_PY and $PYTHON is $HOST_PY: \
the dependencies' wheels must match; use a Python $IMAGE_PY (PYTHON=...) or set DEBIAN_SUITE"

# --- 2. the wheels ---------------------------------------------------------------------
start=$(date +%s)
context="$WORK/context"
mkdir -p "$context/wheels" "$WORK/source"
# From the files git knows (tracked, or new and not ignored): a build/ or a scratch file left
# in the checkout never reaches the image. Outside a git checkout: the tree as it is.
source="$ROOT"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  source="$WORK/source"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- \
      pyproject.toml README.md services shared \
    | while IFS= read -r -d '' file; do
        if [ -f "$file" ]; then printf '%s\0' "$file"; fi
      done \
    | tar --null -T - -cf -) | tar -C "$source" -xf -
fi
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$context/wheels" "$source"
project_wheel="$(echo "$context"/wheels/tertulia-*.whl)"
deps_key="$("$PYTHON" -c '
import sys, tomllib
print(sys.version_info[:2], sys.platform, sorted(tomllib.load(open(sys.argv[1], "rb"))
      ["project"]["dependencies"]))' "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
WHEELHOUSE="$CACHE/wheels-py$HOST_PY-$deps_key"
if [ ! -d "$WHEELHOUSE" ]; then
  "$PYTHON" -m pip wheel --quiet --wheel-dir "$WORK/wheelhouse" "$project_wheel"
  rm -f "$WORK"/wheelhouse/tertulia-*.whl
  mv -T "$WORK/wheelhouse" "$WHEELHOUSE" 2>/dev/null || true  # or another build was first
fi
cp "$WHEELHOUSE"/*.whl "$context/wheels/"
# Hard-linked into the build context when the cache is on the same file system.
ln "$ROOTFS" "$context/rootfs.tar" 2>/dev/null || cp "$ROOTFS" "$context/rootfs.tar"
say "wheels: $(find "$context/wheels" -name '*.whl' | wc -l) in $(elapsed "$start")"

# --- 3. the image ----------------------------------------------------------------------
start=$(date +%s)
buildah=(buildah --storage-driver vfs)
if [ -n "${TERTULIA_BUILDAH_ROOT:-}" ]; then
  buildah+=(--root "$TERTULIA_BUILDAH_ROOT/root" --runroot "$TERTULIA_BUILDAH_ROOT/run")
fi
previous="$("${buildah[@]}" images --quiet --no-trunc "$TAG" 2>/dev/null || true)"
"${buildah[@]}" build --quiet --isolation chroot --file "$HERE/Containerfile" --tag "$TAG" \
  --build-arg "VERSION=$VERSION" "$context" >"$WORK/image-id"
image="$(cat "$WORK/image-id")"
# The image this tag named before: unnamed now, and a full copy of the file system in vfs.
if [ -n "$previous" ] && [ "$previous" != "$image" ] && [ "$previous" != "sha256:$image" ]; then
  "${buildah[@]}" rmi "$previous" >/dev/null 2>&1 || true
fi
say "image: $TAG built in $(elapsed "$start")"

# --- 4. the archive --------------------------------------------------------------------
start=$(date +%s)
mkdir -p "$(dirname "$ARCHIVE")"
rm -f "$ARCHIVE.tmp"
"${buildah[@]}" push --quiet "$TAG" "docker-archive:$ARCHIVE.tmp:$TAG"
mv "$ARCHIVE.tmp" "$ARCHIVE"
say "archive: $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1)) in $(elapsed "$start")"
say "done in $(elapsed "$start_all"): docker load -i $ARCHIVE (or podman load -i)"
