package cli

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

func TestNotCheckedIn(t *testing.T) {
	notes := []analysis.Skip{
		{Code: "MD203", Reason: "subsets of DestinationRule/a/reviews: the input has no Pods or workloads in namespace b"},
		{Code: "MD203", Reason: "subsets of DestinationRule/team-0002/ledger: the input has no Pods or workloads in namespace team-0002"},
		{Code: "MD303", Reason: "workloads of PeerAuthentication/other/default: the input has no Pods or workloads of namespace other"},
		{Code: "MD101", Reason: "Secret keys were not read: run with --read-secrets"},
		{Code: "MD117", Reason: "MutatingWebhookConfiguration/istio-sidecar-injector: no Services in the input"},
		{Code: "MD304", Reason: "Pod/other/p names Secret/a/s"},
	}
	want := []string{notes[0].Reason, notes[3].Reason, notes[4].Reason, notes[5].Reason}
	var got []string
	for _, n := range notCheckedIn(notes, "a") {
		got = append(got, n.Reason)
	}
	if len(got) != len(want) {
		t.Fatalf("kept %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("kept %q, want %q", got, want)
		}
	}
}
