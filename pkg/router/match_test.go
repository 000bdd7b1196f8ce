package router

import "testing"

// routesConfig has routes of every kind of match, in an order that tests
// first-match-wins; each forwards to a cluster named after it.
const routesConfig = `{
	"router_config_name": "routes",
	"virtual_hosts": [{"name": "all", "domains": ["*"], "routers": [
		{"match": {"path": "/exact"}, "route": {"cluster_name": "exact"}},
		{"match": {"prefix": "/api/v1", "headers": [{"name": "X-Env", "value": "prod"}]}, "route": {"cluster_name": "api-prod"}},
		{"match": {"prefix": "/api"}, "route": {"cluster_name": "api"}},
		{"match": {"regex": "/img/[0-9]+\\.png"}, "route": {"cluster_name": "img"}},
		{"match": {"headers": [{"name": "service", "value": ".*"}, {"name": "version", "value": "1\\.[0-9]+", "regex": true}]}, "route": {"cluster_name": "rpc"}},
		{"match": {"prefix": "/post", "headers": [{"name": ":method", "value": "POST"}]}, "route": {"cluster_name": "post"}},
		{"match": {"headers": [{"name": ":authority", "value": "a.test"}]}, "route": {"cluster_name": "authority"}},
		{"match": {"headers": [{"name": ":path", "value": "/q?x=1"}]}, "route": {"cluster_name": "path-header"}},
		{"match": {"headers": [{"name": "x-any", "value": ".*", "regex": true}]}, "route": {"cluster_name": "regex-any"}},
		{"match": {"headers": [{"name": "x-dot", "value": ".x"}]}, "route": {"cluster_name": "literal"}}
	]}]
}`

func TestRouteMatch(t *testing.T) {
	t.Parallel()
	tb := build(t, routesConfig)
	tests := []struct {
		name    string
		headers []string
		want    string // cluster; "" = no route
	}{
		{"path", []string{":path", "/exact"}, "exact"},
		{"path ignores the query", []string{":path", "/exact?a=1"}, "exact"},
		{"path ignores the fragment", []string{":path", "/exact#top"}, "exact"},
		{"path is exact", []string{":path", "/exact/more"}, ""},
		{"path is case-sensitive", []string{":path", "/EXACT"}, ""},
		{"prefix and header", []string{":path", "/api/v1/users", "x-env", "prod"}, "api-prod"},
		{"header value is case-sensitive", []string{":path", "/api/v1/users", "x-env", "Prod"}, "api"},
		{"first match wins, next when a header fails", []string{":path", "/api/v1/users", "x-env", "dev"}, "api"},
		{"missing header fails", []string{":path", "/api/v1/users"}, "api"},
		{"prefix", []string{":path", "/api"}, "api"},
		{"prefix is a string prefix", []string{":path", "/apix"}, "api"},
		{"prefix ignores the query", []string{":path", "/ap?i"}, ""},
		{"regex", []string{":path", "/img/12.png"}, "img"},
		{"regex ignores the query", []string{":path", "/img/12.png?size=2"}, "img"},
		{"regex is anchored at the end", []string{":path", "/img/12.pngx"}, ""},
		{"regex is anchored at the start", []string{":path", "/x/img/12.png"}, ""},
		{"headers only, no path (RPC)", []string{"service", "com.example.Echo", "version", "1.2"}, "rpc"},
		{"headers only, any path", []string{":path", "/whatever", "service", "s", "version", "1.0"}, "rpc"},
		{"MOSN's .* needs the header", []string{"version", "1.2"}, ""},
		{"MOSN's .* matches an empty value", []string{"service", "", "version", "1.2"}, "rpc"},
		{"header regex is anchored", []string{"service", "s", "version", "1.2.3"}, ""},
		{"header regex is anchored at the start", []string{"service", "s", "version", "21.2"}, ""},
		{"first value of a repeated header", []string{"service", "s", "version", "x", "version", "1.2"}, ""},
		{"pseudo-header :method", []string{":method", "POST", ":path", "/post/1"}, "post"},
		{"pseudo-header :method mismatch", []string{":method", "GET", ":path", "/post/1"}, ""},
		{":authority matcher reads :authority", []string{":authority", "a.test", ":path", "/z"}, "authority"},
		{":authority matcher reads HTTP/1 host", []string{"host", "a.test", ":path", "/z"}, "authority"},
		{":path matcher sees the query", []string{":path", "/q?x=1"}, "path-header"},
		{"regex .* matches any value", []string{"x-any", "whatever"}, "regex-any"},
		{"literal value without regex", []string{"x-dot", ".x"}, "literal"},
		{"literal value is not a regex", []string{"x-dot", "ax"}, ""},
		{"nothing matches", []string{":path", "/none"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := req(tt.headers...)
			r := tb.Match(h)
			got := ""
			if r != nil {
				got = r.PickCluster(h)
			}
			if got != tt.want {
				t.Errorf("matched %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEmptyMatchTakesEverything(t *testing.T) {
	t.Parallel()
	tb := build(t, `{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
		"routers": [{"match": {}, "route": {"cluster_name": "c"}}]}]}`)
	for _, h := range [][]string{nil, {":path", "/x"}, {"service", "s"}} {
		if r := tb.Match(req(h...)); r == nil || r.PickCluster(nil) != "c" {
			t.Errorf("%q: no route, want c", h)
		}
	}
}
