package yamltree

import (
	"encoding/json"
	"reflect"
	"testing"
)

// sameJSON requires ParseJSON to agree with encoding/json: the same value
// when both accept, an error when encoding/json rejects.
func sameJSON(t testing.TB, s string) {
	t.Helper()
	valid := json.Valid([]byte(s))
	n, _, err := ParseJSON([]byte(s))
	if valid != (err == nil) {
		t.Fatalf("%q: json.Valid %v, ParseJSON error %v", s, valid, err)
	}
	var ref any
	if err != nil || json.Unmarshal([]byte(s), &ref) != nil {
		return // invalid, or out of float64's range: nothing to compare
	}
	var got any
	if err := json.Unmarshal(n.AppendJSON(nil), &got); err != nil {
		t.Fatalf("%q: AppendJSON wrote invalid JSON: %v", s, err)
	}
	if !reflect.DeepEqual(ref, got) {
		t.Fatalf("%q: encoding/json %#v, ParseJSON %#v", s, ref, got)
	}
}

func TestParseJSON(t *testing.T) {
	for _, s := range []string{
		`{"a": 1, "b": [true, false, null, -1.5e3, "x\u00e9\n\"\\\/"], "c": {}}`,
		`[]`, `"\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `{"a":1,"a":2}`, `0`, `-0.0`,
		`{"a" 1}`, `[1,]`, `01`, `1.`, `"\x"`, "\"a\nb\"", `{"a":1}x`, ``, `[`,
	} {
		sameJSON(t, s)
	}
	_, dups, _ := ParseJSON([]byte(`{"x":{"a":1,"a":2},"l":[{"k":1,"k":2}]}`))
	if len(dups) != 2 || len(dups[1]) != 3 || dups[1][1] != 0 {
		t.Errorf("duplicates %v", dups)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"]}`, `"\u00e9"`, `[true,null]`, `{"a":{"b":{}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameJSON(t, s) })
}
