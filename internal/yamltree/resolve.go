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
		if _, err := strconv.ParseFloat(s, 64); err != nil && !strings.HasPrefix(strings.ToLower(s), ".inf") && !strings.HasPrefix(strings.ToLower(s), ".nan") {
			return String, s
		}
		return 0, ""
	case '+', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return resolveNumeric(s)
	}
	return String, s
}

// resolveNumeric handles scalars that start with a sign or a digit.
func resolveNumeric(s string) (Kind, string) {
	digits, dots, other := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		case c == '+' || c == '-':
			if i != 0 {
				other = true
			}
		default:
			other = true
			// A character no number or timestamp can hold: a plain string
			// (100m, 10Gi, 3s).
			if !canBeNumeric(c) {
				return String, s
			}
		}
	}
	if other || digits == 0 {
		return 0, ""
	}
	body := s
	if s[0] == '+' || s[0] == '-' {
		body = s[1:]
	}
	if dots == 0 {
		// Leading zeros mean octal (0777) or even float (08) to goyaml v2.
		if (len(body) > 1 && body[0] == '0') || len(body) > 18 || body == "" {
			return 0, ""
		}
		if s[0] == '+' {
			return Int, body
		}
		return Int, s
	}
	if dots == 1 {
		// A float: goyaml parses it and JSON renders it (1.0 becomes 1).
		return 0, ""
	}
	// Several dots and nothing else (1.24.2): no int, float or timestamp.
	return String, s
}

func canBeNumeric(c byte) bool {
	switch c {
	case '_', ':', ' ', 'e', 'E', 'x', 'X', 'o', 'O', 'b', 'B', 't', 'T', 'z', 'Z',
		'a', 'A', 'c', 'C', 'd', 'D', 'f', 'F':
		return true
	}
	return false
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
