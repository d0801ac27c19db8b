// Command accesslogscan runs accesslog.Scan over files for
// bench/accesslog.sh and prints the groups, the throughput and the peak RSS.
//
//	accesslogscan [-workers N] [-top N] FILE...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/accesslog"
)

func main() {
	workers := flag.Int("workers", 0, "parsing workers (0: GOMAXPROCS)")
	top := flag.Int("top", 10, "groups to print")
	flag.Parse()
	var inputs []accesslog.Input
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "accesslogscan:", err)
			os.Exit(2)
		}
		defer f.Close()
		inputs = append(inputs, accesslog.Input{Name: name, R: f})
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	s := accesslog.Scanner{Workers: *workers}
	sum, err := s.Scan(context.Background(), inputs)
	elapsed := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if err != nil {
		fmt.Fprintln(os.Stderr, "accesslogscan:", err)
	}
	for i, g := range sum.Groups {
		if i == *top {
			fmt.Printf("... %d more groups\n", len(sum.Groups)-*top)
			break
		}
		fmt.Printf("%10d  %s  (failures %d; first %s, last %s)\n", g.Count, g.Key, g.Failures, g.First, g.Last)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // Maxrss is in KiB on Linux
	fmt.Printf("lines %d matched %d unmatched %d groups %d formats %v\n", sum.Lines, sum.Matched, sum.Unmatched, len(sum.Groups), sum.Formats)
	mallocs := after.Mallocs - before.Mallocs
	fmt.Printf("bytes %d in %.3f s = %.3f GB/s; peak RSS %d MB; %d allocations (%.4f a line)\n", sum.Bytes, elapsed.Seconds(), float64(sum.Bytes)/elapsed.Seconds()/1e9, ru.Maxrss/1024, mallocs, float64(mallocs)/float64(max(sum.Lines, 1)))
	if err != nil {
		os.Exit(2)
	}
}
