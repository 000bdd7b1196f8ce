// Package metrics holds the proxy's counters and exports them to Prometheus
// under MOSN's metric names.
//
// It is a leaf: it imports only the standard library and client_golang, and
// every layer may import it. Counting and exporting are split. Runtime
// objects keep plain atomics — the network layer's ListenerStats and
// IOStats, the upstream layer's ClusterStats and HostStats, and the request
// counters of this package (Downstream, Requests, Histogram) that they embed
// or the proxy is given — so counting a request is a few atomic adds, with no
// lock, no map lookup and no allocation. At scrape time a Collector asks a
// Source (the assembly package, which knows every listener and cluster) for a
// Sample of all of them and turns it into Prometheus metrics:
//
//	hot path:  l7 proxy ─► Downstream / ClusterStats.Requests / HostStats.Requests (atomic adds)
//	scrape:    /metrics ─► Registry ─► Collector ─► Source.Sample() ─► const metrics
//
// Names follow MOSN: the downstream family is labelled by listener, the
// upstream family by cluster, and the per-host family (prefix
// mosn_upstream_host_) by cluster and host. Histograms are in seconds.
//
//	mosn_downstream_connection_total{listener}     mosn_upstream_connection_total{cluster}
//	mosn_downstream_request_total{listener}        mosn_upstream_request_total{cluster}
//	mosn_downstream_request_time{listener}         mosn_upstream_request_duration_time{cluster}
//	...                                            mosn_upstream_host_request_total{cluster,host}
package metrics
