package ciliumdump

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/cilium"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

const hubbleLine = `Mar  2 09:58:01.100: 10.244.1.7:40112 (world) -> shop/api-1:8080 (ID:23456) Policy denied DROPPED (TCP Flags: SYN)`

func TestRead(t *testing.T) {
	outs, errs := Read([]files.Member{
		{Name: "b/cilium/c1/hubble-observe.txt", Rel: "cilium/c1/hubble-observe.txt", Data: []byte(hubbleLine + "\nnot a flow at all\n" + hubbleLine + "\n")},
		{Name: "b/cilium/stray.txt", Rel: "cilium/stray.txt", Data: []byte(hubbleLine)},
		{Name: "b/cilium/c1/notes.txt", Rel: "cilium/c1/notes.txt", Data: []byte("remember to collect the flows\n")},
	})
	if len(outs) != 1 {
		t.Fatalf("want one output, got %d (errors %v)", len(outs), errs)
	}
	o := outs[0]
	if o.Node != "c1" || o.File != "b/cilium/c1/hubble-observe.txt" || o.Kind != cilium.KindHubbleText || len(o.Flows) != 2 {
		t.Errorf("output: node %q file %q kind %q flows %d", o.Node, o.File, o.Kind, len(o.Flows))
	}
	if got := o.Line(3); got != hubbleLine {
		t.Errorf("Line(3) = %q", got)
	}
	if o.Line(9) != "" {
		t.Error("a line past the end should be empty")
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"b/cilium/c1/hubble-observe.txt:2",                          // the bad line, the rest kept
		"b/cilium/stray.txt: not a Cilium command's output: bundle", // not under a node
		"b/cilium/c1/notes.txt: not recognised",                     // neither content nor name tells
	}
	if len(got) != len(want) {
		t.Fatalf("errors %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
}

func TestSplitLoose(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flows := write("flows.txt", hubbleLine+"\n")
	jsonFlows := write("drops.json", `{"flow":{"verdict":"DROPPED","drop_reason":133,"IP":{"source":"10.0.0.1","destination":"10.0.0.2"}},"node_name":"n1"}`+"\n")
	manifest := write("app.json", `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}`)
	yamlFile := write("cilium-status.yaml", "Cilium: Ok   1.14.5\nKVStore: Ok   Disabled\n")
	paths := []string{"-", flows, dir, manifest, jsonFlows, yamlFile, "bundle.tar.gz", filepath.Join(dir, "missing.txt")}
	rest, outs, errs := SplitLoose(paths)
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	if len(outs) != 2 || outs[0].File != flows || outs[1].File != jsonFlows || outs[0].Node != "" || len(outs[1].Flows) != 1 {
		t.Fatalf("outputs: %+v", outs)
	}
	wantRest := []string{"-", dir, manifest, yamlFile, "bundle.tar.gz", filepath.Join(dir, "missing.txt")}
	if strings.Join(rest, "\n") != strings.Join(wantRest, "\n") {
		t.Errorf("rest %q, want %q", rest, wantRest)
	}
}

// TestNoManifestLooksLikeCiliumOutput: no Kubernetes manifest of the
// examples or of any testdata is taken for a Cilium command's output (it
// would vanish from the analysis). YAML is never even looked at by
// SplitLoose; it is checked too so that the rule's removal stays safe.
func TestNoManifestLooksLikeCiliumOutput(t *testing.T) {
	n := 0
	for _, root := range []string{"../../../examples", "../../../internal", "../../../test"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			ext := filepath.Ext(p)
			if err != nil || d.IsDir() || ext != ".json" && ext != ".yaml" && ext != ".yml" || strings.Contains(p, "/cilium/") || strings.Contains(p, "/fuzz/") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !strings.Contains(string(data), "apiVersion") {
				return nil
			}
			n++
			if Recognise(data) {
				t.Errorf("%s: a manifest recognised as %s output", p, cilium.Detect(data))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no manifest found to check")
	}
}

// FuzzRead: any member path and content give an output or errors naming
// the member, never a panic; an output's node is the folder's name.
func FuzzRead(f *testing.F) {
	f.Add("cilium/n1/flows.txt", []byte(hubbleLine))
	f.Add("cilium//x.txt", []byte{})
	f.Add("cilium/n1/endpoint-list.txt", []byte("ENDPOINT POLICY IDENTITY STATUS\n\x00\xff"))
	f.Fuzz(func(t *testing.T, rel string, data []byte) {
		outs, errs := Read([]files.Member{{Name: "b/" + rel, Rel: rel, Data: data}})
		if len(outs) > 1 || len(outs)+len(errs) == 0 {
			t.Fatalf("%q: %d outputs and %d errors", rel, len(outs), len(errs))
		}
		for _, e := range errs {
			if e.Pos.File != "b/"+rel {
				t.Errorf("error at %q, want the member", e.Pos.File)
			}
		}
		for _, o := range outs {
			if parts := strings.Split(rel, "/"); o.Node != parts[1] {
				t.Errorf("node %q from %q", o.Node, rel)
			}
		}
	})
}
