#!/usr/bin/env bash
# Live deployment checks (scripts/test.sh runs them after the unit tests):
#
#   systemd  boots a Debian 12 rootfs with systemd-nspawn, installs e27bridge in it as the
#            README's "Install" and "Run as a systemd service" sections say, links it to a
#            simulated panel and checks READY, STATUS, watchdog pings, stop within 5 s with
#            offline states, restart after a crash and after a hang, file modes, re-linking
#            while it runs and no restart loop on a config error.
#   docker   starts dockerd when no engine answers, builds the image with the classic
#            builder and with BuildKit, links and runs it as the README's "Run in Docker"
#            section says and checks the user, the HEALTHCHECK (unhealthy while unlinked,
#            healthy once linked without a restart, unhealthy with the broker down, healthy
#            again), MQTT, `docker stop` within 5 s and key modes, also with --read-only
#            --cap-drop ALL.
#
# The simulator and mosquitto run on the host's loopback; the containers share the host's
# network. Needs root and the project's .venv (scripts/test.sh makes it). Rootfs, base image
# and wheels are cached in $E27_DEPLOY_CACHE (default /var/cache/e27bridge-deploy-check).
#
#   bash scripts/deploy-check.sh [all|systemd|docker]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT=${1:-all}
CACHE=${E27_DEPLOY_CACHE:-/var/cache/e27bridge-deploy-check}
SUITE=bookworm
PANEL_ID=home
PANEL_MAC=00:11:22:33:44:aa
ACCESS_CODE=90817263
PASSPHRASE="deploy check phrase"
MQTT_USER=e27bridge
MQTT_PASSWORD="deploy-check-mqtt-$RANDOM$RANDOM"
IMAGE=e27bridge:deploy-check
VENV=$ROOT/.venv
PY=$VENV/bin/python
START=$SECONDS

case $WHAT in all | systemd | docker) ;; *)
  echo "usage: $0 [all|systemd|docker]" >&2
  exit 2
  ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "deploy-check: needs root (nspawn, dockerd)" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/e27bridge" ]; then
  echo "deploy-check: $VENV/bin/e27bridge missing: run scripts/test.sh first" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/e27-deploy-check.XXXXXX)
PIDS=()         # host processes we started, stopped at exit
CONTAINERS=()   # docker containers we started
NSPAWN_PID=""   # the booted machine
DOCKERD_PID=""  # dockerd, when we started it

log() { printf '%s deploy-check [%3ds] %s\n' "$(date +%H:%M:%S)" $((SECONDS - START)) "$*"; }
fail() {
  echo "deploy-check: FAIL: $*" >&2
  exit 1
}

