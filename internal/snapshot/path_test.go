package snapshot

import "testing"

func TestPathRoundTrip(t *testing.T) {
	cases := []struct {
		path Path
		text string
		ptr  string
	}{
		{P("spec", "containers", 0, "env", 3), ".spec.containers[0].env[3]", "/spec/containers/0/env/3"},
		{P("metadata", "labels", "app.kubernetes.io/name"), `.metadata.labels["app.kubernetes.io/name"]`, "/metadata/labels/app.kubernetes.io~1name"},
		{P("data", ""), `.data[""]`, "/data/"},
		{P("data", `a"]b`), `.data["a\"]b"]`, `/data/a"]b`},
		{P("data", "12"), `.data["12"]`, "/data/12"},
		{P("a~b"), ".a~b", "/a~0b"},
	}
	for _, c := range cases {
		if got := c.path.String(); got != c.text {
			t.Errorf("%#v.String() = %s, want %s", c.path, got, c.text)
		}
		if got := ParsePath(c.text).String(); got != c.text {
			t.Errorf("ParsePath(%s) renders %s", c.text, got)
		}
		if got := c.path.JSONPointer(); got != c.ptr {
			t.Errorf("%s pointer %s, want %s", c.text, got, c.ptr)
		}
	}
	if got := ParsePath("spec.template.spec.containers[0].foo"); got.String() != ".spec.template.spec.containers[0].foo" || got[4] != 0 {
		t.Errorf("strict-decoding form parsed as %#v", got)
	}
}
