package istio

import "github.com/meshdoctor/meshdoctor/internal/analysis"

// serviceChecks: Service ports, protocols, ServiceEntries and DestinationRule hosts (MD230–MD249).
var serviceChecks = []*analysis.Analyzer{}
