package router

import (
	"strings"
	"testing"
)

// oneRoute returns a router config with route as the only route of the "*"
// virtual host; vh and table are extra keys of the virtual host and the
// table ("" for none).
func oneRoute(route, vh, table string) string {
	if vh != "" {
		vh = ", " + vh
	}
	if table != "" {
		table = ", " + table
	}
	return `{"router_config_name": "r"` + table + `, "virtual_hosts": [{"name": "v", "domains": ["*"]` + vh +
		`, "routers": [` + route + `]}]}`
}

func TestRewriteRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		route     string // the route
		vh, table string // extra keys of the virtual host and the table
		in        []string
		want      string // dump of the headers after RewriteRequest
	}{
		{
			name:  "prefix_rewrite of a prefix route keeps the rest and the query",
			route: `{"match": {"prefix": "/api/"}, "route": {"cluster_name": "c", "prefix_rewrite": "/v2/"}}`,
			in:    []string{":path", "/api/users?id=1"},
			want:  ":path: /v2/users?id=1",
		},
		{
			name:  "prefix_rewrite of a path route replaces the path, keeps the query",
			route: `{"match": {"path": "/old"}, "route": {"cluster_name": "c", "prefix_rewrite": "/new"}}`,
			in:    []string{":path", "/old?q=1"},
			want:  ":path: /new?q=1",
		},
		{
			name:  "prefix_rewrite of a regex route replaces the path",
			route: `{"match": {"regex": "/o.d"}, "route": {"cluster_name": "c", "prefix_rewrite": "/new"}}`,
			in:    []string{":path", "/old"},
			want:  ":path: /new",
		},
		{
			name:  "prefix_rewrite of a route without path matcher prepends",
			route: `{"match": {"headers": [{"name": "x", "value": "1"}]}, "route": {"cluster_name": "c", "prefix_rewrite": "/svc"}}`,
			in:    []string{":path", "/x", "x", "1"},
			want:  ":path: /svc/x\nx: 1",
		},
		{
			name:  "prefix_rewrite leaves a request without :path alone",
			route: `{"match": {"headers": [{"name": "x", "value": "1"}]}, "route": {"cluster_name": "c", "prefix_rewrite": "/svc"}}`,
			in:    []string{"x", "1"},
			want:  "x: 1",
		},
		{
			name: "regex_rewrite, Envoy's \\1 groups",
			route: `{"match": {"prefix": "/service/"}, "route": {"cluster_name": "c", "regex_rewrite":
				{"pattern": {"google_re2": {}, "regex": "^/service/([^/]+)(/.*)$"}, "substitution": "\\2/instance/\\1"}}}`,
			in:   []string{":path", "/service/foo/v1/api?x=1"},
			want: ":path: /v1/api/instance/foo?x=1",
		},
		{
			name: "regex_rewrite, Go's $1 groups (MOSN)",
			route: `{"match": {"prefix": "/service/"}, "route": {"cluster_name": "c", "regex_rewrite":
				{"pattern": {"regex": "^/service/([^/]+)(/.*)$"}, "substitution": "${2}/instance/$1"}}}`,
			in:   []string{":path", "/service/foo/v1/api"},
			want: ":path: /v1/api/instance/foo",
		},
		{
			name: "regex_rewrite replaces every match",
			route: `{"match": {"prefix": "/"}, "route": {"cluster_name": "c", "regex_rewrite":
				{"pattern": {"regex": "one"}, "substitution": "two"}}}`,
			in:   []string{":path", "/xxx/one/yyy/one/zzz?one"},
			want: ":path: /xxx/two/yyy/two/zzz?one",
		},
		{
			name:  "host_rewrite of HTTP/1 host",
			route: `{"route": {"cluster_name": "c", "host_rewrite": "up.internal"}}`,
			in:    []string{":path", "/", "host", "example.com"},
			want:  ":path: /\nhost: up.internal",
		},
		{
			name:  "host_rewrite of :authority",
			route: `{"route": {"cluster_name": "c", "host_rewrite": "up.internal"}}`,
			in:    []string{":authority", "example.com"},
			want:  ":authority: up.internal",
		},
		{
			name:  "host_rewrite adds host when there is none",
			route: `{"route": {"cluster_name": "c", "host_rewrite": "up.internal"}}`,
			in:    []string{":path", "/"},
			want:  ":path: /\nhost: up.internal",
		},
		{
			name:  "auto_host_rewrite_header",
			route: `{"route": {"cluster_name": "c", "auto_host_rewrite_header": "X-Upstream-Host"}}`,
			in:    []string{"host", "example.com", "x-upstream-host", "b.internal"},
			want:  "host: b.internal\nx-upstream-host: b.internal",
		},
		{
			name:  "auto_host_rewrite_header absent leaves host",
			route: `{"route": {"cluster_name": "c", "auto_host_rewrite_header": "x-upstream-host"}}`,
			in:    []string{"host", "example.com"},
			want:  "host: example.com",
		},
		{
			name: "append false: route, then virtual host, then table; the table's value is left",
			route: `{"route": {"cluster_name": "c", "request_headers_to_add": [
				{"header": {"key": "X-A", "value": "route"}, "append": false}]}}`,
			vh:    `"request_headers_to_add": [{"header": {"key": "x-a", "value": "vh"}, "append": false}]`,
			table: `"request_headers_to_add": [{"header": {"key": "x-a", "value": "table"}, "append": false}]`,
			in:    []string{"x-a", "client"},
			want:  "x-a: table",
		},
		{
			name:  "append true (the default) adds in order route, virtual host, table",
			route: `{"route": {"cluster_name": "c", "request_headers_to_add": [{"header": {"key": "x-a", "value": "route"}}]}}`,
			vh:    `"request_headers_to_add": [{"header": {"key": "x-a", "value": "vh"}, "append": true}]`,
			table: `"request_headers_to_add": [{"header": {"key": "x-a", "value": "table"}}]`,
			in:    []string{"x-a", "client"},
			want:  "x-a: client\nx-a: route\nx-a: vh\nx-a: table",
		},
		{
			name: "removals before additions",
			route: `{"route": {"cluster_name": "c",
				"request_headers_to_add": [{"header": {"key": "x-b", "value": "new"}}],
				"request_headers_to_remove": ["X-B", "x-secret"]}}`,
			in:   []string{"x-b", "old", "x-secret", "s", "x-keep", "k"},
			want: "x-keep: k\nx-b: new",
		},
		{
			name:  "header edits of a direct response route",
			route: `{"direct_response": {"status": 200}, "route": {"request_headers_to_add": [{"header": {"key": "x-a", "value": "1"}}]}}`,
			in:    []string{":path", "/"},
			want:  ":path: /\nx-a: 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := build(t, oneRoute(tt.route, tt.vh, tt.table))
			h := req(tt.in...)
			r := tb.Match(h)
			if r == nil {
				t.Fatal("no route")
			}
			r.RewriteRequest(h)
			if got := dump(h); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRewriteResponse(t *testing.T) {
	t.Parallel()
	tb := build(t, oneRoute(
		`{"route": {"cluster_name": "c",
			"response_headers_to_add": [{"header": {"key": "x-route", "value": "1"}}, {"header": {"key": "x-level", "value": "route"}, "append": false}],
			"response_headers_to_remove": ["Server"]}}`,
		`"response_headers_to_add": [{"header": {"key": "x-vh", "value": "1"}}, {"header": {"key": "x-level", "value": "vh"}, "append": false}],
		 "response_headers_to_remove": ["x-upstream"]`,
		`"response_headers_to_add": [{"header": {"key": "x-table", "value": "1"}}],
		 "response_headers_to_remove": ["x-powered-by"]`))
	r := tb.Match(req(":path", "/"))
	h := req(":status", "200", "server", "up", "x-upstream", "u", "x-powered-by", "p", "content-length", "0")
	r.RewriteResponse(h)
	want := strings.Join([]string{":status: 200", "content-length: 0", "x-route: 1", "x-level: vh", "x-vh: 1", "x-table: 1"}, "\n")
	if got := dump(h); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRedirect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		redirect string
		in       []string
		code     int
		location string
	}{
		{"defaults keep the URL", `{}`, []string{"host", "example.com", ":path", "/old?a=1"}, 301, "http://example.com/old?a=1"},
		{"path_redirect keeps the query", `{"path_redirect": "/new"}`, []string{"host", "example.com", ":path", "/old?a=1"}, 301, "http://example.com/new?a=1"},
		{"path_redirect with its own query", `{"path_redirect": "/new?b=2"}`, []string{"host", "example.com", ":path", "/old?a=1"}, 301, "http://example.com/new?b=2"},
		{"host_redirect and code", `{"host_redirect": "other.com", "response_code": 302}`, []string{"host", "example.com:8080", ":path", "/p"}, 302, "http://other.com/p"},
		{"scheme_redirect drops the old default port", `{"scheme_redirect": "https", "response_code": 308}`, []string{"host", "example.com:80", ":path", "/p"}, 308, "https://example.com/p"},
		{"scheme_redirect keeps another port", `{"scheme_redirect": "https"}`, []string{"host", "example.com:8080", ":path", "/p"}, 301, "https://example.com:8080/p"},
		{"request :scheme and :authority", `{"path_redirect": "/n"}`, []string{":scheme", "https", ":authority", "example.com", ":path", "/p"}, 301, "https://example.com/n"},
		{"no :path", `{"host_redirect": "h"}`, nil, 301, "http://h/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := build(t, oneRoute(`{"redirect": `+tt.redirect+`}`, "", ""))
			h := req(tt.in...)
			r := tb.Match(h)
			if r.Action() != ActionRedirect {
				t.Fatalf("action %v, want redirect", r.Action())
			}
			code, loc, ok := r.Redirect(h)
			if !ok || code != tt.code || loc != tt.location {
				t.Errorf("Redirect = %d, %q, %v; want %d, %q, true", code, loc, ok, tt.code, tt.location)
			}
			if c := r.PickCluster(h); c != "" {
				t.Errorf("PickCluster = %q, want \"\"", c)
			}
		})
	}
}

func TestSubstitution(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`plain`:   `plain`,
		`\1-\2`:   `${1}-${2}`,
		`$1`:      `$1`,
		`a\\b`:    `a\b`,
		`\0`:      `${0}`,
		`\x`:      `\x`,
		`trail\`:  `trail\`,
		`\9\\\1`:  `${9}\${1}`,
		`$$ \1`:   `$$ ${1}`,
		`${name}`: `${name}`,
	} {
		if got := substitution(in); got != want {
			t.Errorf("substitution(%q) = %q, want %q", in, got, want)
		}
	}
}
