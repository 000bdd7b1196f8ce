package config

import (
	"encoding/json"
	"regexp"
	"strings"
)

// RouterConfig is a named route table: virtual hosts chosen by the request's
// host, each with routes tried in order.
type RouterConfig struct {
	// RouterConfigName names the table; proxy filters refer to it by this
	// name. Required, unique within the server.
	RouterConfigName string `json:"router_config_name,omitempty"`
	// VirtualHosts are the virtual hosts of the table.
	VirtualHosts []VirtualHost `json:"virtual_hosts,omitempty"`
	// RouterConfigs is MOSN's directory of virtual host files. Not
	// supported: list the virtual hosts in VirtualHosts.
	RouterConfigs string `json:"router_configs,omitempty"`
	// RequestHeadersToAdd are added to every request the table routes.
	RequestHeadersToAdd []HeaderValueOption `json:"request_headers_to_add,omitempty"`
	// ResponseHeadersToAdd are added to every response.
	ResponseHeadersToAdd []HeaderValueOption `json:"response_headers_to_add,omitempty"`
	// ResponseHeadersToRemove are removed from every response.
	ResponseHeadersToRemove []string `json:"response_headers_to_remove,omitempty"`
}

// VirtualHost is the routes for a set of request hosts.
type VirtualHost struct {
	// Name names the virtual host in logs and stats.
	Name string `json:"name,omitempty"`
	// Domains are the hosts it serves: exact ("example.com"), suffix
	// ("*.example.com"), prefix ("example.*") or any ("*"). A domain may
	// appear in one virtual host of a table only.
	Domains []string `json:"domains,omitempty"`
	// Routes are tried in order; the first that matches handles the
	// request.
	Routes []Route `json:"routers,omitempty"`
	// RequireTLS is MOSN's require_tls, kept as written and unused.
	RequireTLS string `json:"require_tls,omitempty"`
	// RequestHeadersToAdd are added to every request of the virtual host.
	RequestHeadersToAdd []HeaderValueOption `json:"request_headers_to_add,omitempty"`
	// ResponseHeadersToAdd are added to every response.
	ResponseHeadersToAdd []HeaderValueOption `json:"response_headers_to_add,omitempty"`
	// ResponseHeadersToRemove are removed from every response.
	ResponseHeadersToRemove []string `json:"response_headers_to_remove,omitempty"`
}

// Route matches requests and says what to do with them: exactly one of
// forward them (Route, by cluster_name, weighted_clusters or
// cluster_header), redirect them (Redirect), or answer them (DirectResponse).
type Route struct {
	// Match is what requests the route takes. Empty matches every request.
	Match RouteMatch `json:"match"`
	// Route forwards the request to a cluster.
	Route RouteAction `json:"route"`
	// Redirect answers with a redirect.
	Redirect *RedirectAction `json:"redirect,omitempty"`
	// DirectResponse answers with a fixed status and body.
	DirectResponse *DirectResponseAction `json:"direct_response,omitempty"`
	// Metadata is metadata of the route for filters, kept as written.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// PerFilterConfig is config of stream filters for this route, by filter
	// type, kept as written.
	PerFilterConfig json.RawMessage `json:"per_filter_config,omitempty"`
	// RequestMirrorPolicies copies a share of the requests to another
	// cluster, ignoring its responses.
	RequestMirrorPolicies *MirrorPolicy `json:"request_mirror_policies,omitempty"`
}

// RouteMatch is what requests a route takes. At most one of Prefix, Path and
// Regex may be set; all headers must match as well.
type RouteMatch struct {
	// Prefix matches request paths that start with it.
	Prefix string `json:"prefix,omitempty"`
	// Path matches the request path exactly.
	Path string `json:"path,omitempty"`
	// Regex matches request paths that it matches as a whole (Go RE2
	// syntax).
	Regex string `json:"regex,omitempty"`
	// Headers must all match. For RPC protocols, the request's metadata
	// (such as "service") are its headers.
	Headers []HeaderMatcher `json:"headers,omitempty"`
}

