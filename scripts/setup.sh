#!/usr/bin/env bash
# Set up the project on a bare Debian machine with Python 3.11+:
# the apt packages the tests need, a virtualenv in .venv, and vcpsdk with its test extras.
#
# It says what it does, one line per step with the elapsed time, on stderr; pip's own output
# goes to .venv/setup-pip.log (on a terminal one line follows its progress).  A second run only
# checks: pip is skipped while pyproject.toml is unchanged, the vCenter simulator is cached.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: bash scripts/setup.sh [--quiet] [--dry-run] [--help]

Installs what is missing for vcpsdk on Debian: apt packages (python3-venv, openssh-client,
iputils-ping, bubblewrap, openssh-sftp-server), a virtualenv in .venv with vcpsdk and its test
extras (pip), and govmomi's vCenter simulator (scripts/build-vcsim.sh).  A second run takes
seconds: pip runs again only when pyproject.toml changed.

  --quiet    print only errors (also VCPSDK_SETUP_QUIET=1)
  --dry-run  say what would be done, change nothing
  --help     this text

Environment: PYTHON (default python3) is the interpreter the virtualenv is made from.
EOF
}

quiet=${VCPSDK_SETUP_QUIET:-0}
dry_run=0
for arg in "$@"; do
    case "$arg" in
        --quiet) quiet=1 ;;
        --dry-run) dry_run=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup: unknown option $arg" >&2; usage >&2; exit 2 ;;
    esac
done

started=$SECONDS
# one progress line on stderr: "setup [ 12s] what is happening"
step() { [ "$quiet" = 1 ] || printf 'setup [%3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }
# in a dry run, say what would run instead of running it
run() {
    if [ "$dry_run" = 1 ]; then step "  would run: $*"; else "$@"; fi
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi
step "checking apt packages (Python: $("$PYTHON" --version 2>&1))"

apt_packages=()
# Debian ships venv/ensurepip separately from python3
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_packages+=(python3-venv)
# sandbox nodes are used with the system OpenSSH client and ping, as in the notebooks
for tool in ssh scp sftp ssh-keygen ssh-keyscan; do
    command -v "$tool" >/dev/null || { apt_packages+=(openssh-client); break; }
done
command -v ping >/dev/null || apt_packages+=(iputils-ping)
command -v ip >/dev/null && command -v unshare >/dev/null || apt_packages+=(iproute2 util-linux)  # vcc sandbox run: private network namespaces
# confined sandbox nodes: bubblewrap, and OpenSSH's sftp-server run inside the confinement
command -v bwrap >/dev/null || apt_packages+=(bubblewrap)
[ -x /usr/lib/openssh/sftp-server ] || apt_packages+=(openssh-sftp-server)
# the store on PostgreSQL (tests --vcp-database postgres): Debian's server, run throwaway by vcpsdk/testing/postgres.py
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_packages+=(postgresql)
if ((${#apt_packages[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    step "installing ${apt_packages[*]} with apt-get${sudo:+ (sudo)}"
    run $sudo apt-get update -qq
    run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
else
    step "apt packages: all present"
fi
# ping inside confined sandbox nodes (unprivileged host uids) uses ICMP datagram sockets:
# allow them for every group, as systemd's default sysctl.d does on Debian
ping_range=/proc/sys/net/ipv4/ping_group_range
if [ "$(tr -s '[:space:]' ' ' <"$ping_range" 2>/dev/null)" = "0 2147483647 " ]; then
    step "ping in sandbox nodes: allowed (net.ipv4.ping_group_range)"
else
    step "ping in sandbox nodes: setting net.ipv4.ping_group_range to 0 2147483647"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    run $sudo sh -c "echo '0 2147483647' > $ping_range" \
        || step "cannot set net.ipv4.ping_group_range: ping will not work in sandbox nodes"
fi

if [ ! -x .venv/bin/python ]; then
    step "creating the virtualenv .venv"
    run "$PYTHON" -m venv .venv
else
    step "virtualenv .venv: present"
fi

# pip's output, condensed: on a terminal one updating line, otherwise a line per phase
pip_log=.venv/setup-pip.log
follow_pip() {
    local line name count=0 on_tty=0 ticker=""
    [ "$quiet" = 1 ] || ! [ -t 2 ] || on_tty=1
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$pip_log"
        case "$line" in
            Collecting*)
                count=$((count + 1))
                [ "$count" -eq 1 ] && [ "$on_tty" = 0 ] && step "pip: resolving and downloading (log: $pip_log)"
                name=${line#Collecting }
                name=${name%%[<>=!~ ;[]*}
                [ "$on_tty" = 1 ] && printf '\r\033[Ksetup [%3ds] pip: %d packages resolved (%.40s)' \
                    "$((SECONDS - started))" "$count" "$name" >&2
                ;;
            "Installing collected packages:"*)
                [ "$on_tty" = 1 ] && printf '\r\033[K' >&2
                local names=${line#*: } n
                n=$(($(tr -cd , <<<"$names" | wc -c) + 1))
                step "pip: installing $n package$([ "$n" -eq 1 ] || echo s)"
                # pip says nothing more until it is done: a line every 20 s shows it works
                # (1 s sleeps: once killed, nothing of it holds stderr open for long)
                ( while :; do for _ in {1..20}; do sleep 1; done; step "pip: still installing"; done ) &
                ticker=$!
                ;;
        esac
    done
    [ -z "$ticker" ] || kill "$ticker" 2>/dev/null || true
    [ "$on_tty" = 1 ] && printf '\r\033[K' >&2
    return 0
}
pip_install() {  # pip install "$@", its output condensed; on failure the end of its log
    if ! .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off "$@" 2>&1 | follow_pip; then
        echo "setup: pip install $* failed; the end of $pip_log:" >&2
        tail -n 25 "$pip_log" >&2
        exit 1
    fi
}

pip_target=".[test,docs]"
# pip runs again only when pyproject.toml, the requested extras or the Python changed
stamp_file=.venv/setup-stamp
stamp=$( { cat pyproject.toml; echo "$pip_target"; "$PYTHON" --version; } 2>&1 | sha256sum | cut -c1-16)
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] && .venv/bin/python -c 'import vcpsdk' 2>/dev/null; then
    step "pip: $pip_target (vcpsdk and its extras) is up to date (pyproject.toml unchanged)"
elif [ "$dry_run" = 1 ]; then
    step "pip: would install pip and $pip_target (vcpsdk and its extras) into .venv"
else
    step "pip: upgrading pip"
    : >"$pip_log"
    pip_install --upgrade pip
    step "pip: installing $pip_target (vcpsdk and its extras; about a minute the first time)"
    pip_install -e "$pip_target"
    echo "$stamp" >"$stamp_file"
    step "pip: done"
fi

# govmomi's vCenter simulator for the vSphere tests (tests/vmware): built from Debian's Go
# sources, cached (a second run is instant); without it those tests fail and say why
step "vCenter simulator: scripts/build-vcsim.sh (cached after the first build)"
if [ "$dry_run" = 1 ]; then
    step "  would run: bash scripts/build-vcsim.sh"
elif ! bash scripts/build-vcsim.sh >/dev/null; then
    echo "setup: the vCenter simulator was not built; run scripts/build-vcsim.sh" >&2
fi
step "ready$([ "$dry_run" = 1 ] && echo " (dry run: nothing was changed)")"
