package logdump

import (
	"bytes"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

func TestRead(t *testing.T) {
	logs, errs := Read([]files.Member{
		{Name: "b/logs/istio-system/istio-cni-node-x/install-cni.log", Rel: "logs/istio-system/istio-cni-node-x/install-cni.log", Data: []byte("a\r\nb\nc")},
		{Name: "b/logs/istio-system/stray.log", Rel: "logs/istio-system/stray.log"},
		{Name: "b/logs/ns/pod/.log", Rel: "logs/ns/pod/.log"},
	})
	if len(logs) != 1 || len(errs) != 2 {
		t.Fatalf("got %d logs, %d errors (%v)", len(logs), len(errs), errs)
	}
	l := logs[0]
	if l.Namespace != "istio-system" || l.Pod != "istio-cni-node-x" || l.Container != "install-cni" || l.File != "b/logs/istio-system/istio-cni-node-x/install-cni.log" {
		t.Errorf("log identity: %+v", l)
	}
	var got []string
	for n, text := range l.Lines {
		got = append(got, string(rune('0'+n))+":"+string(text))
	}
	if want := []string{"1:a", "2:b", "3:c"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("lines %q, want %q", got, want)
	}
	if errs[0].Pos.File != "b/logs/istio-system/stray.log" {
		t.Errorf("error position %v", errs[0].Pos)
	}
}

// FuzzRead: any member path and content give a log or an error naming the
// member, never a panic, and a log's lines never hold a line end.
func FuzzRead(f *testing.F) {
	f.Add("logs/ns/pod/c.log", []byte("a\r\nb\n"))
	f.Add("logs/ns/pod/.log", []byte{})
	f.Add("logs//pod/c.log", []byte("\n\n\x00"))
	f.Fuzz(func(t *testing.T, rel string, data []byte) {
		logs, errs := Read([]files.Member{{Name: "b/" + rel, Rel: rel, Data: data}})
		if len(logs)+len(errs) != 1 {
			t.Fatalf("%q: %d logs and %d errors, want one of them", rel, len(logs), len(errs))
		}
		for _, e := range errs {
			if e.Pos.File != "b/"+rel {
				t.Errorf("error at %q, want the member", e.Pos.File)
			}
		}
		for _, l := range logs {
			for _, text := range l.Lines {
				if bytes.ContainsAny(text, "\n") {
					t.Errorf("line %q holds a line feed", text)
				}
			}
		}
	})
}
