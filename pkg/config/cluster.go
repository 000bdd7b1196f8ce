package config

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"
)

// clusterTypes are the values of Cluster.Type.
var clusterTypes = []string{"SIMPLE", "STATIC", "DYNAMIC", "EDS", "ORIGINAL_DST", "STRICT_DNS"}

// lbTypes are the values of Cluster.LbType.
var lbTypes = []string{
	"LB_RANDOM", "LB_ROUNDROBIN", "LB_WEIGHTED_ROUNDROBIN", "LB_LEAST_REQUEST", "LB_LEAST_CONNECTION",
	"LB_PEAK_EWMA", "LB_MAGLEV", "LB_RING_HASH", "LB_ORIGINAL_DST", "LB_REQUEST_ROUNDROBIN",
}

// DefaultConnectTimeout is Cluster.ConnectTimeout when not set.
const DefaultConnectTimeout = 3 * time.Second

// Host weights: Host.Weight is in MinHostWeight..MaxHostWeight, as in MOSN.
const (
	MinHostWeight = 1
	MaxHostWeight = 128
)

// ClusterManager holds the upstream clusters.
type ClusterManager struct {
	// Clusters are the clusters, with unique names.
	Clusters []Cluster `json:"clusters,omitempty"`
	// TLSContext is the client TLS config of clusters that set
	// cluster_manager_tls.
	TLSContext *TLSConfig `json:"tls_context,omitempty"`
	// ClustersConfigs is MOSN's directory of cluster files. Not supported:
	// list the clusters in Clusters.
	ClustersConfigs string `json:"clusters_configs,omitempty"`
}

// SetDefaults fills in the defaults of every cluster.
func (m *ClusterManager) SetDefaults() {
	for i := range m.Clusters {
		m.Clusters[i].SetDefaults()
	}
}

// names maps the name of each cluster to the JSON path of its name (the first
// one, for duplicates), m being at path.
func (m *ClusterManager) names(path string) map[string]string {
	names := make(map[string]string, len(m.Clusters))
	for i, cl := range m.Clusters {
		if _, dup := names[cl.Name]; cl.Name != "" && !dup {
			names[cl.Name] = key(index(key(path, "clusters"), i), "name")
		}
	}
	return names
}

func (m *ClusterManager) validate(c *checker, path string) {
	if m.ClustersConfigs != "" {
		c.errorf(key(path, "clusters_configs"), "loading clusters from a directory is not supported: list them in clusters")
	}
	m.TLSContext.validate(c, key(path, "tls_context"), false)
	for i := range m.Clusters {
		cl := &m.Clusters[i]
		cp := index(key(path, "clusters"), i)
		cl.validate(c, cp)
		if first := c.clusters[cl.Name]; cl.Name != "" && first != key(cp, "name") {
			c.errorf(key(cp, "name"), "%q: duplicate cluster name (also %s)", cl.Name, first)
		}
	}
}

