package config

import (
	"encoding/json"
	"strings"
)

// Network filter types whose configs this package knows. Other filter types
// are looked up in a registry when the config is applied.
const (
	// FilterProxy is the L7 proxy; its config is a ProxyFilter.
	FilterProxy = "proxy"
	// FilterTCPProxy is the L4 proxy; its config is a TCPProxy.
	FilterTCPProxy = "tcp_proxy"
	// FilterConnectionManager is MOSN's legacy way to give a route table
	// inside a filter chain; its config is a RouterConfig. Parse moves it
	// to Server.Routers and removes the filter.
	FilterConnectionManager = "connection_manager"
)

// protocols are the protocol names that proxy filters and routes accept, as
// MOSN spells them. Names match in any case.
var protocols = []string{"Http1", "Http2", "SofaRpc", "bolt", "boltv2", "dubbo", "tars", "X", "Auto"}

// protocolAuto is the pseudo-protocol that detects the protocol of each
// downstream connection from its first bytes.
const protocolAuto = "Auto"

// ProxyFilter is the config of a "proxy" network filter: decode requests in
// one protocol, route them, and forward them in another.
type ProxyFilter struct {
	// Name names the filter in logs. Optional.
	Name string `json:"name,omitempty"`
	// DownstreamProtocol is the protocol of downstream connections, or a
	// comma-separated list of them ("Http1,Http2"), or "Auto" to detect it.
	// Required. Known protocols: Http1, Http2, SofaRpc, bolt, boltv2, dubbo,
	// tars, X and Auto, in any case.
	DownstreamProtocol string `json:"downstream_protocol,omitempty"`
	// UpstreamProtocol is the protocol spoken to upstream hosts. Default:
	// the downstream protocol when that is one protocol; empty or "Auto"
	// otherwise, meaning whatever each downstream connection speaks.
	UpstreamProtocol string `json:"upstream_protocol,omitempty"`
	// RouterConfigName names the route table (a router of the same
	// server) that picks each request's cluster. Required.
	RouterConfigName string `json:"router_config_name,omitempty"`
	// ValidateClusters is accepted for compatibility with MOSN and has no
	// effect: the clusters that routes name are always checked.
	ValidateClusters bool `json:"validate_clusters,omitempty"`
	// ExtendConfig is protocol-specific config, kept as written, such as
	// {"sub_protocol": "dubbo"} for the X protocol.
	ExtendConfig json.RawMessage `json:"extend_config,omitempty"`
	// TransparentProxy makes the proxy connect upstream from the
	// downstream client's address.
	TransparentProxy bool `json:"transparent_proxy,omitempty"`
	// MaxRequestHeaderBytes bounds a request's line and headers; a larger
	// head is answered with 431. Default 65536 (64 KiB). Our extension.
	MaxRequestHeaderBytes uint32 `json:"max_request_header_bytes,omitempty"`
	// MaxRequestBodyBytes bounds a request's body; a larger one is answered
	// with 413. Default 0: unlimited. Our extension.
	MaxRequestBodyBytes uint64 `json:"max_request_body_bytes,omitempty"`
}

// DecodeProxy decodes, completes with defaults and checks the config raw of
// a proxy filter at path. Whether the router it names exists is for the
// caller to check.
func DecodeProxy(path string, raw json.RawMessage) (*ProxyFilter, Problems) {
	var c checker
	p := decodeProxy(&c, path, raw)
	return p, c.ps
}

func decodeProxy(c *checker, path string, raw json.RawMessage) *ProxyFilter {
	p := new(ProxyFilter)
	c.decode(path, raw, p)

	down := strings.Split(p.DownstreamProtocol, ",")
	for i, name := range down {
		down[i] = canonical(strings.TrimSpace(name), protocols)
	}
	if p.DownstreamProtocol == "" {
		c.errorf(key(path, "downstream_protocol"), "required")
	} else {
		for _, name := range down {
			if !known(name, protocols) {
				c.errorf(key(path, "downstream_protocol"), "%q: unknown protocol (known: %s)", name, strings.Join(protocols, ", "))
			}
		}
		p.DownstreamProtocol = strings.Join(down, ",")
	}
	if p.UpstreamProtocol != "" {
		p.UpstreamProtocol = canonical(p.UpstreamProtocol, protocols)
		if !known(p.UpstreamProtocol, protocols) {
			c.errorf(key(path, "upstream_protocol"), "%q: unknown protocol (known: %s)", p.UpstreamProtocol, strings.Join(protocols, ", "))
		}
	} else if len(down) == 1 && down[0] != protocolAuto {
		p.UpstreamProtocol = down[0]
	}
	if p.RouterConfigName == "" {
		c.errorf(key(path, "router_config_name"), "required")
	}
	return p
}

