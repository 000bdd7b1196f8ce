// Package hwaccel is the bottom of the import graph: the seams where hardware
// acceleration plugs in, and the plain kernel implementations used when none does.
//
// It imports only the standard library. Backends that need cgo, DPDK or AF_XDP
// live in hwaccel/<backend> behind build tags, so a default build never needs them.
//
//	network ──► hwaccel.PacketIO ──► Kernel (sockets through Go's runtime poller)
//	                              └─► (later) user-space stacks behind build tags
//
// A backend that cannot run on a machine must say so when it is selected; it
// never falls back silently.
package hwaccel
