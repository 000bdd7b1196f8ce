package admin

import (
	"encoding/json"
	"strings"
)

// Redacted replaces every secret in a config dump.
const Redacted = "[redacted]"

// secretKeys are the config keys whose values are secrets, wherever they
// appear: TLS private keys and session ticket keys, and the usual names of
// credentials in extension configs.
var secretKeys = []string{"private_key", "ticket", "password", "secret", "token", "credential", "access_key", "secret_key"}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretKeys {
		if k == s || strings.HasSuffix(k, "_"+s) || strings.HasPrefix(k, s+"_") {
			return true
		}
	}
	return false
}

// Redact returns v (anything encoding/json can encode) as JSON values with
// every secret replaced by Redacted: the values of secret keys (see
// secretKeys), and any string holding a PEM private key whatever its key.
func Redact(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	return redact(tree), nil
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok && s != "" && secretKey(k) {
				t[k] = Redacted
				continue
			}
			t[k] = redact(e)
		}
	case []any:
		for i, e := range t {
			t[i] = redact(e)
		}
	case string:
		if strings.Contains(t, "PRIVATE KEY") {
			return Redacted
		}
	}
	return v
}
