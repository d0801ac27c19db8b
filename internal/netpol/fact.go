package netpol

import (
	"fmt"

	"github.com/meshdoctor/meshdoctor/internal/analysis"
)

// Fact is the shared Evaluator, built once per run with DetectOptions:
// analyzers Require it and read it with p.ResultOf(netpol.Fact).(*Evaluator).
// Unreadable policy parts are reported as not checked.
var Fact = &analysis.Fact{
	Name:  "network-policy",
	Doc:   "Evaluates NetworkPolicy, CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy: will traffic from a peer reach a pod on a port?",
	Reads: Reads,
	Run: func(p *analysis.Pass) (any, error) {
		opt, source := DetectOptions(p.Snapshot)
		e, err := New(p.Snapshot, opt)
		if err != nil {
			return nil, fmt.Errorf("network policy evaluator (%s): %w", source, err)
		}
		e.source = source
		for _, pr := range e.Problems() {
			p.NotChecked("policy not fully evaluated: %s", pr)
		}
		return e, nil
	},
}