// HeaderMatcher matches one request header.
type HeaderMatcher struct {
	// Name is the header name. Required.
	Name string `json:"name,omitempty"`
	// Value is the value the header must have, or with Regex a regular
	// expression (Go RE2 syntax) it must match as a whole. As in MOSN's
	// RPC examples, ".*" without Regex matches any value.
	Value string `json:"value,omitempty"`
	// Regex makes Value a regular expression.
	Regex bool `json:"regex,omitempty"`
}

// RouteAction forwards a request to a cluster: one of ClusterName,
// WeightedClusters or ClusterHeader says which.
type RouteAction struct {
	// ClusterName is the cluster to forward to.
	ClusterName string `json:"cluster_name,omitempty"`
	// UpstreamProtocol overrides the proxy filter's upstream protocol for
	// this route. See ProxyFilter.DownstreamProtocol.
	UpstreamProtocol string `json:"upstream_protocol,omitempty"`
	// ClusterHeader names a request header whose value is the cluster.
	ClusterHeader string `json:"cluster_header,omitempty"`
	// WeightedClusters splits requests among clusters by weight.
	WeightedClusters []WeightedCluster `json:"weighted_clusters,omitempty"`
	// HashPolicy says what consistent-hash load balancers hash, kept as
	// written.
	HashPolicy json.RawMessage `json:"hash_policy,omitempty"`
	// MetadataMatch picks the subset of the cluster's hosts whose metadata
	// match it, kept as written.
	MetadataMatch json.RawMessage `json:"metadata_match,omitempty"`
	// Timeout bounds the whole upstream request, retries included, such as
	// "15s". Absent means no timeout.
	Timeout *Duration `json:"timeout,omitempty"`
	// RetryPolicy retries failed upstream requests. Absent means no
	// retries.
	RetryPolicy *RetryPolicy `json:"retry_policy,omitempty"`
	// PrefixRewrite replaces the matched path prefix.
	PrefixRewrite string `json:"prefix_rewrite,omitempty"`
	// RegexRewrite rewrites the path by regular expression, kept as
	// written.
	RegexRewrite json.RawMessage `json:"regex_rewrite,omitempty"`
	// HostRewrite replaces the Host header.
	HostRewrite string `json:"host_rewrite,omitempty"`
	// AutoHostRewrite sets the Host header to the chosen upstream host.
	AutoHostRewrite bool `json:"auto_host_rewrite,omitempty"`
	// AutoHostRewriteHeader sets the Host header to the value of this
	// request header.
	AutoHostRewriteHeader string `json:"auto_host_rewrite_header,omitempty"`
	// RequestHeadersToAdd are added to the request.
	RequestHeadersToAdd []HeaderValueOption `json:"request_headers_to_add,omitempty"`
	// RequestHeadersToRemove are removed from the request.
	RequestHeadersToRemove []string `json:"request_headers_to_remove,omitempty"`
	// ResponseHeadersToAdd are added to the response.
	ResponseHeadersToAdd []HeaderValueOption `json:"response_headers_to_add,omitempty"`
	// ResponseHeadersToRemove are removed from the response.
	ResponseHeadersToRemove []string `json:"response_headers_to_remove,omitempty"`
}

// WeightedCluster is one cluster of RouteAction.WeightedClusters.
type WeightedCluster struct {
	// Cluster is the cluster and its weight.
	Cluster ClusterWeight `json:"cluster"`
}

// ClusterWeight is a cluster and its share of the requests.
type ClusterWeight struct {
	// Name is the cluster. Required.
	Name string `json:"name,omitempty"`
	// Weight is the cluster's share of requests, relative to the sum of
	// the weights of the route.
	Weight uint32 `json:"weight,omitempty"`
	// MetadataMatch picks a subset of the cluster's hosts, kept as
	// written.
	MetadataMatch json.RawMessage `json:"metadata_match,omitempty"`
}

// RetryPolicy retries failed upstream requests.
type RetryPolicy struct {
	// RetryOn turns retries on.
	RetryOn bool `json:"retry_on,omitempty"`
	// RetryTimeout bounds each try, such as "1s". Absent means only the
	// route's timeout applies.
	RetryTimeout *Duration `json:"retry_timeout,omitempty"`
	// NumRetries is the most retries per request.
	NumRetries uint32 `json:"num_retries,omitempty"`
}

