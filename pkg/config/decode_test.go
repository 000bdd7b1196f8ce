package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// plugin is the config of an imaginary filter, as a plugin factory decodes
// it with Decode.
type plugin struct {
	Name    string            `json:"name"`
	Count   uint8             `json:"count"`
	Ratio   float64           `json:"ratio"`
	On      bool              `json:"on"`
	Tags    []string          `json:"tags"`
	Labels  map[string]string `json:"labels"`
	Inner   *pluginInner      `json:"inner"`
	Raw     json.RawMessage   `json:"raw"`
	Any     any               `json:"any"`
	Skipped string            `json:"-"`
	NoTag   int
	hidden  int
}

type pluginInner struct {
	Limit int32 `json:"limit"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string   // the decoded value, as JSON
		errs []string // every problem
	}{
		{name: "all kinds",
			in:   `{"NAME": "x", "count": 3, "ratio": 0.5, "on": true, "tags": ["a"], "labels": {"k": "v"}, "inner": {"limit": -2}, "raw": {"a": [1]}, "any": [1, "b"], "notag": 4}`,
			want: `{"name":"x","count":3,"ratio":0.5,"on":true,"tags":["a"],"labels":{"k":"v"},"inner":{"limit":-2},"raw":{"a":[1]},"any":[1,"b"],"NoTag":4}`},
		{name: "null and absent keep the default", in: `{"name": null}`,
			want: `{"name":"default","count":0,"ratio":0,"on":false,"tags":null,"labels":null,"inner":null,"raw":null,"any":null,"NoTag":0}`},
		{name: "empty input", in: ``,
			want: `{"name":"default","count":0,"ratio":0,"on":false,"tags":null,"labels":null,"inner":null,"raw":null,"any":null,"NoTag":0}`},
		{name: "type mismatches", in: `{"name": 1, "count": "3", "on": "yes", "tags": "a", "inner": [], "ratio": "x"}`, errs: []string{
			"p.name: expected string, got number",
			"p.count: expected integer, got string",
			"p.on: expected boolean, got string",
			"p.tags: expected array, got string",
			"p.inner: expected object, got array",
			"p.ratio: expected number, got string",
		}},
		{name: "ranges", in: `{"count": 256, "inner": {"limit": 2147483648}, "tags": ["a", 2]}`, errs: []string{
			"p.count: 256: want an integer in 0..255",
			"p.inner.limit: 2147483648: want an integer in -2147483648..2147483647",
			"p.tags[1]: expected string, got number",
		}},
		{name: "unknown and duplicate keys", in: `{"name": "a", "Name": "b", "nope": 1, "labels": {"k": "1", "k": "2"}, "skipped": "x", "hidden": 1}`, errs: []string{
			`p.name: duplicate key ("name" and "Name")`,
			"p.nope: unknown key, ignored",
			"p.labels.k: duplicate key",
			"p.skipped: unknown key, ignored",
			"p.hidden: unknown key, ignored",
		}},
		{name: "syntax error", in: "{\"name\": \"a\",\n\"count\": }", errs: []string{
			"p: invalid JSON at line 2, column 10: invalid character '}' looking for beginning of value",
		}},
		{name: "not an object", in: `[]`, errs: []string{"p: expected object, got array"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := plugin{Name: "default"}
			ps := Decode("p", json.RawMessage(tt.in), &v)
			if got := strings.Join(lines(ps), "\n"); got != strings.Join(tt.errs, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(tt.errs, "\n"))
			}
			if tt.want == "" {
				return
			}
			if out, _ := json.Marshal(v); string(out) != tt.want {
				t.Errorf("decoded:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

func TestDecodeMisuse(t *testing.T) {
	t.Parallel()
	var v plugin
	for _, target := range []any{v, (*plugin)(nil), nil} {
		if ps := Decode("", json.RawMessage(`{}`), target); ps.Err() == nil {
			t.Errorf("Decode into %T: no error", target)
		}
	}
}

// TestDecodeFilters checks the exported decoders of filter configs.
func TestDecodeFilters(t *testing.T) {
	t.Parallel()
	tp, ps := DecodeTCPProxy("f", json.RawMessage(`{"cluster": "c", "idle_timeout": "1m", "routes": [{"cluster": "d", "source_addrs": ["10.0.0.0/8"]}]}`))
	if ps != nil || tp.Cluster != "c" || tp.IdleTimeout.String() != "1m0s" || tp.Routes[0].SourceAddrs[0] != "10.0.0.0/8" {
		t.Errorf("DecodeTCPProxy: %+v, %v", tp, ps)
	}
	if _, ps := DecodeTCPProxy("f", nil); len(ps) != 1 || ps[0].String() != "f: cluster or at least one route is required" {
		t.Errorf("DecodeTCPProxy(nil): %v", ps)
	}
	p, ps := DecodeProxy("f", nil)
	if p == nil || strings.Join(lines(ps), "; ") != "f.downstream_protocol: required; f.router_config_name: required" {
		t.Errorf("DecodeProxy(nil): %+v, %v", p, ps)
	}
	p, ps = DecodeProxy("f", json.RawMessage(`{"downstream_protocol": "X", "router_config_name": "r", "extend_config": {"sub_protocol": "dubbo"}}`))
	if ps != nil || p.UpstreamProtocol != "X" || string(p.ExtendConfig) != `{"sub_protocol": "dubbo"}` {
		t.Errorf("DecodeProxy: %+v, %v", p, ps)
	}
	sink, ps := DecodePrometheusSink("s", json.RawMessage(`{"port": 15090}`))
	if ps != nil || sink.Port != 15090 || sink.Endpoint != "/metrics" {
		t.Errorf("DecodePrometheusSink: %+v, %v", sink, ps)
	}
}
