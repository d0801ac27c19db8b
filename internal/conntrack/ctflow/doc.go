// Package ctflow converts flows read live from the kernel over netlink with
// github.com/ti-mo/conntrack into [conntrack.Entry], the model text dumps
// are read into, so that a check runs the same on a live node as on a dump.
// It is a package of its own so that reading text does not pull in netlink.
//
// Where the two sources differ, the entry follows what `conntrack -L`
// would have printed for the flow: one of HW_OFFLOAD, OFFLOAD and ASSURED,
// states named as libnetfilter_conntrack names them, a zone only when not
// the default one.
//
// github.com/ti-mo/netfilter builds on Linux only, and so does the
// conversion; elsewhere the package is empty.
package ctflow