// Cluster is a named group of upstream hosts and how to reach them.
type Cluster struct {
	// Name names the cluster; routes refer to it by this name. Required,
	// unique.
	Name string `json:"name,omitempty"`
	// Type is how the cluster gets its hosts: SIMPLE or STATIC (listed in
	// Hosts), DYNAMIC or EDS (from a control plane), ORIGINAL_DST (the
	// original destination of each connection) or STRICT_DNS (resolving
	// the host names of Hosts). Any case. Default SIMPLE.
	Type string `json:"type,omitempty"`
	// SubType is MOSN's cluster sub-type, kept as written and unused.
	SubType string `json:"sub_type,omitempty"`
	// LbType is the load balancer that picks a host for each request or
	// connection: LB_RANDOM, LB_ROUNDROBIN, LB_WEIGHTED_ROUNDROBIN,
	// LB_LEAST_REQUEST, LB_LEAST_CONNECTION, LB_PEAK_EWMA, LB_MAGLEV,
	// LB_RING_HASH, LB_ORIGINAL_DST or LB_REQUEST_ROUNDROBIN. Any case.
	// Default LB_ROUNDROBIN.
	LbType string `json:"lb_type,omitempty"`
	// MaxRequestPerConn closes an upstream connection after this many
	// requests. 0, the default, means no limit.
	MaxRequestPerConn uint32 `json:"max_request_per_conn,omitempty"`
	// ConnBufferLimitBytes is the size in bytes of unsent data on an
	// upstream connection above which the proxy stops reading from the
	// downstream peer. 0 or absent means 1 MiB (1048576).
	ConnBufferLimitBytes uint32 `json:"conn_buffer_limit_bytes,omitempty"`
	// CircuitBreakers limit the load on the cluster, by priority (MOSN
	// writes a list).
	CircuitBreakers []Thresholds `json:"circuit_breakers,omitempty"`
	// HealthCheck actively checks the hosts. Absent means no active
	// checks.
	HealthCheck *HealthCheck `json:"health_check,omitempty"`
	// LBSubsetConfig splits the hosts into subsets by metadata, kept as
	// written.
	LBSubsetConfig json.RawMessage `json:"lb_subset_config,omitempty"`
	// OriginalDstLBConfig configures LB_ORIGINAL_DST, kept as written.
	OriginalDstLBConfig json.RawMessage `json:"original_dst_lb_config,omitempty"`
	// TLSContext is the client TLS config for connections to the hosts.
	// Absent or status false means plaintext.
	TLSContext *TLSConfig `json:"tls_context,omitempty"`
	// ClusterManagerTLS uses the cluster manager's tls_context instead of
	// the cluster's own.
	ClusterManagerTLS bool `json:"cluster_manager_tls,omitempty"`
	// Hosts are the upstream hosts of SIMPLE, STATIC and STRICT_DNS
	// clusters.
	Hosts []Host `json:"hosts,omitempty"`
	// ConnectTimeout bounds connecting to a host, such as "3s". Must be
	// positive. Default 3s.
	ConnectTimeout *Duration `json:"connect_timeout,omitempty"`
	// IdleTimeout closes an upstream connection idle for this long, such
	// as "60s". Absent means never.
	IdleTimeout *Duration `json:"idle_timeout,omitempty"`
	// DNSRefreshRate is how often a STRICT_DNS cluster resolves its hosts,
	// such as "5s".
	DNSRefreshRate *Duration `json:"dns_refresh_rate,omitempty"`
	// RespectDNSTTL makes a STRICT_DNS cluster resolve again when a
	// record's TTL expires rather than at DNSRefreshRate.
	RespectDNSTTL bool `json:"respect_dns_ttl,omitempty"`
	// DNSLookupFamily is "V4_ONLY", "V6_ONLY" or empty (both).
	DNSLookupFamily string `json:"dns_lookup_family,omitempty"`
	// DNSResolvers are the DNS servers of STRICT_DNS clusters, kept as
	// written.
	DNSResolvers json.RawMessage `json:"dns_resolvers,omitempty"`
}

// SetDefaults fills in the defaults of cl and its hosts, and writes a known
// type and lb_type in upper case.
func (cl *Cluster) SetDefaults() {
	if cl.Type == "" {
		cl.Type = "SIMPLE"
	}
	cl.Type = canonical(cl.Type, clusterTypes)
	if cl.LbType == "" {
		cl.LbType = "LB_ROUNDROBIN"
	}
	cl.LbType = canonical(cl.LbType, lbTypes)
	if cl.ConnBufferLimitBytes == 0 {
		cl.ConnBufferLimitBytes = DefaultBufferLimit
	}
	if cl.ConnectTimeout == nil {
		d := Duration(DefaultConnectTimeout)
		cl.ConnectTimeout = &d
	}
	for i := range cl.Hosts {
		if cl.Hosts[i].Weight == 0 {
			cl.Hosts[i].Weight = MinHostWeight
		}
	}
}

func (cl *Cluster) validate(c *checker, path string) {
	if cl.Name == "" {
		c.errorf(key(path, "name"), "required")
	}
	if !known(cl.Type, clusterTypes) {
		c.errorf(key(path, "type"), "%q: unknown cluster type (known: %s)", cl.Type, strings.Join(clusterTypes, ", "))
	}
	if !known(cl.LbType, lbTypes) {
		c.errorf(key(path, "lb_type"), "%q: unknown load balancer type (known: %s)", cl.LbType, strings.Join(lbTypes, ", "))
	}
	if cl.ConnectTimeout != nil && *cl.ConnectTimeout <= 0 {
		c.errorf(key(path, "connect_timeout"), "%q: must be positive", cl.ConnectTimeout.String())
	}
	switch cl.DNSLookupFamily {
	case "", "V4_ONLY", "V6_ONLY":
	default:
		c.errorf(key(path, "dns_lookup_family"), `%q: want "V4_ONLY", "V6_ONLY" or nothing`, cl.DNSLookupFamily)
	}
	for i, t := range cl.CircuitBreakers {
		if t.Priority != "" && !known(t.Priority, []string{"default", "high"}) {
			c.errorf(key(index(key(path, "circuit_breakers"), i), "priority"), `%q: want "default" or "high"`, t.Priority)
		}
	}
	if cl.HealthCheck != nil {
		cl.HealthCheck.validate(c, key(path, "health_check"))
	}
	cl.TLSContext.validate(c, key(path, "tls_context"), false)
	if (cl.Type == "SIMPLE" || cl.Type == "STATIC") && len(cl.Hosts) == 0 {
		c.errorf(key(path, "hosts"), "at least one host is required for a %s cluster", cl.Type)
	}
	for i := range cl.Hosts {
		cl.Hosts[i].validate(c, index(key(path, "hosts"), i))
	}
}

