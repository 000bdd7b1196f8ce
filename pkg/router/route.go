package router

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// Action is what a route does with the requests it matches.
type Action uint8

const (
	// ActionForward sends the request to a cluster; see Route.PickCluster.
	ActionForward Action = iota
	// ActionRedirect answers with a redirect; see Route.Redirect.
	ActionRedirect
	// ActionDirectResponse answers with a fixed status and body; see
	// Route.DirectResponse.
	ActionDirectResponse
)

// String returns "forward", "redirect" or "direct_response".
func (a Action) String() string {
	switch a {
	case ActionForward:
		return "forward"
	case ActionRedirect:
		return "redirect"
	case ActionDirectResponse:
		return "direct_response"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Route is one compiled route of a Table: what requests it takes and what to
// do with them. A Route belongs to its Table and is as immutable as it; its
// methods may be called concurrently. Maps it returns are shared and must
// not be modified.
type Route struct {
	vhost  string
	match  routeMatch
	action Action

	// ActionForward.
	cluster       string            // cluster_name
	clusterHeader string            // cluster_header, lower case
	weighted      []weightedCluster // weighted_clusters
	totalWeight   uint64
	metadataMatch map[string]string

	// ActionDirectResponse.
	status int
	body   string

	// ActionRedirect.
	redirect redirect

	timeout          time.Duration
	perTryTimeout    time.Duration
	retryOn          bool
	numRetries       int
	upstreamProtocol string
	mirror           *Mirror
	metadata         map[string]string
	filterConfig     map[string]json.RawMessage

	// Rewrites (RewriteRequest).
	prefixRewrite     string
	regexRewrite      *regexp.Regexp
	substitution      string // in Go's Expand syntax
	hostRewrite       string
	hostRewriteHeader string // auto_host_rewrite_header, lower case
	autoHostRewrite   bool
	reqEdits          []headerOp // route, then virtual host, then table
	respEdits         []headerOp // likewise
}

// weightedCluster is one cluster of weighted_clusters; upTo is the running
// sum of the weights up to and including it.
type weightedCluster struct {
	name          string
	upTo          uint64
	metadataMatch map[string]string // merged over the route's
}

// redirect is a compiled redirect action.
type redirect struct {
	code               int
	scheme, host, path string
	pathHasQuery       bool
}

// Mirror is a route's request mirror policy (request_mirror_policies): a
// share of the requests is copied to another cluster and its answers are
// ignored.
type Mirror struct {
	// Cluster receives the copies.
	Cluster string
	// Percent is the share of requests copied, 0 to 100.
	Percent uint32
	// TraceSampled asks to copy only requests that tracing samples. MOSN
	// accepts it and does not implement it; the proxy decides.
	TraceSampled bool
}

// Sample reports whether to copy one request: true with probability
// Percent/100. It is safe for concurrent use and does not allocate.
func (m Mirror) Sample() bool {
	return m.Percent >= 100 || (m.Percent > 0 && rand.Uint32N(100) < m.Percent)
}

// VirtualHost returns the name of the route's virtual host, for logs and
// stats.
func (r *Route) VirtualHost() string { return r.vhost }

// Action returns what the route does.
func (r *Route) Action() Action { return r.action }

// DirectResponse returns the status and body to answer with, and ok true,
// if the route answers requests itself (direct_response).
func (r *Route) DirectResponse() (status int, body string, ok bool) {
	return r.status, r.body, r.action == ActionDirectResponse
}

// PickCluster returns the cluster to forward the request to: cluster_name;
// for weighted_clusters, one picked at random in proportion to the weights
// (math/rand/v2, no lock); for cluster_header, the value of that request
// header (allocating a string), or "" when the header is absent, which the
// proxy answers as an unknown cluster. It returns "" for routes that do not
// forward. It does not allocate except for cluster_header.
func (r *Route) PickCluster(h *protocol.Headers) string {
	c, _ := r.Pick(h)
	return c
}

// Pick is PickCluster that also returns the metadata the picked cluster's
// hosts must match (for a subset load balancer), or nil. A weighted
// cluster's metadata_match is merged over the route's, its own keys winning,
// as Envoy merges them. The map is shared: do not modify it.
func (r *Route) Pick(h *protocol.Headers) (cluster string, metadataMatch map[string]string) {
	switch {
	case r.action != ActionForward:
		return "", nil
	case r.weighted != nil:
		n := rand.Uint64N(r.totalWeight)
		for i := range r.weighted {
			if w := &r.weighted[i]; n < w.upTo {
				return w.name, w.metadataMatch
			}
		}
		w := &r.weighted[len(r.weighted)-1] // unreachable: n < totalWeight
		return w.name, w.metadataMatch
	case r.clusterHeader != "":
		v, ok := h.Get(r.clusterHeader)
		if !ok {
			return "", r.metadataMatch
		}
		return string(v), r.metadataMatch
	}
	return r.cluster, r.metadataMatch
}

// MetadataMatch returns the route's metadata_match, the labels of the hosts
// of the cluster that may serve it, from MOSN's
// {"filter_metadata": {"mosn.lb": {...}}}; nil when not set. For weighted
// clusters use Pick. The map is shared: do not modify it.
func (r *Route) MetadataMatch() map[string]string { return r.metadataMatch }

// Timeout returns route.timeout, the bound of the whole upstream request,
// retries included; 0 means none.
func (r *Route) Timeout() time.Duration { return r.timeout }

// PerTryTimeout returns the retry policy's retry_timeout, the bound of each
// try; 0 means only Timeout applies.
func (r *Route) PerTryTimeout() time.Duration { return r.perTryTimeout }

// Retries returns whether the retry policy turns retries on (retry_on) and
// the most retries per request (num_retries). Without a retry policy it
// returns false, 0.
func (r *Route) Retries() (on bool, n int) { return r.retryOn, r.numRetries }

// UpstreamProtocol returns the route's upstream_protocol, overriding the
// proxy filter's, as written in the config (such as "Http2"); "" means no
// override.
func (r *Route) UpstreamProtocol() string { return r.upstreamProtocol }

// AutoHostRewrite reports route.auto_host_rewrite: the proxy sets the
// request's host to the address of the upstream host it picks.
func (r *Route) AutoHostRewrite() bool { return r.autoHostRewrite }

// Mirror returns the route's mirror policy and true, or false when it has
// none.
func (r *Route) Mirror() (Mirror, bool) {
	if r.mirror == nil {
		return Mirror{}, false
	}
	return *r.mirror, true
}

// Metadata returns the route's own metadata (its "metadata" key, in the
// layout of metadata_match), for stream filters; nil when not set. The map
// is shared: do not modify it.
func (r *Route) Metadata() map[string]string { return r.metadata }

// FilterConfig returns the route's per_filter_config of the stream filter
// type typ, as written, for that filter to decode; ok is false when there is
// none.
func (r *Route) FilterConfig(typ string) (cfg json.RawMessage, ok bool) {
	cfg, ok = r.filterConfig[typ]
	return cfg, ok
}

// Redirect returns the status and Location of the redirect to answer with,
// and ok true, if the route redirects. Location is the request's URL with
// the configured parts replaced:
//
//   - scheme: scheme_redirect, else the request's :scheme, else "http";
//   - authority: host_redirect (host and port), else the request's
//     authority; when only the scheme changes, a port that is the default of
//     the old scheme (80, 443) is dropped;
//   - path: path_redirect, keeping the request's query string unless
//     path_redirect has one of its own, else the request's :path ("/" when
//     absent).
//
// It allocates the Location string.
func (r *Route) Redirect(h *protocol.Headers) (status int, location string, ok bool) {
	if r.action != ActionRedirect {
		return 0, "", false
	}
	rd := &r.redirect
	scheme := "http"
	if v, ok := h.Get(protocol.Scheme); ok && len(v) > 0 {
		scheme = string(v)
	}
	host := string(authority(h))
	if rd.host != "" {
		host = rd.host
	} else if rd.scheme != "" && !strings.EqualFold(rd.scheme, scheme) {
		if bare := stripPort([]byte(host)); len(bare) < len(host) {
			port := host[len(bare)+1:]
			if (port == "80" && strings.EqualFold(scheme, "http")) || (port == "443" && strings.EqualFold(scheme, "https")) {
				host = string(bare)
			}
		}
	}
	if rd.scheme != "" {
		scheme = rd.scheme
	}
	reqPath := "/"
	if v, ok := h.Get(protocol.Path); ok && len(v) > 0 {
		reqPath = string(v)
	}
	path := reqPath
	if rd.path != "" {
		path = rd.path
		if !rd.pathHasQuery {
			if i := strings.IndexByte(reqPath, '?'); i >= 0 {
				path += reqPath[i:]
			}
		}
	}
	return rd.code, scheme + "://" + host + path, true
}

// route compiles the route c at path (such as virtual_hosts[0].routers[1])
// into r.
func (b *builder) route(r *Route, path string, c *config.Route) {
	b.compileMatch(&r.match, path+".match", &c.Match)
	a := &c.Route
	ap := path + ".route"

	var actions []string
	if a.ClusterName != "" {
		actions = append(actions, "route.cluster_name")
	}
	if len(a.WeightedClusters) > 0 {
		actions = append(actions, "route.weighted_clusters")
	}
	if a.ClusterHeader != "" {
		actions = append(actions, "route.cluster_header")
	}
	if c.Redirect != nil {
		actions = append(actions, "redirect")
		r.action = ActionRedirect
	}
	if c.DirectResponse != nil {
		actions = append(actions, "direct_response")
		r.action = ActionDirectResponse
	}
	if len(actions) != 1 {
		b.errorf(path, "want exactly one action of route.cluster_name, route.weighted_clusters, route.cluster_header, redirect, direct_response (got %d)", len(actions))
	}

	switch r.action {
	case ActionDirectResponse:
		dr := c.DirectResponse
		if dr.Status < 100 || dr.Status > 599 {
			b.errorf(path+".direct_response.status", "%d: want 100-599", dr.Status)
		}
		r.status, r.body = dr.Status, dr.Body
	case ActionRedirect:
		rd := c.Redirect
		r.redirect = redirect{code: rd.ResponseCode, scheme: rd.SchemeRedirect, host: rd.HostRedirect, path: rd.PathRedirect}
		if r.redirect.code == 0 {
			r.redirect.code = 301
		}
		switch r.redirect.code {
		case 301, 302, 303, 307, 308:
		default:
			b.errorf(path+".redirect.response_code", "%d: want 301, 302, 303, 307 or 308", rd.ResponseCode)
		}
		r.redirect.pathHasQuery = strings.Contains(rd.PathRedirect, "?")
	}

	// What only forwarding uses is an error on a route that answers
	// itself, rather than silently unused.
	forwardOnly := func(field string, set bool) {
		if set && r.action != ActionForward {
			b.errorf(ap+"."+field, "only applies to a route that forwards to a cluster, not to a %s", r.action)
		}
	}
	forwardOnly("upstream_protocol", a.UpstreamProtocol != "")
	forwardOnly("timeout", a.Timeout != nil)
	forwardOnly("retry_policy", a.RetryPolicy != nil)
	forwardOnly("prefix_rewrite", a.PrefixRewrite != "")
	forwardOnly("regex_rewrite", len(a.RegexRewrite) > 0 && string(a.RegexRewrite) != "null")
	forwardOnly("host_rewrite", a.HostRewrite != "")
	forwardOnly("auto_host_rewrite", a.AutoHostRewrite)
	forwardOnly("auto_host_rewrite_header", a.AutoHostRewriteHeader != "")
	forwardOnly("metadata_match", len(a.MetadataMatch) > 0 && string(a.MetadataMatch) != "null")
	if c.RequestMirrorPolicies != nil && r.action != ActionForward {
		b.errorf(path+".request_mirror_policies", "only applies to a route that forwards to a cluster, not to a %s", r.action)
	}

	if len(a.HashPolicy) > 0 && string(a.HashPolicy) != "null" {
		b.unsupported(ap+".hash_policy", "consistent-hash load balancing")
	}

	r.cluster = a.ClusterName
	r.clusterHeader = strings.ToLower(a.ClusterHeader)
	r.metadataMatch = b.lbMetadata(ap+".metadata_match", a.MetadataMatch)
	if len(a.WeightedClusters) > 0 {
		r.weighted = make([]weightedCluster, len(a.WeightedClusters))
		for i, wc := range a.WeightedClusters {
			wp := fmt.Sprintf("%s.weighted_clusters[%d].cluster", ap, i)
			if wc.Cluster.Name == "" {
				b.errorf(wp+".name", "required")
			}
			r.totalWeight += uint64(wc.Cluster.Weight)
			r.weighted[i] = weightedCluster{
				name:          wc.Cluster.Name,
				upTo:          r.totalWeight,
				metadataMatch: merge(r.metadataMatch, b.lbMetadata(wp+".metadata_match", wc.Cluster.MetadataMatch)),
			}
		}
		if r.totalWeight == 0 {
			b.errorf(ap+".weighted_clusters", "the weights sum to 0")
		}
	}

	r.upstreamProtocol = a.UpstreamProtocol
	if a.Timeout != nil {
		r.timeout = a.Timeout.D()
	}
	if rp := a.RetryPolicy; rp != nil {
		r.retryOn = rp.RetryOn
		r.numRetries = int(rp.NumRetries)
		if rp.RetryTimeout != nil {
			r.perTryTimeout = rp.RetryTimeout.D()
		}
	}

	if m := c.RequestMirrorPolicies; m != nil {
		mp := path + ".request_mirror_policies"
		if m.Cluster == "" {
			b.errorf(mp+".cluster", "required")
		}
		if m.Percent > 100 {
			b.errorf(mp+".percent", "%d: want 0-100", m.Percent)
		}
		r.mirror = &Mirror{Cluster: m.Cluster, Percent: m.Percent, TraceSampled: m.TraceSampled}
	}
	r.metadata = b.lbMetadata(path+".metadata", c.Metadata)
	r.filterConfig = b.filterConfig(path+".per_filter_config", c.PerFilterConfig)

	r.prefixRewrite = a.PrefixRewrite
	r.regexRewrite, r.substitution = b.regexRewrite(ap+".regex_rewrite", a.RegexRewrite)
	if r.prefixRewrite != "" && r.regexRewrite != nil {
		b.errorf(ap, "set at most one of prefix_rewrite, regex_rewrite")
	}
	r.hostRewrite = a.HostRewrite
	r.autoHostRewrite = a.AutoHostRewrite
	r.hostRewriteHeader = strings.ToLower(a.AutoHostRewriteHeader)
	if n := btoi(r.hostRewrite != "") + btoi(r.autoHostRewrite) + btoi(r.hostRewriteHeader != ""); n > 1 {
		b.errorf(ap, "set at most one of host_rewrite, auto_host_rewrite, auto_host_rewrite_header")
	}

	// Per level, removals before additions (as Envoy's header parser).
	r.reqEdits = b.removes(ap+".request_headers_to_remove", a.RequestHeadersToRemove)
	r.reqEdits = append(r.reqEdits, b.adds(ap+".request_headers_to_add", a.RequestHeadersToAdd)...)
	r.respEdits = b.removes(ap+".response_headers_to_remove", a.ResponseHeadersToRemove)
	r.respEdits = append(r.respEdits, b.adds(ap+".response_headers_to_add", a.ResponseHeadersToAdd)...)
}

// merge returns base with over's entries on top; base itself when over is
// empty.
func merge(base, over map[string]string) map[string]string {
	if len(over) == 0 {
		return base
	}
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