// TCPProxy is the config of a "tcp_proxy" network filter: copy bytes between
// each downstream connection and a host of a cluster.
type TCPProxy struct {
	// StatPrefix prefixes the filter's stats. Optional.
	StatPrefix string `json:"stat_prefix,omitempty"`
	// Cluster is the cluster of connections that no route matches. Either
	// Cluster or Routes is required.
	Cluster string `json:"cluster,omitempty"`
	// IdleTimeout closes a connection pair idle for this long, such as
	// "1h". Absent means never.
	IdleTimeout *Duration `json:"idle_timeout,omitempty"`
	// MaxConnectAttempts is how many times to try connecting upstream, to
	// different hosts, before closing the downstream connection. 0 means 1.
	MaxConnectAttempts uint32 `json:"max_connect_attempts,omitempty"`
	// Routes pick the cluster by source and destination address; the first
	// that matches wins.
	Routes []TCPRoute `json:"routes,omitempty"`
}

// TCPRoute sends the connections that match it to a cluster. A connection
// matches if its source address is in one of SourceAddrs (or SourceAddrs is
// empty) and its destination address is in one of DestinationAddrs (or
// DestinationAddrs is empty).
type TCPRoute struct {
	// Cluster is the cluster of matching connections. Required.
	Cluster string `json:"cluster,omitempty"`
	// SourceAddrs are address ranges (see AddrRange) of downstream clients.
	SourceAddrs []string `json:"source_addrs,omitempty"`
	// DestinationAddrs are address ranges (see AddrRange) of the address a
	// client connected to (its original destination, with iptables
	// REDIRECT).
	DestinationAddrs []string `json:"destination_addrs,omitempty"`
}

// DecodeTCPProxy decodes and checks the config raw of a tcp_proxy filter at
// path. Whether the clusters it names exist is for the caller to check.
func DecodeTCPProxy(path string, raw json.RawMessage) (*TCPProxy, Problems) {
	var c checker
	t := decodeTCPProxy(&c, path, raw)
	return t, c.ps
}

func decodeTCPProxy(c *checker, path string, raw json.RawMessage) *TCPProxy {
	t := new(TCPProxy)
	c.decode(path, raw, t)
	if t.Cluster == "" && len(t.Routes) == 0 {
		c.errorf(path, "cluster or at least one route is required")
	}
	for i, r := range t.Routes {
		rp := index(key(path, "routes"), i)
		if r.Cluster == "" {
			c.errorf(key(rp, "cluster"), "required")
		}
		for j, s := range r.SourceAddrs {
			if _, err := ParseAddrRange(s); err != nil {
				c.errorf(index(key(rp, "source_addrs"), j), "%v", err)
			}
		}
		for j, s := range r.DestinationAddrs {
			if _, err := ParseAddrRange(s); err != nil {
				c.errorf(index(key(rp, "destination_addrs"), j), "%v", err)
			}
		}
	}
	return t
}

// Ranges parses the source and destination ranges of r.
func (r *TCPRoute) Ranges() (src, dst []AddrRange, err error) {
	for _, s := range r.SourceAddrs {
		a, err := ParseAddrRange(s)
		if err != nil {
			return nil, nil, err
		}
		src = append(src, a)
	}
	for _, s := range r.DestinationAddrs {
		a, err := ParseAddrRange(s)
		if err != nil {
			return nil, nil, err
		}
		dst = append(dst, a)
	}
	return src, dst, nil
}
