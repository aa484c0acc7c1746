# deploy/lib/netns.sh — hosts in network namespaces on one bridge, and the
# faults a network and a host can have, for deploy/local-cluster --netns
# and the tests (tests/lib/netns-lib.sh, tests/lib/netns-fault).  POSIX
# sh, root only; its functions keep their variables in names starting
# with _ns_.
#
# Layout.  Every namespace is named PREFIX-NAME (PREFIX unique per run,
# e.g. tn<pid>).  PREFIX-hub holds the bridge br0 and no address, so
# neither the root namespace nor any interface outside these namespaces
# gets an address or a route; each host PREFIX-NODE has lo and eth0 (a
# veth whose other end, v-NODE, is a port of br0) with ADDR/24 of a
# private net (10.77.0.0/24 unless NETNS_NET says otherwise).
#
# State lives in a directory, NETNS_STATE_DIR ($netns_state below):
#   prefix         PREFIX, one line
#   hosts          "NODE ADDR" per host
#   NODE.start     sh script that starts NODE's processes in its namespace
#                  (written by netns_write_start; applies NODE.skew)
#   NODE.skew      the wall-clock offset of NODE in seconds (skew)
#   NODE.frozen    the pids freeze stopped
#   NODE.netdelay  "PID DELAY JITTER LOSS" of NODE's netdelay
#   netdelay       the netdelay binary (absent: delay and loss unavailable)
#   ca             a CA certificate (curl --cacert to the agents' HTTPS)
#
# Faults (netns_fault KIND NODE [ARGS]):
#   partition NODE [--from N1,N2...]      NODE cut from those (default:
#                                         every other host), both ways
#   partition-one-way NODE [--from ...]   packets from those to NODE
#                                         dropped; NODE's still leave
#   partition-primary-from-witnesses NODE NODE (or "primary": the node
#                                         whose agent answers 200 on
#                                         /primary) cut from w1..w3 only;
#                                         HAProxy and clients still reach it
#   isolate-witness-leader [-]            the witness leader cut from all
#   partition-split N1[,N2...] [M1,...]   the bridge split in two: N1,
#                                         N2... and M1... on one side,
#                                         every other host on the other
#   heal [NODE[,NODE...]|leader|all]      partitions, delay and loss gone
#                                         (leader: the witness that
#                                         isolate-witness-leader cut)
#   delay NODE MS [JITTER]                every packet NODE receives waits
#   loss NODE PCT                         NODE drops PCT % of what it receives
#   crash NODE                            kill -9 of every process in NODE
#   freeze NODE / thaw NODE               SIGSTOP / SIGCONT of them
#   restart NODE                          NODE.start again (after a crash)
#   skew NODE SECONDS                     NODE's wall clock off by SECONDS
#                                         (libfaketime; CLOCK_MONOTONIC
#                                         untouched): its processes restart
# Partitions are nftables drop rules in the hosts' own namespaces (table
# inet tenure_fault); delay and loss an iptables NFQUEUE rule on NODE's
# input that hands every packet arriving to tests/helpers/netdelay in
# NODE's namespace (tc netem is not in every kernel: netdelay needs only
# nfnetlink_queue; iptables-nft's NFQUEUE target, because nft's own
# `queue` expression is missing from some kernels too; on the input, as a
# packet held on its sender's output still counts against its TCP socket).

netns_net=${NETNS_NET:-10.77.0}
netns_faketime_lib=${NETNS_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1}

netns_say() { printf '%s\n' "$*" >&2; }

# netns_need_tools: ip and nft, or a message and status 1
netns_need_tools() {
	command -v ip >/dev/null || { netns_say "ip missing (apt-get install iproute2)"; return 1; }
	command -v nft >/dev/null || { netns_say "nft missing (apt-get install nftables)"; return 1; }
	return 0
}

netns_prefix() { cat "$netns_state/prefix"; }
netns_name() { echo "$(netns_prefix)-$1"; }
# netns_addr NODE: NODE's address
netns_addr() { awk -v n="$1" '$1 == n { print $2 }' "$netns_state/hosts"; }
netns_hosts() { awk '{ print $1 }' "$netns_state/hosts" | tr '\n' ' '; }
netns_in() { # netns_in NODE CMD...: CMD in NODE's namespace
	_ns_n=$1
	shift
	ip netns exec "$(netns_name "$_ns_n")" "$@"
}