// Thresholds are the circuit breaker limits of one priority. A limit of 0
// means the default of the upstream layer.
type Thresholds struct {
	// Priority is "default" or "high", in any case. Empty means
	// "default".
	Priority string `json:"priority,omitempty"`
	// MaxConnections caps the open connections to the cluster.
	MaxConnections uint32 `json:"max_connections,omitempty"`
	// MaxPendingRequests caps the requests waiting for a connection.
	MaxPendingRequests uint32 `json:"max_pending_requests,omitempty"`
	// MaxRequests caps the requests in flight.
	MaxRequests uint32 `json:"max_requests,omitempty"`
	// MaxRetries caps the retries in flight.
	MaxRetries uint32 `json:"max_retries,omitempty"`
}

// HealthCheck actively checks the hosts of a cluster.
type HealthCheck struct {
	// Protocol names the checker, such as "tcp", "http1" or "bolt"; it is
	// looked up in a registry when the config is applied. Required.
	Protocol string `json:"protocol,omitempty"`
	// Timeout bounds one check, such as "2s".
	Timeout *Duration `json:"timeout,omitempty"`
	// Interval is the time between checks of a host, such as "10s".
	Interval *Duration `json:"interval,omitempty"`
	// IntervalJitter is a random extra time added to each interval, up to
	// this much.
	IntervalJitter *Duration `json:"interval_jitter,omitempty"`
	// HealthyThreshold is how many checks in a row must pass to mark an
	// unhealthy host healthy.
	HealthyThreshold uint32 `json:"healthy_threshold,omitempty"`
	// UnhealthyThreshold is how many checks in a row must fail to mark a
	// healthy host unhealthy.
	UnhealthyThreshold uint32 `json:"unhealthy_threshold,omitempty"`
	// ServiceName is the service the checker asks about, if its protocol
	// has one.
	ServiceName string `json:"service_name,omitempty"`
	// CheckConfig is the checker's own config, kept as written.
	CheckConfig json.RawMessage `json:"check_config,omitempty"`
	// CommonCallbacks name callbacks run on health changes, looked up in
	// a registry.
	CommonCallbacks []string `json:"common_callbacks,omitempty"`
}

func (h *HealthCheck) validate(c *checker, path string) {
	if h.Protocol == "" {
		c.errorf(key(path, "protocol"), "required")
	}
	if h.Interval != nil && *h.Interval == 0 {
		c.errorf(key(path, "interval"), `"0s": must be positive`)
	}
}

// Host is one upstream host of a cluster.
type Host struct {
	// Address is "IP:PORT", "[IPv6]:PORT" or "hostname:PORT"; the port is
	// 1 to 65535. Required.
	Address string `json:"address,omitempty"`
	// Hostname is the host's name for logs and, with TLS, the default SNI.
	Hostname string `json:"hostname,omitempty"`
	// Weight is the host's share of traffic for weighted load balancers,
	// 1 to 128. Default 1.
	Weight uint32 `json:"weight,omitempty"`
	// Metadata are labels of the host that subsets match, kept as written.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// TLSDisable connects to this host in plaintext even if the cluster
	// has TLS.
	TLSDisable bool `json:"tls_disable,omitempty"`
}

func (h *Host) validate(c *checker, path string) {
	ap := key(path, "address")
	if h.Address == "" {
		c.errorf(ap, "required")
	} else if host, port, err := net.SplitHostPort(h.Address); err != nil || host == "" || strings.ContainsAny(host, " \t/") {
		c.errorf(ap, "%q: want IP:PORT or HOSTNAME:PORT", h.Address)
	} else if n, err := strconv.ParseUint(port, 10, 64); err != nil {
		c.errorf(ap, "%q: want IP:PORT or HOSTNAME:PORT", h.Address)
	} else if n < 1 || n > 65535 {
		c.errorf(ap, "%q: port out of range (1-65535)", h.Address)
	}
	if h.Weight < MinHostWeight || h.Weight > MaxHostWeight {
		c.errorf(key(path, "weight"), "%d: out of range (%d-%d)", h.Weight, MinHostWeight, MaxHostWeight)
	}
}
