#!/usr/bin/env bash
# Set up the project on a bare Debian machine with Python 3.11+:
# the apt packages the tests need, a virtualenv in .venv, and vcpsdk with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi

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
if ((${#apt_packages[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${apt_packages[*]} with apt-get" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi
# ping inside confined sandbox nodes (unprivileged host uids) uses ICMP datagram sockets
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo sysctl -q -w net.ipv4.ping_group_range="0 2147483647" || echo "setup: cannot set net.ipv4.ping_group_range; ping will not work in sandbox nodes" >&2

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
# govmomi's vCenter simulator for the vSphere tests (tests/vmware): built from Debian's Go
# sources, cached (a second run is instant); without it those tests fail and say why
bash scripts/build-vcsim.sh >/dev/null || echo "setup: the vCenter simulator was not built; run scripts/build-vcsim.sh" >&2
