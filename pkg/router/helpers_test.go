package router

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// decode decodes a router config snippet as pkg/config does and applies its
// defaults, failing on any problem (so a typo in a test config fails).
func decode(t testing.TB, js string) *config.RouterConfig {
	t.Helper()
	var rc config.RouterConfig
	if ps := config.Decode("", json.RawMessage(js), &rc); len(ps) > 0 {
		t.Fatalf("decoding test config: %v", ps)
	}
	rc.SetDefaults()
	return &rc
}

// build builds the table of a router config snippet.
func build(t testing.TB, js string) *Table {
	t.Helper()
	tb, err := New(decode(t, js))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tb
}

// req returns headers holding the name/value pairs kv, in order.
func req(kv ...string) *protocol.Headers {
	h := new(protocol.Headers)
	for i := 0; i+1 < len(kv); i += 2 {
		h.AddString(kv[i], kv[i+1])
	}
	return h
}

// dump returns the fields of h as "name: value" lines, in order.
func dump(h *protocol.Headers) string {
	var lines []string
	h.Range(func(n, v []byte) bool {
		lines = append(lines, string(n)+": "+string(v))
		return true
	})
	return strings.Join(lines, "\n")
}
