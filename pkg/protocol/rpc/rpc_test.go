package rpc

import (
	"strings"
	"testing"
)

func TestAppendHessianString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", "\x00"},
		{"abc", "\x03abc"},
		{"é", "\x01é"},
		{strings.Repeat("a", 40), "\x30\x28" + strings.Repeat("a", 40)},
		{strings.Repeat("a", 2000), "S\x07\xd0" + strings.Repeat("a", 2000)},
		{"😀", "\x02😀"}, // outside the BMP: two UTF-16 units
	} {
		if got := string(AppendHessianString(nil, tc.in)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in[:min(len(tc.in), 8)], got[:min(len(got), 8)], tc.want[:min(len(tc.want), 8)])
		}
	}
	long := AppendHessianString(nil, strings.Repeat("b", 70000))
	if long[0] != 'R' || long[1] != 0xff || long[2] != 0xff || long[3+65535] != 'S' {
		t.Errorf("chunked string starts %q", long[:4])
	}
}

func TestAppendHessianDraftString(t *testing.T) {
	if got := string(AppendHessianDraftString(nil, "abc")); got != "\x03abc" {
		t.Errorf("short: %q", got)
	}
	s40 := strings.Repeat("a", 40)
	if got := string(AppendHessianDraftString(nil, s40)); got != "S\x00\x28"+s40 {
		t.Errorf("40 chars: %q", got[:3])
	}
	if got := AppendHessianDraftString(nil, strings.Repeat("b", 70000)); got[0] != 's' || got[3+65535] != 'S' {
		t.Errorf("chunked: %q", got[:3])
	}
}

func TestSkipped(t *testing.T) {
	for name, want := range map[string]bool{
		":path": true, "x-mosn-timeout": true, "content-length": true, "service": false, "x-mosnx": false, "": true,
	} {
		if Skipped([]byte(name)) != want {
			t.Errorf("Skipped(%q) != %v", name, want)
		}
	}
}
