#!/bin/sh
# bulwark-agent: reports this host's packages to a Bulwark server and carries out the patch tasks its runs assign here. Needs only a POSIX sh, curl,
# coreutils (sha256sum, od), sed, awk and the host's rpm or dpkg-query. Every request is signed (HMAC-SHA256 over the method, path, time, a one-time
# nonce and the body's hash) with the key the server gave at enrollment, so a forged or replayed request is refused. Nothing received is evaluated by a
# shell: a task's argv arrives one word per line and runs as "$@", and only the package-manager commands the server sends (every word checked, see
# check_task) and a reboot (`@reboot`) are accepted.
#
#   bulwark-agent enroll URL ENROLLMENT_TOKEN   once, as root: writes $BULWARK_AGENT_DIR/config
#   bulwark-agent once                          report, then do the tasks waiting (run it from a timer)
#   bulwark-agent report | tasks                one of the two
#   bulwark-agent install-timer [MINUTES]       a systemd timer (or a cron line) running `once`
set -u
umask 077
DIR=${BULWARK_AGENT_DIR:-/etc/bulwark-agent}
CONF=$DIR/config
VERSION=1
BOOT_ID_FILE=${BULWARK_AGENT_BOOT_ID:-/proc/sys/kernel/random/boot_id} # this boot's id: a reboot step is done when a report comes from another
PROC_STAT=${BULWARK_AGENT_PROC_STAT:-/proc/stat}                        # its btime line: when this boot began (a reboot step begun before is done)
RPM_QF='%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n'
DPKG_QF='${binary:Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${db:Status-Abbrev}\n'