# netns_sweep PREFIX: removes every namespace named PREFIX-* (a run killed
# before its cleanup left them; PREFIX holds a pid, so only this run's
# predecessor with the same pid can have made them), killing what runs in
# them first
netns_sweep() {
	for _ns_x in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$1-"); do
		_ns_p=$(ip netns pids "$_ns_x" 2>/dev/null | tr '\n' ' ')
		[ -n "$_ns_p" ] && kill -9 $_ns_p 2>/dev/null
		ip netns del "$_ns_x" 2>/dev/null
	done
	return 0
}

# netns_create STATE_DIR PREFIX: the hub namespace with its bridge
netns_create() {
	netns_state=$1
	NETNS_STATE_DIR=$1
	export NETNS_STATE_DIR
	mkdir -p "$netns_state" || return 1
	netns_sweep "$2"
	echo "$2" >"$netns_state/prefix"
	: >"$netns_state/hosts"
	ip netns add "$2-hub" || return 1
	ip -n "$2-hub" link add br0 type bridge || return 1
	ip -n "$2-hub" link set br0 up
	ip -n "$2-hub" link set lo up
}

# netns_add_host NODE NUMBER: host PREFIX-NODE with address NET.NUMBER,
# its port on the bridge, and empty fault chains
netns_add_host() {
	_ns_p=$(netns_prefix)
	_ns_ns="$_ns_p-$1"
	_ns_a="$netns_net.$2"
	ip netns add "$_ns_ns" || return 1
	ip -n "$_ns_p-hub" link add "v-$1" type veth peer name eth0 netns "$_ns_ns" || return 1
	ip -n "$_ns_p-hub" link set "v-$1" master br0 up
	ip -n "$_ns_ns" link set lo up
	ip -n "$_ns_ns" addr add "$_ns_a/24" dev eth0
	ip -n "$_ns_ns" link set eth0 up
	ip netns exec "$_ns_ns" nft -f - <<EOF || return 1
table inet tenure_fault {
	chain input { type filter hook input priority 0; policy accept; }
	chain output { type filter hook output priority 0; policy accept; }
}
EOF
	echo "$1 $_ns_a" >>"$netns_state/hosts"
}

