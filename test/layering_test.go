package test

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sidecar-mesh/mosn/"

// allowed lists, for each package of the module (by path below the module,
// sub-packages included), the module packages it may import directly. The
// arrows of ../../shared/ARCHITECTURE.md point down only:
//
//	cmd ─► server ─► proxy ─► router, upstream ─► stream ─► protocol ─► network ─► hwaccel
//	          └────► xds ─► config          log, metrics: leaves used by all
var allowed = map[string][]string{
	"internal":     {},
	"pkg/hwaccel":  {},
	"pkg/log":      {},
	"pkg/config":   {},
	"pkg/metrics":  {},
	"pkg/admin":    {"pkg/metrics"}, // reads the running proxy through its own interface
	"pkg/network":  {"pkg/hwaccel"},
	"pkg/protocol": {"pkg/network", "pkg/protocol"},
	"pkg/stream":   {"pkg/protocol", "pkg/network"},
	// Route tables build themselves from the validated route config structs.
	"pkg/router":    {"pkg/protocol", "pkg/config"},
	"pkg/accesslog": {"pkg/protocol"},
	"pkg/upstream":  {"pkg/stream", "pkg/protocol", "pkg/network", "pkg/hwaccel"},
	// Network filters decode their own config slots with pkg/config.
	"pkg/proxy":  {"pkg/accesslog", "pkg/router", "pkg/upstream", "pkg/stream", "pkg/protocol", "pkg/network", "pkg/hwaccel", "pkg/config"},
	"pkg/xds":    {"pkg/config"},
	"pkg/server": {"pkg/admin", "pkg/accesslog", "pkg/proxy", "pkg/router", "pkg/upstream", "pkg/stream", "pkg/protocol", "pkg/network", "pkg/hwaccel", "pkg/config", "pkg/xds"},
	"cmd":        {"pkg/server", "pkg/config", "pkg/proxy", "pkg/stream", "pkg/xds"}, // stream: protocol extensions in imports.go
	"test":       {"pkg", "cmd"},
}

// leaves may be imported by anything.
var leaves = []string{"pkg/log", "pkg/metrics", "internal/registry"}

func owner(pkg string) (string, bool) {
	best := ""
	for k := range allowed {
		if (pkg == k || strings.HasPrefix(pkg, k+"/")) && len(k) > len(best) {
			best = k
		}
	}
	return best, best != ""
}

func within(pkg string, prefixes []string) bool {
	for _, p := range prefixes {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// TestImportLayering fails on any import edge the architecture does not
// allow (make check-imports runs only this test).
func TestImportLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg, ok := strings.CutPrefix(fields[0], module)
		if !ok {
			continue
		}
		own, ok := owner(pkg)
		if !ok {
			t.Errorf("%s: package outside the layering table; add it to allowed", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok || within(dep, leaves) || within(dep, []string{own}) {
				continue
			}
			if !within(dep, allowed[own]) {
				t.Errorf("%s imports %s: not allowed for %s (allowed: %v)", pkg, dep, own, allowed[own])
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no module-internal imports found: is the module path right?")
	}
}
