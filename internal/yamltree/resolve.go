package yamltree

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
)

// resolveFast gives the type of a plain scalar the way goyaml v2 (what
// kubectl's YAML-to-JSON conversion uses) does, for the cases that can be
// decided without doubt. It returns kind 0 when the scalar needs goyaml's
// own rules (octal and hex integers, timestamps, exponents, underscores).
func resolveFast(s string) (Kind, string) {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return Null, ""
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return Bool, "true"
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return Bool, "false"
	case "<<":
		return 0, ""
	}
	switch s[0] {
	case '.':
		// goyaml: a float if strconv can parse it (.5, .5e3), else a string
		// (".", the managedFields marker). .inf and .nan are in the table.
		// Only a digit after the dot can start a number strconv accepts.
		if (len(s) == 1 || s[1] < '0' || s[1] > '9') && !strings.HasPrefix(strings.ToLower(s), ".inf") && !strings.HasPrefix(strings.ToLower(s), ".nan") {
			return String, s
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil && !strings.HasPrefix(strings.ToLower(s), ".inf") && !strings.HasPrefix(strings.ToLower(s), ".nan") {
			return String, s
		}
		return 0, ""
	case '+', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return resolveNumeric(s)
	}
	return String, s
}

// yamlStyleFloat matches goyaml v2's own float pattern,
// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$, without a regexp:
// version strings and IP addresses ask it on every line that holds one.
func yamlStyleFloat(s string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// resolveNumeric handles scalars that start with a sign or a digit,
// following goyaml v2's order: timestamp, integer (base prefixes allowed,
// underscores removed), float, else string.
func resolveNumeric(s string) (Kind, string) {
	body := s
	if s[0] == '+' || s[0] == '-' {
		body = s[1:]
	}
	if body == "" {
		return 0, ""
	}
	if (body[0] < '0' || body[0] > '9') && body[0] != '.' && body[0] != '_' {
		return String, s // "--flag", "-x": no number starts so
	}
	if strings.IndexByte(s, '_') >= 0 {
		return 0, "" // goyaml removes underscores before parsing numbers (+_0 is 0)
	}
	if len(s) >= 8 && s[0] >= '0' && s[0] <= '9' && len(s) > 4 && s[4] == '-' {
		return 0, "" // may be a timestamp (2006-1-2...)
	}
	if allDigits(body) {
		// Leading zeros mean octal (0777) or even float (08) to goyaml v2.
		if (len(body) > 1 && body[0] == '0') || len(body) > 18 {
			return 0, ""
		}
		if s[0] == '+' {
			return Int, body
		}
		return Int, s
	}
	if len(body) >= 2 && body[0] == '0' && strings.IndexByte("xXoObB", body[1]) >= 0 {
		return 0, "" // 0x1F, 0o17, 0b101
	}
	if yamlStyleFloat(s) {
		return 0, "" // a float: goyaml parses it and JSON renders it (1.0 -> 1)
	}
	return String, s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// resolver asks goyaml v2 itself for the scalars resolveFast leaves open.
type resolver struct{}

func (resolver) slow(s string) (Kind, string, error) {
	var m map[string]any
	if err := yamlv2.Unmarshal([]byte("v: "+s), &m); err != nil || len(m) != 1 {
		return 0, "", ErrUnsupported
	}
	switch v := m["v"].(type) {
	case nil:
		return Null, "", nil
	case bool:
		return Bool, strconv.FormatBool(v), nil
	case string:
		if v != s {
			return 0, "", ErrUnsupported
		}
		return String, v, nil
	case int:
		return Int, strconv.Itoa(v), nil
	case int64:
		return Int, strconv.FormatInt(v, 10), nil
	case uint64:
		return Int, strconv.FormatUint(v, 10), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, "", ErrUnsupported
		}
		// Rendered as the YAML-to-JSON conversion renders it.
		b, err := json.Marshal(v)
		if err != nil {
			return 0, "", ErrUnsupported
		}
		return Float, string(b), nil
	}
	return 0, "", ErrUnsupported // timestamps and the like
}