# netns_destroy: every process in this run's namespaces killed (they
# were all started into them by this run), every namespace removed
netns_destroy() {
	[ -n "${netns_state:-}" ] && [ -f "$netns_state/prefix" ] || return 0
	_ns_pf=$(netns_prefix)
	for _ns_f in "$netns_state"/*.netdelay; do
		[ -f "$_ns_f" ] || continue
		read -r _ns_pid _ns_rest <"$_ns_f"
		kill -TERM "$_ns_pid" 2>/dev/null
		rm -f "$_ns_f"
	done
	_ns_all=""
	for _ns_x in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$_ns_pf-"); do
		_ns_all="$_ns_all $(ip netns pids "$_ns_x" 2>/dev/null | tr '\n' ' ')"
	done
	if [ -n "$(echo $_ns_all)" ]; then
		kill -CONT $_ns_all 2>/dev/null
		kill -9 $_ns_all 2>/dev/null
		_ns_i=0
		for _ns_q in $_ns_all; do
			while [ -d "/proc/$_ns_q" ] && [ $_ns_i -lt 50 ]; do sleep 0.1; _ns_i=$((_ns_i + 1)); done
		done
	fi
	netns_sweep "$_ns_pf"
}

# ---- processes --------------------------------------------------------------

# netns_quote WORD: WORD in single quotes for sh
netns_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# netns_write_start NODE DIR LOG CMD...: NODE.start runs CMD in NODE's
# namespace, in DIR, under NODE's clock skew (NODE.skew) if any; restart
# appends its output to LOG (kept in NODE.logfile)
netns_write_start() {
	_ns_node=$1
	_ns_dir=$2
	echo "$3" >"$netns_state/$1.logfile"
	shift 3
	# libfaketime goes in after a leading `setpriv ... --`: the first
	# process that loads it creates its semaphore, which a process of
	# another user cannot open (the agent under setpriv died at once)
	_ns_pre=""
	if [ "$1" = setpriv ]; then
		while [ $# -gt 0 ] && [ "$1" != -- ]; do _ns_pre="$_ns_pre $(netns_quote "$1")"; shift; done
		[ $# -gt 0 ] && { _ns_pre="$_ns_pre --"; shift; }
	fi
	_ns_cmd=""
	for _ns_w in "$@"; do _ns_cmd="$_ns_cmd $(netns_quote "$_ns_w")"; done
	cat >"$netns_state/$_ns_node.start" <<EOF
#!/bin/sh
# starts $_ns_node in its namespace (deploy/lib/netns.sh)
set --$_ns_pre$_ns_cmd
skew=\$(cat '$netns_state/$_ns_node.skew' 2>/dev/null)
case "\$skew" in
'' | 0 | +0 | -0) ;;
*) set --$_ns_pre env LD_PRELOAD='$netns_faketime_lib' FAKETIME="\$skew" \\
	FAKETIME_DONT_FAKE_MONOTONIC=1$_ns_cmd ;;
esac
cd '$_ns_dir' || exit 1
exec ip netns exec '$(netns_name "$_ns_node")' "\$@"
EOF
	chmod 755 "$netns_state/$_ns_node.start"
}

# netns_pids NODE: the pids of every process in NODE's namespace but its
# netdelay (the network's, not the host's)
netns_pids() {
	_ns_nd=""
	[ -f "$netns_state/$1.netdelay" ] && read -r _ns_nd _ns_rest <"$netns_state/$1.netdelay"
	ip netns pids "$(netns_name "$1")" 2>/dev/null | grep -vx "${_ns_nd:-none}" | tr '\n' ' '
}

netns_crash() {
	_ns_p=$(netns_pids "$1")
	[ -n "$_ns_p" ] || { netns_say "crash $1: nothing runs there"; return 1; }
	kill -9 $_ns_p 2>/dev/null
	rm -f "$netns_state/$1.frozen"
	_ns_i=0
	while [ -n "$(netns_pids "$1")" ] && [ $_ns_i -lt 50 ]; do sleep 0.1; _ns_i=$((_ns_i + 1)); done
	[ -z "$(netns_pids "$1")" ]
}
netns_freeze() {
	_ns_p=$(netns_pids "$1")
	[ -n "$_ns_p" ] || { netns_say "freeze $1: nothing runs there"; return 1; }
	echo "$_ns_p" >>"$netns_state/$1.frozen"
	kill -STOP $_ns_p
}
netns_thaw() {
	_ns_p=$(netns_pids "$1")
	[ -f "$netns_state/$1.frozen" ] && _ns_p="$_ns_p $(cat "$netns_state/$1.frozen")"
	rm -f "$netns_state/$1.frozen"
	[ -n "$(echo $_ns_p)" ] && kill -CONT $_ns_p 2>/dev/null
	return 0
}
# netns_restart NODE [LOG]: NODE.start in the background (its output
# appended to LOG, default NODE.logfile's); its pid (the started
# program's: the script execs it) in
# $netns_started
netns_restart() {
	[ -x "$netns_state/$1.start" ] || { netns_say "restart $1: no $1.start"; return 1; }
	[ -z "$(netns_pids "$1")" ] || { netns_say "restart $1: it still runs (crash it first)"; return 1; }
	_ns_log=${2:-$(cat "$netns_state/$1.logfile" 2>/dev/null)}
	"$netns_state/$1.start" </dev/null >>"${_ns_log:-$netns_state/$1.log}" 2>&1 &
	netns_started=$!
}
# netns_skew NODE SECONDS [LOG]: NODE's processes run again with their
# wall clock SECONDS off (0: the true time); CLOCK_MONOTONIC stays real
netns_skew() {
	case "$2" in
	[+-][0-9]* | [0-9]*) ;;
	*) netns_say "skew: SECONDS is a number, not '$2'"; return 1 ;;
	esac
	[ "$2" = 0 ] || [ -f "$netns_faketime_lib" ] ||
		{ netns_say "skew unavailable: $netns_faketime_lib missing (apt-get install faketime)"; return 1; }
	case "$2" in [0-9]*) set -- "$1" "+$2" "${3:-}" ;; esac
	echo "$2" >"$netns_state/$1.skew"
	[ -z "$(netns_pids "$1")" ] || netns_crash "$1" || return 1
	netns_restart "$1" ${3:+"$3"}
}

# ---- the network ------------------------------------------------------------------

# netns_drop NODE input|output ADDR: NODE drops what comes from / goes to ADDR
netns_drop() {
	_ns_k=saddr
	[ "$2" = output ] && _ns_k=daddr
	netns_in "$1" nft add rule inet tenure_fault "$2" ip "$_ns_k" "$3" drop
}
# netns_peers NODE LIST: LIST (N1,N2,...) or every other host, one a line
netns_peers() {
	if [ -n "$2" ]; then
		echo "$2" | tr ',' '\n'
	else
		for _ns_h in $(netns_hosts); do [ "$_ns_h" = "$1" ] || echo "$_ns_h"; done
	fi
}
# netns_partition NODE FROM one-way|both
netns_partition() {
	for _ns_o in $(netns_peers "$1" "$2"); do
		_ns_a=$(netns_addr "$_ns_o")
		[ -n "$_ns_a" ] || { netns_say "partition: no host '$_ns_o'"; return 1; }
		netns_drop "$1" input "$_ns_a" || return 1
		[ "$3" = one-way ] || netns_drop "$1" output "$_ns_a" || return 1
	done
}
netns_heal_one() {
	[ -n "$(netns_addr "$1")" ] || { netns_say "heal: no host '$1'"; return 1; }
	netns_in "$1" nft flush chain inet tenure_fault input
	netns_in "$1" nft flush chain inet tenure_fault output
	netns_netdelay_set "$1" 0 0 0
}
netns_heal() {
	case "${1:-all}" in
	all | -) for _ns_h in $(netns_hosts); do netns_heal_one "$_ns_h" || return 1; done ;;
	leader)
		[ -f "$netns_state/isolated-leader" ] || return 0 # none was cut
		netns_heal_one "$(cat "$netns_state/isolated-leader")" || return 1
		rm -f "$netns_state/isolated-leader"
		;;
	*) for _ns_h in $(echo "$1" | tr ',' ' '); do netns_heal_one "$_ns_h" || return 1; done ;;
	esac
}
# netns_split SIDE: the hosts of SIDE (N1,N2,...) cut, both ways, from
# every host not in it: one bridge, two networks.  The rules live on
# SIDE's hosts only (heal SIDE, or all, undoes it)
netns_split() {
	_ns_side=",$1,"
	_ns_rest=""
	for _ns_h in $(netns_hosts); do
		case "$_ns_side" in *",$_ns_h,"*) ;; *) _ns_rest="$_ns_rest,$_ns_h" ;; esac
	done
	_ns_rest=${_ns_rest#,}
	[ -n "$_ns_rest" ] || { netns_say "partition-split: every host is on one side"; return 2; }
	for _ns_h in $(echo "$1" | tr ',' ' '); do
		[ -n "$(netns_addr "$_ns_h")" ] || { netns_say "partition-split: no host '$_ns_h'"; return 2; }
		netns_partition "$_ns_h" "$_ns_rest" both || return 1
	done
	echo "$1 | $_ns_rest" >"$netns_state/split"
}

# netns_netdelay_set NODE DELAY JITTER LOSS: NODE's netdelay with those (all
# 0: none, and no queue rule); delay on every host's input: DELAY between
# any two hosts, each way
netns_netdelay_set() {
	_ns_f="$netns_state/$1.netdelay"
	if [ -f "$_ns_f" ]; then
		read -r _ns_pid _ns_rest <"$_ns_f"
		netns_in "$1" iptables -F INPUT
		kill -TERM "$_ns_pid" 2>/dev/null
		wait "$_ns_pid" 2>/dev/null
		rm -f "$_ns_f"
	fi
	[ "$2$3$4" = 000 ] && return 0
	_ns_bin=$(cat "$netns_state/netdelay" 2>/dev/null)
	[ -n "$_ns_bin" ] && [ -x "$_ns_bin" ] ||
		{ netns_say "delay and loss unavailable: tests/helpers/netdelay is not built"; return 3; }
	# one queue per host: its line number in hosts
	_ns_q=$(awk -v n="$1" '$1 == n { print NR }' "$netns_state/hosts")
	# (ip execs netdelay: $! is netdelay's pid, which crash spares)
	ip netns exec "$(netns_name "$1")" "$_ns_bin" --queue "$_ns_q" --delay-ms "$2" \
		--jitter-ms "$3" --loss-pct "$4" </dev/null >>"$netns_state/$1.netdelay.log" 2>&1 &
	echo "$! $2 $3 $4" >"$_ns_f"
	sleep 0.2 # bound to its queue before packets go there
	netns_in "$1" iptables -A INPUT -i eth0 -j NFQUEUE --queue-num "$_ns_q" --queue-bypass
}
netns_netdelay_of() { # netns_netdelay_of NODE: "DELAY JITTER LOSS" now
	_ns_f="$netns_state/$1.netdelay"
	if [ -f "$_ns_f" ]; then read -r _ns_pid _ns_rest <"$_ns_f"; echo "$_ns_rest"; else echo 0 0 0; fi
}

# ---- who is who ----------------------------------------------------------------------

# netns_https NODE PORT PATH: the HTTP status of GET PATH on NODE's HTTPS
# server, asked from NODE's own namespace (partitions do not hide it)
netns_https() {
	netns_in "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
		--cacert "$(cat "$netns_state/ca")" "https://$(netns_addr "$1"):$2$3"
}
# netns_primary: the agent node whose /primary answers 200 (the first)
netns_primary() {
	for _ns_h in $(netns_hosts); do
		case "$_ns_h" in pg*) ;; *) continue ;; esac
		[ "$(netns_https "$_ns_h" 8008 /primary)" = 200 ] && { echo "$_ns_h"; return 0; }
	done
	return 1
}
# netns_witness_leader: the witness that says it leads
netns_witness_leader() {
	for _ns_h in $(netns_hosts); do
		case "$_ns_h" in w[0-9]*) ;; *) continue ;; esac
		netns_in "$_ns_h" curl -s --max-time 1 --cacert "$(cat "$netns_state/ca")" \
			"https://$(netns_addr "$_ns_h"):8080/status" 2>/dev/null |
			grep -q '"role": *"leader"' && { echo "$_ns_h"; return 0; }
	done
	return 1
}
netns_witnesses() {
	for _ns_h in $(netns_hosts); do
		case "$_ns_h" in w[0-9]*) printf '%s,' "$_ns_h" ;; esac
	done | sed 's/,$//'
}

# ---- the one entry point ------------------------------------------------------------------

# netns_fault_core KIND NODE [ARGS]: see the top of this file; status 0
# when done, 3 when the fault is unavailable here (netdelay, faketime), 2
# on bad arguments, 1 if it failed.  netns_fault is it, unless the
# sourcing script keeps books of its own (tests/lib/netns-lib.sh)
netns_fault() { netns_fault_core "$@"; }
netns_fault_core() {
	_ns_kind=${1:-}
	_ns_node=${2:-}
	[ $# -ge 1 ] && shift
	[ $# -ge 1 ] && shift
	[ "$_ns_node" = primary ] && {
		_ns_node=$(netns_primary) || { netns_say "$_ns_kind: no primary now"; return 1; }
	}
	case "$_ns_kind" in
	partition | partition-one-way)
		_ns_from=""
		[ "${1:-}" = --from ] && _ns_from=${2:-}
		_ns_way=both
		[ "$_ns_kind" = partition-one-way ] && _ns_way=one-way
		netns_partition "$_ns_node" "$_ns_from" "$_ns_way"
		;;
	partition-primary-from-witnesses)
		netns_partition "$_ns_node" "$(netns_witnesses)" both ;;
	isolate-witness-leader)
		_ns_l=$(netns_witness_leader) || { netns_say "no witness leads now"; return 1; }
		echo "$_ns_l" >"$netns_state/isolated-leader"
		netns_partition "$_ns_l" "" both
		;;
	partition-split) netns_split "$_ns_node${1:+,$1}" ;;
	heal) netns_heal "${_ns_node:-all}" ;;
	delay)
		case "${1:-}" in '' | *[!0-9]*) netns_say "delay NODE MS [JITTER]"; return 2 ;; esac
		set -- "$1" "${2:-0}" "$(netns_netdelay_of "$_ns_node")"
		netns_netdelay_set "$_ns_node" "$1" "$2" "$(echo "$3" | awk '{ print $3 }')"
		;;
	loss)
		case "${1:-}" in '' | *[!0-9.]*) netns_say "loss NODE PCT"; return 2 ;; esac
		_ns_cur=$(netns_netdelay_of "$_ns_node")
		# shellcheck disable=SC2086
		set -- "$1" $_ns_cur
		netns_netdelay_set "$_ns_node" "$2" "$3" "$1"
		;;
	crash) netns_crash "$_ns_node" ;;
	freeze) netns_freeze "$_ns_node" ;;
	thaw) netns_thaw "$_ns_node" ;;
	restart) netns_restart "$_ns_node" ;;
	skew) netns_skew "$_ns_node" "${1:-}" ;;
	*) netns_say "unknown fault '$_ns_kind'"; return 2 ;;
	esac
}