die() { echo "bulwark-agent: $*" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-agent.XXXXXX") || die "cannot make a temporary directory"
trap 'rm -rf "$TMP"' EXIT INT TERM

conf() { sed -n "s/^$1=//p" "$CONF" | head -n 1; }

# HMAC-SHA256 (RFC 2104) of a file with a 32-byte key given as 64 hex digits, with sha256sum.
hmac() {
  key=$1 ipad= opad= i=0
  while [ $i -lt 64 ]; do
    if [ -n "$key" ]; then b=$((0x${key%"${key#??}"})); key=${key#??}; else b=0; fi
    ipad="$ipad$(printf '\\%03o' $((b ^ 54)))"
    opad="$opad$(printf '\\%03o' $((b ^ 92)))"
    i=$((i + 1))
  done
  inner=$({ printf "$ipad"; cat "$2"; } | sha256sum | cut -c1-64)
  bin=
  while [ -n "$inner" ]; do bin="$bin$(printf '\\%03o' $((0x${inner%"${inner#??}"})))"; inner=${inner#??}; done
  { printf "$opad"; printf "$bin"; } | sha256sum | cut -c1-64
}

# request METHOD PATH BODY_FILE OUT_FILE: a signed request; prints the HTTP status.
request() {
  url=$(conf url) agent=$(conf agent) key=$(conf key)
  [ -n "$url" ] && [ -n "$agent" ] && [ -n "$key" ] || die "not enrolled ($CONF)"
  ts=$(date +%s)
  nonce=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  bodyhash=$(sha256sum < "$3" | cut -c1-64)
  printf 'bulwark-agent-v1\n%s\n%s\n%s\n%s\n%s\n%s' "$agent" "$ts" "$nonce" "$1" "$2" "$bodyhash" > "$TMP/sts"
  sig=$(hmac "$key" "$TMP/sts")
  curl -sS --max-time "${BULWARK_AGENT_TIMEOUT:-300}" ${BULWARK_AGENT_CA:+--cacert "$BULWARK_AGENT_CA"} \
    -X "$1" -H "X-Bulwark-Agent: $agent" -H "X-Bulwark-Timestamp: $ts" -H "X-Bulwark-Nonce: $nonce" \
    -H "X-Bulwark-Signature: $sig" -H 'Content-Type: text/plain' --data-binary "@$3" \
    -o "$4" -w '%{http_code}' "$url$2"
}

enroll() {
  [ $# -eq 2 ] || die "usage: bulwark-agent enroll URL ENROLLMENT_TOKEN"
  url=${1%/}
  case $url in http://* | https://*) ;; *) die "the server URL must start with https:// (or http:// for tests)" ;; esac
  mkdir -p "$DIR" || die "cannot create $DIR"
  printf 'token=%s\nhostname=%s\n' "$2" "$(uname -n)" > "$TMP/enroll"
  code=$(curl -sS --max-time 60 ${BULWARK_AGENT_CA:+--cacert "$BULWARK_AGENT_CA"} -X POST -H 'Content-Type: text/plain' --data-binary "@$TMP/enroll" -o "$TMP/out" -w '%{http_code}' "$url/agent/v1/enroll") || die "cannot reach $url"
  [ "$code" = 200 ] || die "enrollment refused ($code): $(cat "$TMP/out")"
  agent=$(sed -n 's/^agent=//p' "$TMP/out") key=$(sed -n 's/^key=//p' "$TMP/out")
  [ -n "$agent" ] && [ -n "$key" ] || die "the server's answer has no credential"
  printf 'url=%s\nagent=%s\nkey=%s\n' "$url" "$agent" "$key" > "$CONF.new" && mv "$CONF.new" "$CONF" || die "cannot write $CONF"
  echo "enrolled as agent $agent, host $(sed -n 's/^host=//p' "$TMP/out")"
}

report() {
  out=$TMP/report
  {
    echo "bulwark-report $VERSION"
    echo "@@os-release"
    cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release
    echo "@@uname"
    uname -r
    uname -m
    echo "@@managers"
    for m in tdnf dnf5 dnf apt-get; do command -v "$m" > /dev/null 2>&1 && echo "$m"; done
    echo "@@boot"
    cat "$BOOT_ID_FILE" 2>/dev/null || echo unknown
    sed -n 's/^btime //p' "$PROC_STAT" 2>/dev/null
    echo "@@image"
    cat /etc/bulwark-image 2>/dev/null
    echo "@@reboot"
    # The server's rule, step by step (src/inventory/collector.ts, rebootRequired): the marker says yes; else needs-restarting -r's 0 (no) or 1 (yes), any
    # other outcome no answer; else no marker where something writes it (unattended-upgrades' kernel hook, update-notifier) says no; else unknown.
    reboot=unknown
    if [ -e /var/run/reboot-required ]; then reboot=yes
    else
      if command -v needs-restarting > /dev/null 2>&1; then
        needs-restarting -r > /dev/null 2>&1
        case $? in 0) reboot=no ;; 1) reboot=yes ;; esac
      fi
      if [ "$reboot" = unknown ] && { [ -e /etc/kernel/postinst.d/unattended-upgrades ] || [ -e /usr/share/update-notifier/notify-reboot-required ]; }; then reboot=no; fi
    fi
    echo "$reboot"
    echo "@@files" # module states, apt sources (streams.ts keeps the ESM ones; "=DIR/", "=PATH", lines after a space), then pro channels
    for d in /etc/dnf/modules.d /etc/apt/sources.list.d; do
      [ -d "$d" ] && echo "=$d/" || continue
      for f in "$d"/*.module "$d"/*.list "$d"/*.sources; do [ -f "$f" ] && [ -r "$f" ] && echo "=$f" && awk '{ print " " $0 }' "$f"; done
    done
    command -v pro > /dev/null 2>&1 && pro status --format json > "$TMP/channels" 2> /dev/null && { echo "@@channel-status"; awk '{ print " " $0 }' "$TMP/channels"; }
    echo "@@livepatch-sysfs"; for lp in "${BULWARK_AGENT_LIVEPATCH_SYSFS:-/sys/kernel/livepatch}"/*; do [ -e "$lp/enabled" ] && printf '%s %s\n' "${lp##*/}" "$(cat "$lp/enabled")"; done
    lp=$(kpatch list 2> /dev/null) && printf '@@livepatch-kpatch\n%s\n' "$lp" # live patches (src/inventory/livepatch.ts): sysfs always, these when they answer
    lp=$(rpm -q --queryformat '@@package %{NAME}-%{VERSION}-%{RELEASE}\n%{DESCRIPTION}\n' --whatprovides livepatch 2> /dev/null) && printf '@@livepatch-package\n%s\n' "$lp"
    lp=$(canonical-livepatch status --format json 2> /dev/null) && printf '@@livepatch-canonical\n%s\n' "$lp"
    if command -v rpm > /dev/null 2>&1 && ! command -v dpkg-query > /dev/null 2>&1 || [ "${BULWARK_AGENT_PACKAGES:-}" = rpm ]; then
      echo "@@packages rpm"
      rpm -qa --queryformat "$RPM_QF"
    else
      echo "@@packages dpkg"
      dpkg-query -W -f "$DPKG_QF"
    fi
  } > "$out" || die "cannot read the package database"
  code=$(request POST /agent/v1/report "$out" "$TMP/answer") || die "cannot reach the server"
  [ "$code" = 200 ] || die "report refused ($code): $(cat "$TMP/answer")"
  cat "$TMP/answer"
}

# Letters and digits spelled out (a range such as a-z can match other characters in some locales).
LOWER=abcdefghijklmnopqrstuvwxyz
UPPER=ABCDEFGHIJKLMNOPQRSTUVWXYZ
DIGITS=0123456789
# dnf repoquery's format, as the server sends it: ending in a backslash and an n, not a line break.
REPOQUERY_QF='%{name} %{epoch}:%{version}-%{release}\n'

# only SET WORD: WORD is not empty and has only characters of SET.
only() { case $2 in '' | *[!$1]*) return 1 ;; esac; }
# A Debian package name (^[a-z0-9][a-z0-9+.-]+$).
deb_name() { only "$LOWER$DIGITS+.-" "$1" && case $1 in [$LOWER$DIGITS]?*) ;; *) return 1 ;; esac; }
# name[:arch]=[epoch:]version, as apt-get is given it; no name or word ending in "-" (apt-get
# reads a trailing "-" as remove).
deb_spec() {
  case $1 in *=*=* | *-=* | *-:*=* | *-) return 1 ;; ?*=?*) ;; *) return 1 ;; esac
  ds_name=${1%%=*} ds_version=${1#*=}
  case $ds_name in
    *:*:*) return 1 ;;
    *:*) only "$UPPER$LOWER${DIGITS}_" "${ds_name#*:}" || return 1; ds_name=${ds_name%%:*} ;;
  esac
  deb_name "$ds_name" || return 1
  case $ds_version in
    *:*:*) return 1 ;;
    *:*) only "$DIGITS" "${ds_version%%:*}" || return 1; ds_version=${ds_version#*:} ;;
  esac
  only "$UPPER$LOWER$DIGITS.+~-" "$ds_version"
}
# An rpm package name (^[A-Za-z0-9_+][A-Za-z0-9._+-]*$).
rpm_name() { only "$UPPER$LOWER$DIGITS._+-" "$1" && case $1 in [$UPPER$LOWER${DIGITS}_+]*) ;; *) return 1 ;; esac; }
# name-[epoch:]version-release[.arch], as dnf and tdnf are given it: no option, path, URL, glob,
# group or local .rpm file.
rpm_spec() {
  only "$UPPER$LOWER$DIGITS._+~^:-" "$1" || return 1
  case $1 in [$UPPER$LOWER${DIGITS}_+]*-?*-?*) ;; *) return 1 ;; esac
  case $1 in
    *.rpm | *:*:*) return 1 ;;
    *:*) rs_epoch=${1%%:*}; only "$DIGITS" "${rs_epoch##*-}" || return 1 ;;
  esac
}
# A package glob after --exclude= (^[A-Za-z0-9_+*?][A-Za-z0-9_.+*?~^-]{0,199}$): a policy's excludes.
exclude_glob() { only "$UPPER$LOWER${DIGITS}_.+*?~^-" "$1" && [ ${#1} -le 200 ] && case $1 in [$UPPER$LOWER${DIGITS}_+*?]*) ;; *) return 1 ;; esac; }
# A repository id after --enablerepo= (^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$).
repo_id() { only "$UPPER$LOWER${DIGITS}_.:-" "$1" && [ ${#1} -le 100 ] && case $1 in [$UPPER$LOWER$DIGITS]*) ;; *) return 1 ;; esac; }

# A release version after --releasever= (tdnf): letters, digits, dots, dashes, at most 32.
releasever() { only "$UPPER$LOWER$DIGITS._-" "$1" && [ ${#1} -le 32 ]; }
# refuse WORD WHY: says which word of the task is refused.
refuse() { printf 'refused: "%s" %s\n' "$1" "$2"; return 1; }
# every CHECK WHAT WORD...: one word or more, each passing CHECK.
every() {
  ev_check=$1 ev_what=$2; shift 2
  [ $# -gt 0 ] || { echo "refused: the command ends where bulwark sends $ev_what"; return 1; }
  for ev_word in "$@"; do $ev_check "$ev_word" || { refuse "$ev_word" "is not $ev_what"; return; }; done
}
# want EXPECTED WORD: WORD is EXPECTED.
want() { [ "$2" = "$1" ] || refuse "$2" "where bulwark sends $1"; }

# repo_args WORD...: an optional `--disablerepo=* --enablerepo=ID`; sets ct_shift to the words it took.
repo_args() {
  ct_shift=0
  [ "${1:-}" = '--disablerepo=*' ] || return 0
  case ${2:-} in --enablerepo=*) repo_id "${2#--enablerepo=}" ;; *) false ;; esac || refuse "${2:-}" 'where bulwark sends --enablerepo=<repository id>' || return 1
  ct_shift=2
}
# excludes WORD...: any `--exclude=GLOB` words; sets ct_shift to how many and ct_excluded when any.
excludes() {
  ct_shift=0 ct_excluded=
  for ex_word in "$@"; do
    case $ex_word in
      --exclude=*) exclude_glob "${ex_word#--exclude=}" || refuse "$ex_word" 'is not --exclude=<package glob>' || return 1; ct_excluded=1; ct_shift=$((ct_shift + 1)) ;;
      *) break ;;
    esac
  done
}

# check_task WORD...: the task's argv is one of the commands the server sends
# (src/executor/<manager>/index.ts), word for word; else says which word is refused and fails. Run in a
# subshell (it sets variables and shifts).
check_task() {
  case ${1:-} in
    env)
      want DEBIAN_FRONTEND=noninteractive "${2:-}" && want apt-get "${3:-}" || return 1
      shift 3
      if [ "${1:-}" = -q ]; then
        want update "${2:-}" || return 1
        [ $# -eq 2 ] || refuse "$3" 'after apt-get -q update'
        return
      elif [ "${1:-}" = -s ]; then
        want -q "${2:-}" || return 1
        shift 2
      elif [ "${1:-}" = -y ]; then
        want -q "${2:-}" && want -o "${3:-}" && want Dpkg::Options::=--force-confold "${4:-}" || return 1
        shift 4
      else
        refuse "${1:-}" 'where bulwark sends -q update, -s -q install or -y -q -o Dpkg::Options::=--force-confold install'
        return
      fi
      want install "${1:-}" && want --only-upgrade "${2:-}" && want --no-install-recommends "${3:-}" || return 1
      shift 3
      every deb_spec 'a package=version' "$@"
      ;;
    apt-cache)
      case ${2:-} in show | policy) ;; *) refuse "${2:-}" 'where bulwark sends show or policy'; return ;; esac
      shift 2
      every deb_name 'a Debian package name' "$@"
      ;;
    dnf)
      shift
      repo_args "$@" || return 1
      shift $ct_shift
      excludes "$@" || return 1
      shift $ct_shift
      case ${1:-} in
        --assumeno | -y)
          want install "${2:-}" || return 1
          shift 2
          every rpm_spec 'a package name-[epoch:]version-release[.arch]' "$@"
          ;;
        -q)
          [ -z "$ct_excluded" ] || refuse --exclude "where bulwark sends repoquery without it" || return 1
          want repoquery "${2:-}" || return 1
          shift 2
          [ "${1:-}" = --installed ] && shift
          want --qf "${1:-}" && want "$REPOQUERY_QF" "${2:-}" && want -- "${3:-}" || return 1
          shift 3
          every rpm_name 'an rpm package name' "$@"
          ;;
        *) refuse "${1:-}" 'where bulwark sends --assumeno, -y or -q to dnf' ;;
      esac
      ;;
    tdnf)
      # tdnf is given its configuration file (the host's own, no other) and the release version.
      want -c "${2:-}" && want /etc/tdnf/tdnf.conf "${3:-}" || return 1
      shift 3
      case ${1:-} in
        --releasever=*) releasever "${1#--releasever=}" || refuse "$1" 'is not --releasever=<release version>' || return 1; shift ;;
      esac
      repo_args "$@" || return 1
      shift $ct_shift
      excludes "$@" || return 1
      shift $ct_shift
      case ${1:-} in
        -y)
          want install "${2:-}" || return 1
          shift 2
          every rpm_spec 'a package name-[epoch:]version-release[.arch]' "$@"
          ;;
        -j)
          case ${2:-} in
            --assumeno)
              want install "${3:-}" || return 1
              shift 3
              every rpm_spec 'a package name-[epoch:]version-release[.arch]' "$@"
              ;;
            repoquery)
              [ -z "$ct_excluded" ] || refuse --exclude "where bulwark sends repoquery without it" || return 1
              case ${3:-} in --available | --installed) ;; *) refuse "${3:-}" 'where bulwark sends --available or --installed'; return ;; esac
              shift 3
              [ $# -le 1 ] || refuse "$2" "after tdnf repoquery's one package name" || return 1
              every rpm_name 'an rpm package name' "$@"
              ;;
            *) refuse "${2:-}" 'where bulwark sends --assumeno or repoquery after -j' ;;
          esac
          ;;
        *) refuse "${1:-}" 'where bulwark sends -j or -y to tdnf' ;;
      esac
      ;;
    dnf5)
      shift
      case ${1:-} in
        --repo=*) repo_id "${1#--repo=}" || refuse "$1" 'is not --repo=<repository id>' || return 1; shift ;;
      esac
      want -q "${1:-}" || return 1
      shift
      excludes "$@" || return 1
      shift $ct_shift
      case ${1:-} in
        --assumeno | -y)
          want install "${2:-}" || return 1
          shift 2
          every rpm_spec 'a package name-[epoch:]version-release[.arch]' "$@"
          ;;
        repoquery)
          [ -z "$ct_excluded" ] || refuse --exclude "where bulwark sends repoquery without it" || return 1
          case ${2:-} in --available | --installed) ;; *) refuse "${2:-}" 'where bulwark sends --available or --installed'; return ;; esac
          want --queryformat "${3:-}" && want "$REPOQUERY_QF" "${4:-}" || return 1
          shift 4
          every rpm_name 'an rpm package name' "$@"
          ;;
        *) refuse "${1:-}" 'where bulwark sends --assumeno, -y or repoquery to dnf5' ;;
      esac
      ;;
    apt-get) refuse apt-get 'where bulwark sends env DEBIAN_FRONTEND=noninteractive apt-get' ;;
    *) echo "refused: ${1:-} is not a package manager"; return 1 ;;
  esac
}

