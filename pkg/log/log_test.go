package log

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
		err  bool
	}{
		{"DEBUG", slog.LevelDebug, false},
		{"info", slog.LevelInfo, false},
		{" Warn ", slog.LevelWarn, false},
		{"trace", LevelTrace, false},
		{"CRITICAL", LevelCritical, false},
		{"verbose", 0, true},
	} {
		got, err := ParseLevel(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestOpenFileHonoursLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "error.log")
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	logger, closer, err := Open(path, &level)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hidden")
	logger.Warn("shown", "component", "network")
	level.Set(LevelTrace)
	logger.Log(context.Background(), LevelTrace, "traced")
	closer.Close()
	data, _ := os.ReadFile(path)
	out := string(data)
	if strings.Contains(out, "hidden") || !strings.Contains(out, "msg=shown component=network") {
		t.Fatalf("log file:\n%s", out)
	}
	if !bytes.Contains(data, []byte("level=TRACE msg=traced")) {
		t.Fatalf("trace line missing or misnamed:\n%s", out)
	}
}
