package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TLSConfig is a TLS context: of a listener's filter chain (the server side)
// or of a cluster (the client side).
//
// CACert, CertChain and PrivateKey each hold either PEM text (starting with
// "-----BEGIN") or the path of a PEM file. A relative path is relative to the
// directory of the config file when it is read by Load, which rewrites it to
// an absolute path, and to the working directory otherwise.
type TLSConfig struct {
	// Status turns TLS on. An absent or empty context ({}), or status false,
	// means plaintext.
	Status bool `json:"status,omitempty"`
	// Type names a TLS provider extension; empty means the default
	// (crypto/tls).
	Type string `json:"type,omitempty"`
	// ServerName is the SNI name a client sends and checks the server
	// certificate against. Client side only.
	ServerName string `json:"server_name,omitempty"`
	// CACert holds the CA certificates that verify the peer: client
	// certificates on a listener, the server's on a cluster.
	CACert string `json:"ca_cert,omitempty"`
	// CertChain is our certificate chain. Required on a listener.
	CertChain string `json:"cert_chain,omitempty"`
	// PrivateKey is the key of CertChain. Required on a listener.
	PrivateKey string `json:"private_key,omitempty"`
	// VerifyClient makes a listener verify client certificates against
	// CACert.
	VerifyClient bool `json:"verify_client,omitempty"`
	// RequireClientCert makes a listener refuse clients without a
	// certificate.
	RequireClientCert bool `json:"require_client_cert,omitempty"`
	// InsecureSkip makes a cluster skip verifying the server certificate.
	InsecureSkip bool `json:"insecure_skip,omitempty"`
	// CipherSuites lists the allowed cipher suites, separated by ":".
	// Empty means Go's defaults.
	CipherSuites string `json:"cipher_suites,omitempty"`
	// EcdhCurves lists the allowed ECDH curves, separated by ":". Empty
	// means Go's defaults.
	EcdhCurves string `json:"ecdh_curves,omitempty"`
	// MinVersion is the lowest TLS version allowed. Empty means Go's
	// default.
	MinVersion string `json:"min_version,omitempty"`
	// MaxVersion is the highest TLS version allowed. Empty means Go's
	// default.
	MaxVersion string `json:"max_version,omitempty"`
	// ALPN lists the application protocols to negotiate, separated by
	// ",", such as "h2,http/1.1".
	ALPN string `json:"alpn,omitempty"`
	// Ticket is the session ticket key. Empty means random keys.
	Ticket string `json:"ticket,omitempty"`
	// Fallback makes a listener serve plaintext when the TLS setup fails,
	// rather than refuse to start.
	Fallback bool `json:"fall_back,omitempty"`
	// ExtendVerify is the config of a custom verification extension, kept
	// as written.
	ExtendVerify json.RawMessage `json:"extend_verify,omitempty"`
	// SdsSource fetches certificates over SDS instead of files, kept as
	// written.
	SdsSource json.RawMessage `json:"sds_source,omitempty"`
}

// Enabled reports whether t is set and turned on.
func (t *TLSConfig) Enabled() bool { return t != nil && t.Status }

// validate checks an enabled t. server is true for a listener's context,
// which needs its own certificate.
func (t *TLSConfig) validate(c *checker, path string, server bool) {
	if !t.Enabled() {
		return
	}
	for _, f := range []struct {
		key, val string
		required bool
	}{
		{"ca_cert", t.CACert, false},
		{"cert_chain", t.CertChain, server && len(t.SdsSource) == 0},
		{"private_key", t.PrivateKey, server && len(t.SdsSource) == 0},
	} {
		p := key(path, f.key)
		switch {
		case f.val == "":
			if f.required {
				c.errorf(p, "required when status is true")
			}
		case isPEM(f.val):
		default:
			checkFile(c, p, f.val, c.dir)
		}
	}
}

// resolveFiles makes the relative file paths of t absolute, relative to dir.
func (t *TLSConfig) resolveFiles(dir string) {
	if t == nil {
		return
	}
	for _, s := range []*string{&t.CACert, &t.CertChain, &t.PrivateKey} {
		if *s != "" && !isPEM(*s) && !filepath.IsAbs(*s) {
			*s = filepath.Join(dir, *s)
		}
	}
}

// isPEM reports whether s is inline PEM text rather than a file path.
func isPEM(s string) bool {
	return strings.HasPrefix(strings.TrimSpace(s), "-----BEGIN")
}

// checkFile reports an error at path if the regular file name, relative to
// dir, cannot be found.
func checkFile(c *checker, path, name, dir string) {
	full := name
	if dir != "" && !filepath.IsAbs(name) {
		full = filepath.Join(dir, name)
	}
	fi, err := os.Stat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.errorf(path, "%q: no such file", name)
	case err != nil:
		c.errorf(path, "%q: %v", name, err)
	case fi.IsDir():
		c.errorf(path, "%q: is a directory", name)
	}
}