cleanup() {
  local status=$?
  set +e
  if [ -n "${PREFETCH_PID:-}" ]; then
    pkill -P "$PREFETCH_PID"
    wait "$PREFETCH_PID"
  fi
  for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    machine_poweroff
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null
    wait "$DOCKERD_PID" 2>/dev/null
  fi
  log "cleaned up"
  if [ "$status" != 0 ]; then
    for f in "$WORK"/*.log; do
      [ -s "$f" ] || continue
      echo "----- $f (last 40 lines)" >&2
      tail -n 40 "$f" >&2
    done
    echo "deploy-check: failed after $((SECONDS - START)) s; logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
    # The closing line, in the form CI reads: both paths are one check each.
    case $WHAT in all) echo "deploy-check: 2 passed, 0 failed" ;; *) echo "deploy-check: 1 passed, 0 failed" ;; esac
  fi
}
trap cleanup EXIT

# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || fail "$what (not within $limit s)"
    sleep 0.5
  done
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

millis() { date +%s%3N; }

# readme LINE: the README must say LINE word for word (after "sudo "), so that what this
# script runs is what a user reads.
readme() {
  grep -qF -- "$1" README.md || fail "the README no longer says: $1"
}

# readme_cmd PREFIX: the README's command whose first line starts with PREFIX, with its
# continuation lines, without "sudo" and comments; one word a line.
readme_cmd() {
  "$PY" - "$1" <<'EOF'
import shlex
import sys

lines = open("README.md", encoding="utf-8").read().splitlines()
start = next((i for i, line in enumerate(lines) if line.startswith(sys.argv[1])), None)
if start is None:
    sys.exit(f"the README no longer has a command starting with: {sys.argv[1]}")
command = ""
for line in lines[start:]:
    command += line.removesuffix("\\") + " "
    if not line.endswith("\\"):
        break
print("\n".join(w for w in shlex.split(command, comments=True) if w != "sudo"))
EOF
}

# --- host tools, broker, simulator ---------------------------------------------------------

install_host_tools() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v systemd-nspawn >/dev/null || need+=(systemd-container)
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v mosquitto_sub >/dev/null || need+=(mosquitto-clients)
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${need[@]}" >"$WORK/apt.log" 2>&1 || fail "apt-get install ${need[*]}"
    # Packages that start their service on install: the checks start their own.
    (systemctl disable --now mosquitto docker containerd || true) >/dev/null 2>&1
  fi
}

debian_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v security | head -n1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hsE '^deb +(\[[^]]*\] +)?https?://' /etc/apt/sources.list |
    grep -v security | head -n1 | sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}')
  echo "${E27_DEPLOY_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

# ensure_rootfs DIR PACKAGES: a cached debootstrap of Debian 12 with PACKAGES.
ensure_rootfs() {
  local dir=$1 packages=$2
  if [ -f "$dir/.e27-complete" ]; then
    return
  fi
  log "debootstrap $SUITE ($packages) into $dir (cached for the next run)"
  rm -rf "$dir.tmp"
  mkdir -p "$CACHE"
  local log
  log=$WORK/debootstrap-$(basename "$dir").log
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$dir.tmp" "$(debian_mirror)" \
    >"$log" 2>&1 || fail "debootstrap (see $log)"
  rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb "$dir.tmp"/var/lib/apt/lists/*
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  touch "$dir/.e27-complete"
}

# A broker with a password (so the systemd path proves its credential reaches the daemon).
start_broker() {
  MQTT_PORT=${MQTT_PORT:-$(free_port)} # the same port after a restart
  mkdir -p "$WORK/broker"
  mosquitto_passwd -b -c "$WORK/broker/passwd" "$MQTT_USER" "$MQTT_PASSWORD" >/dev/null 2>&1
  chmod 0644 "$WORK/broker/passwd"
  cat >"$WORK/broker/mosquitto.conf" <<EOF
user root
listener $MQTT_PORT 127.0.0.1
allow_anonymous false
password_file $WORK/broker/passwd
persistence false
EOF
  /usr/sbin/mosquitto -c "$WORK/broker/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  wait_for 20 "mosquitto listens on $MQTT_PORT" mqtt_get '$SYS/broker/version'
}

stop_broker() {
  kill "$BROKER_PID"
  wait "$BROKER_PID" 2>/dev/null || true
}

# mqtt_get TOPIC [SECONDS]: print the first (retained) message on TOPIC.
mqtt_get() {
  mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASSWORD" \
    -C 1 -W "${2:-3}" -t "$1" 2>/dev/null
}

# mqtt_is TOPIC PAYLOAD: the retained message on TOPIC is PAYLOAD.
mqtt_is() { [ "$(mqtt_get "$1")" = "$2" ]; }

# record_mqtt FILE: subscribe to the state topics in the background (one line a message).
record_mqtt() {
  stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASSWORD" -v -d \
    -t "homie/5/+/\$state" -t "e27bridge/bridge/state" >"$1" 2>&1 &
  RECORDER_PID=$!
  PIDS+=("$RECORDER_PID")
  wait_for 10 "recorder subscribed" grep -q "SUBACK" "$1"
}

start_simulator() {
  PANEL_PORT=$(free_port)
  DISCOVERY_PORT=$(free_port)
  "$VENV/bin/e27bridge" simulate --profile small --no-activity --host 127.0.0.1 \
    --port "$PANEL_PORT" --discovery-port "$DISCOVERY_PORT" --mac "$PANEL_MAC" \
    --access-code "$ACCESS_CODE" --passphrase "$PASSPHRASE" >"$WORK/simulator-$1.log" 2>&1 &
  SIMULATOR_PID=$!
  PIDS+=("$SIMULATOR_PID")
  wait_for 20 "simulator listens on $PANEL_PORT" \
    "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PANEL_PORT), 1).close()"
}

stop_simulator() {
  kill "$SIMULATOR_PID"
  wait "$SIMULATOR_PID" 2>/dev/null || true
}

# write_config FILE STATE_DIR: the example config, edited as a user would.
write_config() {
  "$PY" - "$ROOT/config/example.toml" "$1" <<EOF
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
head, _, _ = text.partition("\n[[panels]]\n")
head = re.sub(r'(?m)^port = 1883 ', 'port = $MQTT_PORT ', head)
head = re.sub(r'(?m)^# username = "e27bridge" ', 'username = "$MQTT_USER" ', head)
head = head.replace('# password_file = "\$CREDENTIALS_DIRECTORY/mqtt-password"',
                    '$2')
panel = '''[[panels]]
id = "$PANEL_ID"
mac = "$PANEL_MAC"
host = "127.0.0.1"
port = $PANEL_PORT
discovery_port = $DISCOVERY_PORT
'''
open(sys.argv[2], "w", encoding="utf-8").write(head + "\n" + panel)
EOF
}

# key_modes DIR: every file 0600 (health.json 0644: no secrets), every directory 0700.
check_modes() {
  local dir=$1 bad
  bad=$(find "$dir" \( -type d ! -perm 0700 \) -o \( -type f ! -name health.json ! -perm 0600 \) \
    -printf '%m %p\n')
  [ -z "$bad" ] || fail "wrong modes under $dir: $bad"
  [ -n "$(find "$dir" -type f -name '*.json' ! -name health.json ! -name identity.json)" ] ||
    fail "no link keys under $dir"
}

# --- systemd ---------------------------------------------------------------------------------

# m COMMAND...: run COMMAND inside the booted machine.
m() {
  nsenter --target "$LEADER" --all \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 PIP_NO_INDEX=1 PIP_FIND_LINKS=/root/wheelhouse "$@"
}
msh() { m bash -euo pipefail -c "$1"; }
prop() { m systemctl show -P "$1" e27bridge.service; }
prop_is() { [ "$(prop "$1")" = "$2" ]; }
prop_is_not() { [ "$(prop "$1")" != "$2" ]; }
# changed FILE MTIME: FILE was written since.
changed() { [ "$(stat -c %Y "$1")" != "$2" ]; }

machine_poweroff() {
  m systemctl poweroff >/dev/null 2>&1 || kill "$NSPAWN_PID"
  local end=$((SECONDS + 30))
  while kill -0 "$NSPAWN_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.5; done
  kill -9 "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=""
}

stage_checkout() {
  local dest=$1
  mkdir -p "$dest"
  tar -C "$ROOT" -c --exclude='__pycache__' --exclude='*.egg-info' \
    pyproject.toml README.md src config deploy | tar -C "$dest" -x
}

# Wheels of every dependency and the build backend, so pip in the machine needs no index.
wheelhouse() {
  local dir=$CACHE/wheelhouse
  mkdir -p "$dir"
  "$VENV/bin/pip" wheel -q -w "$dir" "setuptools>=68" wheel "$ROOT" >"$WORK/wheels.log" 2>&1 ||
    fail "pip wheel (see $WORK/wheels.log)"
  rm -f "$dir"/e27bridge-*.whl
  echo "$dir"
}

check_systemd() {
  log "systemd: rootfs"
  local rootfs=$CACHE/rootfs-systemd
  ensure_rootfs "$rootfs" systemd,systemd-sysv,dbus,python3-venv
  local machine=$WORK/machine wheels
  wheels=$(wheelhouse)
  cp -a --reflink=auto "$rootfs" "$machine"
  stage_checkout "$machine/root/e27bridge"
  cp -a "$wheels" "$machine/root/wheelhouse"
  start_simulator systemd

  log "systemd: boot"
  systemd-nspawn --quiet --directory="$machine" --machine="e27dc$$" --register=no \
    --keep-unit --link-journal=no --console=passive --boot >"$WORK/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  wait_for 30 "machine started" pgrep -P "$NSPAWN_PID"
  LEADER=$(pgrep -P "$NSPAWN_PID")
  wait_for 60 "machine booted" m systemctl is-system-running --wait

  log "systemd: install as the README says"
  readme "sudo python3 -m venv /opt/e27bridge"
  readme "sudo /opt/e27bridge/bin/pip install /path/to/e27bridge     # this checkout"
  readme "sudo ln -s /opt/e27bridge/bin/e27bridge /usr/local/bin/e27bridge"
  msh "cd /root/e27bridge
    python3 -m venv /opt/e27bridge
    /opt/e27bridge/bin/pip install -q /root/e27bridge
    ln -s /opt/e27bridge/bin/e27bridge /usr/local/bin/e27bridge
    e27bridge version" >"$WORK/install.log" 2>&1 || fail "install (see $WORK/install.log)"
  readme "sudo install -m 0644 deploy/systemd/e27bridge.service /etc/systemd/system/"
  readme "sudo install -d -m 0755 /etc/e27bridge"
  readme "sudo install -m 0644 config/example.toml /etc/e27bridge/config.toml"
  readme "sudo install -d -m 0700 /etc/e27bridge/credentials"
  readme "sudo install -m 0600 /dev/stdin /etc/e27bridge/credentials/mqtt-password"
  readme 'password_file = "$CREDENTIALS_DIRECTORY/mqtt-password"'
  readme "LoadCredential=mqtt-password:/etc/e27bridge/credentials/mqtt-password"
  readme "sudo CREDENTIALS_DIRECTORY=/etc/e27bridge/credentials e27bridge check-config --config /etc/e27bridge/config.toml"
  msh "cd /root/e27bridge
    install -m 0644 deploy/systemd/e27bridge.service /etc/systemd/system/
    install -d -m 0755 /etc/e27bridge
    install -m 0644 config/example.toml /etc/e27bridge/config.toml
    install -d -m 0700 /etc/e27bridge/credentials"
  write_config "$machine/etc/e27bridge/config.toml" \
    'password_file = "$CREDENTIALS_DIRECTORY/mqtt-password"'
  printf '%s\n' "$MQTT_PASSWORD" |
    m install -m 0600 /dev/stdin /etc/e27bridge/credentials/mqtt-password
  # What `systemctl edit e27bridge` writes.
  msh "mkdir -p /etc/systemd/system/e27bridge.service.d
    printf '[Service]\nLoadCredential=mqtt-password:/etc/e27bridge/credentials/mqtt-password\n' \
      >/etc/systemd/system/e27bridge.service.d/override.conf"
  m env CREDENTIALS_DIRECTORY=/etc/e27bridge/credentials \
    e27bridge check-config --config /etc/e27bridge/config.toml >"$WORK/check-config.log" 2>&1 ||
    fail "check-config (see $WORK/check-config.log)"
  ! grep -q warning "$WORK/check-config.log" || fail "check-config warns: $(cat "$WORK/check-config.log")"
  # A short watchdog so that the hang below is caught in seconds, not a minute.
  msh "printf '[Service]\nWatchdogSec=6\n' >/etc/systemd/system/e27bridge.service.d/zz-deploy-check.conf"

  log "systemd: link as the service's user, then start"
  readme "sudo systemd-run --pty -p DynamicUser=yes -p User=e27bridge -p StateDirectory=e27bridge \\"
  local link_args
  mapfile -t link_args < <(readme_cmd "sudo systemd-run --pipe --wait")
  [ ${#link_args[@]} -gt 5 ] || fail "no scripted link command in the README"
  link_args+=(--host 127.0.0.1 --port "$PANEL_PORT" --discovery-port "$DISCOVERY_PORT")
  printf '%s\n%s\n' "$ACCESS_CODE" "$PASSPHRASE" | m "${link_args[@]}" >"$WORK/link.log" 2>&1 ||
    fail "link: ${link_args[*]} (see $WORK/link.log)"
  readme "sudo systemctl daemon-reload && sudo systemctl enable --now e27bridge"
  record_mqtt "$WORK/mqtt-systemd.log"
  m systemctl daemon-reload
  if ! m systemctl enable --now e27bridge.service >"$WORK/enable.log" 2>&1; then
    m journalctl -u e27bridge.service --no-pager >"$WORK/journal.log" 2>&1
    fail "systemctl enable --now (see $WORK/enable.log and $WORK/journal.log)"
  fi

  # READY: Type=notify is only "active" after READY=1.
  [ "$(prop ActiveState)" = active ] || fail "not active after start: $(prop ActiveState)"
  [ "$(prop StatusText)" = "MQTT connected; panels started" ] ||
    fail "STATUS text: '$(prop StatusText)'"
  wait_for 60 "panel ready on MQTT" mqtt_is "homie/5/$PANEL_ID/\$state" ready
  local first
  first=$(prop WatchdogTimestampMonotonic)
  wait_for 15 "a watchdog ping" prop_is_not WatchdogTimestampMonotonic "$first"
  log "systemd: ready, STATUS and watchdog pings seen"

  local uid state=$machine/var/lib/private/e27bridge
  uid=$(stat -c %u "$state")
  [ "$uid" != 0 ] || fail "state directory owned by root"
  check_modes "$state"
  [ "$(prop PrivateUsers)" = yes ] || fail "PrivateUsers is not in effect"

  log "systemd: re-link while running"
  printf '%s\n%s\n' "$ACCESS_CODE" "$PASSPHRASE" | m "${link_args[@]}" >"$WORK/relink.log" 2>&1 ||
    fail "re-link (see $WORK/relink.log)"
  [ "$(stat -c %u "$state")" = "$uid" ] ||
    fail "re-linking handed the state directory from uid $uid to $(stat -c %u "$state")"
  local health_before
  health_before=$(stat -c %Y "$state/health.json")
  wait_for 15 "the service still writes its health file" \
    changed "$state/health.json" "$health_before"
  check_modes "$state"

  log "systemd: stop within 5 s, offline states published"
  local t0 took
  t0=$(millis)
  m systemctl stop e27bridge.service
  took=$(($(millis) - t0))
  [ "$took" -lt 5000 ] || fail "systemctl stop took $took ms"
  [ "$(prop ExecMainStatus)" = 0 ] || fail "exit status after stop: $(prop ExecMainStatus)"
  wait_for 10 "panel offline published" grep -qx "homie/5/$PANEL_ID/\$state disconnected" \
    "$WORK/mqtt-systemd.log"
  wait_for 10 "bridge offline published" grep -q 'e27bridge/bridge/state .*offline' \
    "$WORK/mqtt-systemd.log"
  log "systemd: stopped in $took ms"

  log "systemd: restart after SIGSEGV"
  m systemctl start e27bridge.service
  local pid restarts
  pid=$(prop MainPID)
  restarts=$(prop NRestarts)
  m systemctl kill --kill-who=main --signal=SIGSEGV e27bridge.service
  wait_for 40 "restarted after SIGSEGV" restarted "$pid" "$restarts"

  log "systemd: restart after a hang (SIGSTOP, watchdog)"
  pid=$(prop MainPID)
  restarts=$(prop NRestarts)
  m systemctl kill --kill-who=main --signal=SIGSTOP e27bridge.service
  wait_for 60 "restarted after the watchdog fired" restarted "$pid" "$restarts"
  m journalctl -u e27bridge.service --no-pager >"$WORK/journal.log" 2>&1
  grep -qi "watchdog timeout" "$WORK/journal.log" || fail "no watchdog timeout in the journal"

  log "systemd: a config error (exit 2) does not restart"
  cp "$machine/etc/e27bridge/config.toml" "$WORK/config.good"
  printf '[bridge]\nid = 3\n' >>"$machine/etc/e27bridge/config.toml"
  m systemctl restart e27bridge.service >/dev/null 2>&1 || true
  wait_for 20 "the service failed" prop_is ActiveState failed
  restarts=$(prop NRestarts)
  sleep 7 # longer than RestartSec=5: a restart would have happened by now
  [ "$(prop ActiveState)" = failed ] && [ "$(prop NRestarts)" = "$restarts" ] &&
    [ "$(prop ExecMainStatus)" = 2 ] || fail "a config error restarted or did not exit 2"
  m journalctl -u e27bridge.service --no-pager >"$WORK/journal.log" 2>&1

  machine_poweroff
  stop_simulator
  kill "$RECORDER_PID" 2>/dev/null || true
  log "systemd: all checks passed"
}

# restarted OLD_PID OLD_RESTARTS: a new main process, counted as a restart, and ready again.
restarted() {
  [ "$(prop NRestarts)" -gt "$2" ] && [ "$(prop ActiveState)" = active ] &&
    [ "$(prop MainPID)" != "$1" ] && [ "$(prop MainPID)" != 0 ]
}

# --- docker ----------------------------------------------------------------------------------

# docker_engine: use the running engine, or start dockerd (vfs, no iptables, no bridge).
docker_engine() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  log "docker: starting dockerd"
  dockerd --storage-driver vfs --iptables=false --bridge=none >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  wait_for 60 "dockerd answers" docker info
}

# base_image: $E27_DEPLOY_BASE, else python:3.11-slim (pulled when possible), else a local
# Debian 12 base made with debootstrap (cached), carrying this machine's CA bundle so that
# pip in the build trusts what this machine trusts.
base_image() {
  if [ -n "${E27_DEPLOY_BASE:-}" ]; then
    echo "$E27_DEPLOY_BASE"
    return
  fi
  if docker image inspect python:3.11-slim >/dev/null 2>&1 ||
    timeout 60 docker pull -q python:3.11-slim >/dev/null 2>&1; then
    echo python:3.11-slim
    return
  fi
  local local_base=e27bridge-deploy-check/base:$SUITE rootfs=$CACHE/rootfs-docker
  if ! docker image inspect "$local_base" >/dev/null 2>&1; then
    if [ -n "$PREFETCH_PID" ]; then
      wait "$PREFETCH_PID" || true
      PREFETCH_PID=""
    fi
    ensure_rootfs "$rootfs" "$DOCKER_ROOTFS_PACKAGES"
    rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
      "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*
    mkdir -p "$rootfs/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    tar -C "$rootfs" --exclude=./.e27-complete -c . |
      docker import --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' - "$local_base" \
        >/dev/null
  fi
  echo "$local_base"
}

# docker_build LOG ARGS...: build the image; BuildKit through whichever client has it.
docker_build() {
  local log=$1
  shift
  "$@" --network host --build-arg BASE="$BASE" . >"$log" 2>&1 || fail "docker build (see $log)"
}

buildkit_client() {
  if docker buildx version >/dev/null 2>&1; then
    echo "docker buildx build --load"
  elif DOCKER_BUILDKIT=1 /usr/bin/docker build --help 2>&1 | grep -q -- --progress; then
    echo "/usr/bin/docker build" # Debian's client has BuildKit built in
  else
    fail "no docker client that builds with BuildKit"
  fi
}

health_is() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = "$2" ]; }

# readme_docker ARRAY PREFIX NAME IMAGE [OPTIONS]: the README's docker command that starts
# with PREFIX, into ARRAY, for this run: the container NAME, the IMAGE built here, the
# directories under $DOCKER_DIR instead of /srv/e27bridge, -i instead of -it (no terminal)
# and OPTIONS after "docker run".
readme_docker() {
  local -n out=$1
  local prefix=$2 name=$3 image=$4 words prev="" w
  shift 4
  mapfile -t words < <(readme_cmd "$prefix")
  [ ${#words[@]} -gt 3 ] || fail "no command starting with '$prefix' in the README"
  out=(docker run "$@")
  for w in "${words[@]:2}"; do
    case $prev:$w in
      --name:*) w=$name ;;
      *:-it) w=-i ;;
      *:/srv/e27bridge/*) w=$DOCKER_DIR/${w#/srv/e27bridge/} ;;
      *:e27bridge) w=$image ;;
    esac
    out+=("$w")
    prev=$w
  done
}

# run_bridge NAME IMAGE [DOCKER OPTIONS]: the README's docker run, detached, with a short
# HEALTHCHECK interval so the checks take seconds.
run_bridge() {
  local name=$1 image=$2 args
  shift 2
  docker rm -f "$name" >/dev/null 2>&1 || true # left over from a run that was killed
  CONTAINERS+=("$name")
  readme_docker args "docker run -d" "$name" "$image" "$@" \
    --health-interval 2s --health-timeout 10s --health-retries 2 --health-start-period 3s
  "${args[@]}" >/dev/null || fail "${args[*]}"
}

# stop_bridge NAME: `docker stop` within 5 s and exit 0.
stop_bridge() {
  local t0 took
  t0=$(millis)
  docker stop -t 10 "$1" >/dev/null
  took=$(($(millis) - t0))
  [ "$took" -lt 5000 ] || fail "docker stop $1 took $took ms"
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$1")" = 0 ] ||
    fail "$1 exited $(docker inspect -f '{{.State.ExitCode}}' "$1")"
  docker logs "$1" >"$WORK/$1.log" 2>&1
  log "docker: $1 stopped in $took ms"
}

check_docker() {
  docker_engine
  BASE=$(base_image)
  log "docker: build (classic builder) on $BASE"
  readme "docker build -t e27bridge ."
  # The builder stage gets a tag too, so that pruning replaced images keeps its layers
  # (the dependencies) as the cache of the next run.
  DOCKER_BUILDKIT=0 docker_build "$WORK/build-classic.log" docker build -t "$IMAGE" &&
    DOCKER_BUILDKIT=0 docker_build "$WORK/build-builder.log" docker build --target builder \
      -t "$IMAGE-builder"
  log "docker: build (BuildKit)"
  # shellcheck disable=SC2046 # the client command is words
  DOCKER_BUILDKIT=1 docker_build "$WORK/build-buildkit.log" $(buildkit_client) -t "$IMAGE-bk"
  local size
  size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
  log "docker: image $((size / 1000000)) MB on $BASE"

  start_simulator docker
  DOCKER_DIR=$WORK/docker
  readme "sudo install -d -m 0755 /srv/e27bridge/config"
  readme "sudo install -m 0644 config/example.toml /srv/e27bridge/config/config.toml"
  readme "sudo install -o 10001 -g 10001 -m 0400 /dev/stdin /srv/e27bridge/config/mqtt-password"
  readme 'password_file = "/config/mqtt-password"'
  readme "sudo install -d -o 10001 -g 10001 -m 0700 /srv/e27bridge/data"
  install -d -m 0755 "$DOCKER_DIR" "$DOCKER_DIR/config"
  write_config "$DOCKER_DIR/config/config.toml" 'password_file = "/config/mqtt-password"'
  chmod 0644 "$DOCKER_DIR/config/config.toml"
  printf '%s\n' "$MQTT_PASSWORD" |
    install -o 10001 -g 10001 -m 0400 /dev/stdin "$DOCKER_DIR/config/mqtt-password"
  install -d -o 10001 -g 10001 -m 0700 "$DOCKER_DIR/data"

  log "docker: run unlinked (unhealthy), then link while it runs"
  record_mqtt "$WORK/mqtt-docker.log"
  run_bridge e27dc-main "$IMAGE"
  [ "$(docker exec e27dc-main id -u):$(docker exec e27dc-main id -g)" = 10001:10001 ] ||
    fail "the container does not run as 10001:10001: $(docker exec e27dc-main id)"
  wait_for 60 "HEALTHCHECK unhealthy while unlinked" health_is e27dc-main unhealthy
  local why
  why=$(docker exec e27dc-main e27bridge health) && fail "health says healthy while unlinked"
  case $why in *"not linked"*) ;; *) fail "health says: $why" ;; esac
  local link_args
  readme_docker link_args "docker run --rm -it" "" "$IMAGE"
  link_args+=(--stdin --host 127.0.0.1 --port "$PANEL_PORT" --discovery-port "$DISCOVERY_PORT")
  printf '%s\n%s\n' "$ACCESS_CODE" "$PASSPHRASE" |
    "${link_args[@]}" >"$WORK/docker-link.log" 2>&1 ||
    fail "link in docker: ${link_args[*]} (see $WORK/docker-link.log)"
  wait_for 60 "panel ready on MQTT, no restart" mqtt_is "homie/5/$PANEL_ID/\$state" ready
  [ "$(docker inspect -f '{{.RestartCount}}' e27dc-main)" = 0 ] || fail "the container restarted"
  wait_for 60 "HEALTHCHECK healthy" health_is e27dc-main healthy
  docker exec e27dc-main e27bridge health >"$WORK/docker-health.log" ||
    fail "e27bridge health in the container: $(cat "$WORK/docker-health.log")"
  log "docker: non-root, ready on MQTT, healthy"

  stop_broker
  wait_for 40 "HEALTHCHECK unhealthy with the broker down" health_is e27dc-main unhealthy
  why=$(docker exec e27dc-main e27bridge health) && fail "health says healthy with the broker down"
  case $why in *"not connected to the MQTT broker"*) ;; *) fail "health says: $why" ;; esac
  start_broker
  wait_for 90 "HEALTHCHECK healthy again" health_is e27dc-main healthy
  log "docker: unhealthy with the broker down, healthy again"

  record_mqtt "$WORK/mqtt-docker-stop.log"
  stop_bridge e27dc-main
  wait_for 10 "panel offline published" grep -qx "homie/5/$PANEL_ID/\$state disconnected" \
    "$WORK/mqtt-docker-stop.log"
  [ "$(stat -c %u:%g "$DOCKER_DIR/data")" = 10001:10001 ] || fail "/data changed owner"
  check_modes "$DOCKER_DIR/data"

  log "docker: --read-only --cap-drop ALL (BuildKit image, linked before the start)"
  run_bridge e27dc-ro "$IMAGE-bk" --read-only --cap-drop ALL --security-opt no-new-privileges
  wait_for 60 "HEALTHCHECK healthy (read-only)" health_is e27dc-ro healthy
  wait_for 60 "panel ready on MQTT (read-only)" mqtt_is "homie/5/$PANEL_ID/\$state" ready
  stop_bridge e27dc-ro
  check_modes "$DOCKER_DIR/data"

  stop_simulator
  # vfs keeps every layer whole (about 1 GB a build): now and then drop the images that
  # later runs replaced; the tagged ones and their layers stay as the build cache.
  if [ "$(docker images -q -f dangling=true | wc -l)" -gt 6 ]; then
    log "docker: pruning replaced images"
    docker image prune -f >/dev/null 2>&1 || true
  fi
  log "docker: all checks passed (image $((size / 1000000)) MB on $BASE)"
}

# --- main ------------------------------------------------------------------------------------

install_host_tools
PREFETCH_PID=""
DOCKER_ROOTFS_PACKAGES=python3-venv
if [ "$WHAT" = all ] && [ ! -f "$CACHE/rootfs-docker/.e27-complete" ]; then
  # A cold cache: debootstrap the Docker base while the systemd checks run.
  ensure_rootfs "$CACHE/rootfs-docker" "$DOCKER_ROOTFS_PACKAGES" &
  PREFETCH_PID=$!
fi
start_broker
case $WHAT in
  systemd) check_systemd ;;
  docker) check_docker ;;
  all)
    check_systemd
    check_docker
    ;;
esac
log "deploy-check: $WHAT passed in $((SECONDS - START)) s"