// HeaderValueOption is a header to add.
type HeaderValueOption struct {
	// Header is the header. Its key is required.
	Header HeaderValue `json:"header"`
	// Append adds the value to existing ones when true (the default), and
	// replaces them when false.
	Append *bool `json:"append,omitempty"`
}

// HeaderValue is a header name and value.
type HeaderValue struct {
	// Key is the header name.
	Key string `json:"key,omitempty"`
	// Value is the header value.
	Value string `json:"value,omitempty"`
}

// RedirectAction answers a request with a redirect to the same URL with
// parts replaced.
type RedirectAction struct {
	// ResponseCode is 301, 302, 303, 307 or 308. Default 301.
	ResponseCode int `json:"response_code,omitempty"`
	// PathRedirect replaces the path.
	PathRedirect string `json:"path_redirect,omitempty"`
	// HostRedirect replaces the host.
	HostRedirect string `json:"host_redirect,omitempty"`
	// SchemeRedirect replaces the scheme, such as "https".
	SchemeRedirect string `json:"scheme_redirect,omitempty"`
}

// DirectResponseAction answers a request itself.
type DirectResponseAction struct {
	// Status is the response status, 100 to 599. Required.
	Status int `json:"status,omitempty"`
	// Body is the response body. Optional.
	Body string `json:"body,omitempty"`
}

// MirrorPolicy copies requests to another cluster and ignores the answers.
type MirrorPolicy struct {
	// Cluster is the cluster that receives the copies. Required.
	Cluster string `json:"cluster,omitempty"`
	// Percent is the share of requests copied, 0 to 100.
	Percent uint32 `json:"percent,omitempty"`
	// TraceSampled copies only requests sampled by tracing. Accepted for
	// MOSN compatibility; MOSN does not implement it either.
	TraceSampled bool `json:"trace_sampled,omitempty"`
}

// redirectCodes are the status codes a redirect may answer with.
var redirectCodes = []int{301, 302, 303, 307, 308}

// SetDefaults fills in the defaults of r's routes.
func (r *RouterConfig) SetDefaults() {
	for i := range r.VirtualHosts {
		for j := range r.VirtualHosts[i].Routes {
			if rd := r.VirtualHosts[i].Routes[j].Redirect; rd != nil && rd.ResponseCode == 0 {
				rd.ResponseCode = 301
			}
		}
	}
}

func (r *RouterConfig) validate(c *checker, path string) {
	if r.RouterConfigName == "" {
		c.errorf(key(path, "router_config_name"), "required")
	}
	if r.RouterConfigs != "" {
		c.errorf(key(path, "router_configs"), "loading virtual hosts from a directory is not supported: list them in virtual_hosts")
	}
	validateHeaders(c, key(path, "request_headers_to_add"), r.RequestHeadersToAdd)
	validateHeaders(c, key(path, "response_headers_to_add"), r.ResponseHeadersToAdd)
	domains := make(map[string]string) // lower-case domain → path of its first virtual host
	for i := range r.VirtualHosts {
		vh := &r.VirtualHosts[i]
		vp := index(key(path, "virtual_hosts"), i)
		for j, d := range vh.Domains {
			dp := index(key(vp, "domains"), j)
			if d == "" {
				c.errorf(dp, "empty domain")
			} else if first, dup := domains[strings.ToLower(d)]; dup {
				c.errorf(dp, "%q: also in %s", d, first)
			} else {
				domains[strings.ToLower(d)] = vp
			}
		}
		validateHeaders(c, key(vp, "request_headers_to_add"), vh.RequestHeadersToAdd)
		validateHeaders(c, key(vp, "response_headers_to_add"), vh.ResponseHeadersToAdd)
		for j := range vh.Routes {
			vh.Routes[j].validate(c, index(key(vp, "routers"), j))
		}
	}
}

