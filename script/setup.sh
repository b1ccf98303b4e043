# Shared set-up for rift's scripts: sourced, not run.
# Installs missing Debian packages (saying so) and checks the Rust toolchain.

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=false
# ensure_packages PKG...: installs the Debian packages that are not installed yet.
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get to install them"
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}; run as root, or install them: apt-get install ${missing[*]}"
    say "installing missing Debian packages: ${missing[*]}"
    if ! $apt_updated; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ensure_rust: cargo with rustfmt and clippy, new enough for the workspace (edition 2024).
ensure_rust() {
    [ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
    if ! command -v cargo >/dev/null; then
        die "rift is written in Rust and needs cargo 1.88 or newer, which Debian's own package is not.
       Install it with rustup (see https://rustup.rs), then run this again."
    fi
    local v
    v=$(cargo --version | awk '{print $2}')
    case "$(printf '%s\n1.88.0\n' "$v" | sort -V | head -n1)" in
        1.88.0) ;;
        *) die "cargo $v is too old: rift needs 1.88 or newer (rustup update)" ;;
    esac
    export PATH
}
