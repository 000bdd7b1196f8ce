package healthcheck

import (
	"errors"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/proxy"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		wantErr string
	}{
		{``, ""},
		{`{}`, ""},
		{`{"passthrough": false, "cache_time": "360s"}`, ""},
		{`{"passthrough": true}`, "f.passthrough"},
		{`{"cluster_min_healthy_percentages": {"c": 70}}`, "f.cluster_min_healthy_percentages"},
	} {
		_, err := New("f", []byte(tc.raw))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.raw, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, proxy.ErrNotSupported)):
			t.Errorf("%s: %v, want %q and not supported", tc.raw, err, tc.wantErr)
		}
	}
}
