// Package upstream is the cluster manager: named clusters of upstream hosts,
// the load balancers that pick among them, circuit breakers, and the
// connections made to them.
//
// It sits beside the router under the proxy layer and imports network (and,
// as the L7 layers land, protocol and stream); it knows nothing of routes or
// of the proxy. The proxy asks a Manager for a cluster by the name the router
// (or tcp_proxy) chose, asks the Cluster for a host, and asks for a
// connection to it.
//
//	Manager ──► Cluster (atomic snapshot: hosts + load balancer) ──► Host
//	                 └── NewConn: circuit breaker, connect timeout, stats
//
// Picking a host reads an immutable snapshot and takes no lock: updating a
// cluster's hosts builds a new snapshot and swaps it in, so requests in
// flight keep the hosts they picked.
package upstream