# Runs one task: its argv is one word per line after the `task` line, up to `end`.
run_task() {
  id=$1 kind=$2 argfile=$3
  set --
  while IFS= read -r arg; do set -- "$@" "$arg"; done < "$argfile"
  if [ "$kind" = report ]; then
    if report > "$TMP/task-out" 2>&1; then status=0; else status=1; fi
  elif [ "$kind" = exec ] && [ "${1:-}" = @reboot ] && { [ $# -eq 1 ] || { [ $# -eq 2 ] && only "$DIGITS" "$2"; }; }; then
    boot=$(cat "$BOOT_ID_FILE") || die "cannot read the boot id"
    # `@reboot SINCE`: a step begun at SINCE (seconds since the epoch) by a server that died since;
    # a host that booted after it was rebooted for it already, and is not rebooted again.
    if [ $# -eq 2 ]; then
      btime=$(sed -n 's/^btime //p' "$PROC_STAT")
      if only "$DIGITS" "$btime" && [ "$btime" -ge "$2" ]; then
        printf 'exit=0\nboot_id=%s\nbooted_at=%s\nalready-booted-since\n' "$boot" "$btime" > "$TMP/result"
        code=$(request POST "/agent/v1/tasks/$id/result" "$TMP/result" "$TMP/answer") || die "cannot reach the server"
        [ "$code" = 200 ] || die "result of task $id refused ($code): $(cat "$TMP/answer")"
        return 0
      fi
    fi
    # Acknowledge first, with the boot being left; then reboot. The timer reports after boot.
    printf 'exit=0\nboot_id=%s\nrebooting\n' "$boot" > "$TMP/result"
    code=$(request POST "/agent/v1/tasks/$id/result" "$TMP/result" "$TMP/answer") || die "cannot reach the server"
    [ "$code" = 200 ] || die "result of task $id refused ($code): $(cat "$TMP/answer")"
    if command -v systemctl > /dev/null 2>&1; then systemctl reboot; else shutdown -r now; fi
    exit 0
  elif [ "$kind" != exec ]; then
    echo "refused: a task of kind $kind" > "$TMP/task-out"; status=126
  elif (LC_ALL=C; export LC_ALL; check_task "$@") > "$TMP/task-out"; then
    "$@" > "$TMP/task-out" 2>&1; status=$?
  else
    status=126
  fi
  # The server keeps a task's first MiB of output (and refuses a result much larger).
  { echo "exit=$status"; head -c 1048576 "$TMP/task-out"; } > "$TMP/result"
  code=$(request POST "/agent/v1/tasks/$id/result" "$TMP/result" "$TMP/answer") || die "cannot reach the server"
  [ "$code" = 200 ] || die "result of task $id refused ($code): $(cat "$TMP/answer")"
}

tasks() {
  : > "$TMP/empty"
  while :; do
    code=$(request GET /agent/v1/tasks "$TMP/empty" "$TMP/tasks") || die "cannot reach the server"
    [ "$code" = 200 ] || die "task list refused ($code): $(cat "$TMP/tasks")"
    line=$(head -n 1 "$TMP/tasks")
    case $line in
      "task "*) ;;
      *) return 0 ;;
    esac
    set -- $line
    [ $# -eq 3 ] || die "a malformed task line"
    id=$2 kind=$3
    case $id in *[!0-9]* | '') die "a malformed task id" ;; esac
    sed -n '2,$p' "$TMP/tasks" | sed '/^end$/,$d' | sed 's/^arg //' > "$TMP/argv"
    run_task "$id" "$kind" "$TMP/argv"
  done
}

install_timer() {
  minutes=${1:-15}
  case $minutes in *[!0-9]* | '') die "minutes: a number" ;; esac
  self=$(command -v bulwark-agent || echo "$0")
  if command -v systemctl > /dev/null 2>&1 && [ -d /etc/systemd/system ]; then
    printf '[Unit]\nDescription=Bulwark agent: report packages, run patch tasks\n\n[Service]\nType=oneshot\nExecStart=%s once\n' "$self" > /etc/systemd/system/bulwark-agent.service
    printf '[Unit]\nDescription=Bulwark agent timer\n\n[Timer]\nOnBootSec=2min\nOnUnitActiveSec=%smin\nRandomizedDelaySec=60\n\n[Install]\nWantedBy=timers.target\n' "$minutes" > /etc/systemd/system/bulwark-agent.timer
    systemctl daemon-reload && systemctl enable --now bulwark-agent.timer
  else
    printf '*/%s * * * * root %s once\n@reboot root %s once\n' "$minutes" "$self" "$self" > /etc/cron.d/bulwark-agent
  fi
}

case ${1:-} in
  enroll) shift; enroll "$@" ;;
  report) report ;;
  tasks) tasks ;;
  once) report > /dev/null && tasks ;;
  install-timer) shift; install_timer "$@" ;;
  *) die "usage: bulwark-agent enroll URL TOKEN | once | report | tasks | install-timer [MINUTES]" ;;
esac
