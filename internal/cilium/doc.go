// Package cilium reads the text and JSON that Cilium's and Hubble's command
// line tools print, as found in a meshdoctor bundle
// (cilium/<node>/<command>.txt|json) or handed over loose:
//
//   - `hubble observe -o json` / `-o jsonpb` (one JSON object a line, bare
//     flows or GetFlowsResponse wrappers): [ParseHubbleJSON]
//   - `hubble observe` compact (default) text: [ParseHubbleText]
//   - `cilium monitor --type drop` (and cilium-dbg monitor) drop lines:
//     [ParseMonitor]
//   - `cilium endpoint list`, as a table or `-o json`: [ParseEndpointList],
//     [ParseEndpointJSON]
//   - `cilium bpf policy get <id>` and `--all`: [ParseBPFPolicy]
//   - `cilium bpf ct list global`: [ParseCTList]
//   - `cilium status` (cilium-dbg status, with or without --verbose):
//     [ParseStatus]
//
// [Detect] tells which of these a file holds from its content (a file name
// is an optional hint, see [DetectWithName]), and [Parse] runs the right
// parser.
//
// Every parser is pure: it never panics, never stops at a bad line, and
// returns what it could read together with [*LineError]s that carry the
// 1-based line number of the input. Every record keeps its own line number
// so that findings can cite file:line. Values are kept as the tools printed
// them (a drop reason's code and text, a verdict word); explaining them is
// left to the knowledge base. Security identities are [Identity] values,
// which know Cilium's reserved identities (world, remote-node, ...).
package cilium