func (r *Route) validate(c *checker, path string) {
	r.Match.validate(c, key(path, "match"))

	var actions []string
	a := &r.Route
	if a.ClusterName != "" {
		actions = append(actions, "route.cluster_name")
	}
	if len(a.WeightedClusters) > 0 {
		actions = append(actions, "route.weighted_clusters")
	}
	if a.ClusterHeader != "" {
		actions = append(actions, "route.cluster_header")
	}
	if r.Redirect != nil {
		actions = append(actions, "redirect")
	}
	if r.DirectResponse != nil {
		actions = append(actions, "direct_response")
	}
	switch len(actions) {
	case 0:
		c.errorf(path, "no action: set one of route.cluster_name, route.weighted_clusters, route.cluster_header, redirect, direct_response")
	case 1:
	default:
		c.errorf(path, "more than one action (%s): set exactly one", strings.Join(actions, ", "))
	}

	rp := key(path, "route")
	c.clusterRef(key(rp, "cluster_name"), a.ClusterName)
	for i, w := range a.WeightedClusters {
		np := key(index(key(rp, "weighted_clusters"), i), "cluster.name")
		if w.Cluster.Name == "" {
			c.errorf(np, "required")
		}
		c.clusterRef(np, w.Cluster.Name)
	}
	if a.UpstreamProtocol != "" && !known(a.UpstreamProtocol, protocols) {
		c.errorf(key(rp, "upstream_protocol"), "%q: unknown protocol (known: %s)", a.UpstreamProtocol, strings.Join(protocols, ", "))
	}
	validateHeaders(c, key(rp, "request_headers_to_add"), a.RequestHeadersToAdd)
	validateHeaders(c, key(rp, "response_headers_to_add"), a.ResponseHeadersToAdd)

	if rd := r.Redirect; rd != nil {
		found := false
		for _, code := range redirectCodes {
			found = found || code == rd.ResponseCode
		}
		if !found {
			c.errorf(key(path, "redirect.response_code"), "%d: want 301, 302, 303, 307 or 308", rd.ResponseCode)
		}
	}
	if dr := r.DirectResponse; dr != nil && (dr.Status < 100 || dr.Status > 599) {
		c.errorf(key(path, "direct_response.status"), "%d: want 100-599", dr.Status)
	}
	if m := r.RequestMirrorPolicies; m != nil {
		mp := key(path, "request_mirror_policies")
		if m.Cluster == "" {
			c.errorf(key(mp, "cluster"), "required")
		}
		c.clusterRef(key(mp, "cluster"), m.Cluster)
		if m.Percent > 100 {
			c.errorf(key(mp, "percent"), "%d: want 0-100", m.Percent)
		}
	}
}

func (m *RouteMatch) validate(c *checker, path string) {
	var set []string
	for _, f := range []struct{ name, val string }{{"prefix", m.Prefix}, {"path", m.Path}, {"regex", m.Regex}} {
		if f.val != "" {
			set = append(set, f.name)
		}
	}
	if len(set) > 1 {
		c.errorf(path, "%s: set at most one of prefix, path, regex", strings.Join(set, " and "))
	}
	if m.Regex != "" {
		validateRegex(c, key(path, "regex"), m.Regex)
	}
	for i, h := range m.Headers {
		hp := index(key(path, "headers"), i)
		if h.Name == "" {
			c.errorf(key(hp, "name"), "required")
		}
		if h.Regex {
			validateRegex(c, key(hp, "value"), h.Value)
		}
	}
}

func validateRegex(c *checker, path, re string) {
	if _, err := regexp.Compile(re); err != nil {
		c.errorf(path, "%q: invalid regular expression: %v", re, err)
	}
}

func validateHeaders(c *checker, path string, hs []HeaderValueOption) {
	for i, h := range hs {
		if h.Header.Key == "" {
			c.errorf(key(index(path, i), "header.key"), "required")
		}
	}
}

// clusterRef reports an error at path if name is set but names no cluster.
func (c *checker) clusterRef(path, name string) {
	if name != "" && c.clusters[name] == "" {
		c.errorf(path, "%q: no such cluster", name)
	}
}
