// Package testnetns builds small, real "nodes" for tests: named network
// namespaces joined by veth pairs, cgroup v2 directories laid out as
// kubelet's systemd driver lays them out, and long-running processes in a
// PID namespace of their own whose init sits in a host-like netns, so a
// collector run inside it sees that netns as PID 1's.
//
// Everything it creates is named mdtest-<random> and removed in
// t.Cleanup, also when the test fails; it never changes the machine's own
// namespaces or rules. A test needs root and the programs it names: it is
// skipped without them, or fails under CI=true, where their absence means
// a broken setup (the pattern of internal/testenv).
//
// Processes are the test binary itself, re-executed as a helper: a test
// package calls RunHelper from its TestMain.
package testnetns
