package router

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// lbKey is the filter_metadata key of load-balancer labels, in MOSN's
// layout {"filter_metadata": {"mosn.lb": {"version": "v1"}}}.
const lbKey = "mosn.lb"

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// lbMetadata decodes a metadata or metadata_match value at path into its
// mosn.lb labels. Keys match case-insensitively, as encoding/json matches
// MOSN's struct tags. Anything it would have to drop is an error instead:
// a key other than filter_metadata or mosn.lb, or a label value that is not
// a string (MOSN drops those silently). It returns nil when there are no
// labels.
func (b *builder) lbMetadata(path string, raw json.RawMessage) map[string]string {
	if isNull(raw) {
		return nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		b.errorf(path, `want {"filter_metadata": {"mosn.lb": {"key": "value"}}}: %v`, err)
		return nil
	}
	var labels map[string]string
	for _, k := range slices.Sorted(maps.Keys(top)) { // errors in a stable order
		fm := top[k]
		if !strings.EqualFold(k, "filter_metadata") {
			b.errorf(path+"."+k, `unknown key: want {"filter_metadata": {"mosn.lb": {...}}}`)
			continue
		}
		if isNull(fm) {
			continue
		}
		var filters map[string]json.RawMessage
		if err := json.Unmarshal(fm, &filters); err != nil {
			b.errorf(path+"."+k, "want an object: %v", err)
			continue
		}
		for _, f := range slices.Sorted(maps.Keys(filters)) {
			lb := filters[f]
			fp := path + "." + k + "." + f
			if !strings.EqualFold(f, lbKey) {
				b.unsupported(fp, "metadata other than "+lbKey)
				continue
			}
			if isNull(lb) {
				continue
			}
			var kv map[string]json.RawMessage
			if err := json.Unmarshal(lb, &kv); err != nil {
				b.errorf(fp, "want an object of strings: %v", err)
				continue
			}
			for _, name := range slices.Sorted(maps.Keys(kv)) {
				v := kv[name]
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					b.errorf(fp+"."+name, "%s: want a string", v)
					continue
				}
				if labels == nil {
					labels = make(map[string]string, len(kv))
				}
				labels[name] = s
			}
		}
	}
	return labels
}

// filterConfig decodes per_filter_config at path: an object of raw configs
// by stream filter type.
func (b *builder) filterConfig(path string, raw json.RawMessage) map[string]json.RawMessage {
	if isNull(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		b.errorf(path, "want an object of filter configs by filter type: %v", err)
		return nil
	}
	return m
}

// regexRewriteConfig is MOSN's and Envoy's regex_rewrite.
type regexRewriteConfig struct {
	Pattern struct {
		Regex string `json:"regex"`
		// GoogleRE2 is Envoy's engine choice; Go's regexp is RE2 syntax.
		GoogleRE2 json.RawMessage `json:"google_re2"`
	} `json:"pattern"`
	Substitution string `json:"substitution"`
}

// regexRewrite decodes regex_rewrite at path,
// {"pattern": {"regex": "..."}, "substitution": "..."}, into its compiled
// pattern (unanchored: every match is replaced) and its substitution in Go's
// Regexp.Expand syntax.
func (b *builder) regexRewrite(path string, raw json.RawMessage) (*regexp.Regexp, string) {
	if isNull(raw) {
		return nil, ""
	}
	var c regexRewriteConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		b.errorf(path, `want {"pattern": {"regex": "..."}, "substitution": "..."}: %v`, err)
		return nil, ""
	}
	if c.Pattern.Regex == "" {
		b.errorf(path+".pattern.regex", "required")
		return nil, ""
	}
	re, err := regexp.Compile(c.Pattern.Regex)
	if err != nil {
		b.errorf(path+".pattern.regex", "%q: invalid regular expression: %v", c.Pattern.Regex, err)
		return nil, ""
	}
	return re, substitution(c.Substitution)
}

// substitution converts a regex_rewrite substitution to Go's Expand syntax.
// Both spellings of capture groups work: Go's "$1" and "${name}" (what MOSN,
// which uses Go's regexp, takes) and Envoy's "\1" (RE2's), which becomes
// "${1}"; "\\" is a backslash. A literal "$" is written "$$".
func substitution(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch n := s[i+1]; {
			case '0' <= n && n <= '9':
				sb.WriteString("${")
				sb.WriteByte(n)
				sb.WriteByte('}')
				i++
				continue
			case n == '\\':
				sb.WriteByte('\\')
				i++
				continue
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
