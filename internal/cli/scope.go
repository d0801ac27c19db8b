package cli

import (
	"regexp"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

// objectRefRE finds the namespaced objects a note names (Kind/ns/name).
var objectRefRE = regexp.MustCompile(`\b[A-Z][A-Za-z]*/([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)/[a-z0-9]`)

// notCheckedIn keeps the notes that concern namespace ns: those naming an
// object of ns, or no namespaced object at all. With -n the checks still
// run over the objects read everywhere (Istio's, Services), and those of
// the namespaces not read would each say their pods were not checked:
// thousands of notes about namespaces the user did not ask about.
func notCheckedIn(notes []analysis.Skip, ns string) []analysis.Skip {
	out := notes[:0]
	for _, n := range notes {
		refs := objectRefRE.FindAllStringSubmatch(n.Reason, -1)
		keep := len(refs) == 0
		for _, r := range refs {
			keep = keep || r[1] == ns
		}
		if keep {
			out = append(out, n)
		}
	}
	return out
}
