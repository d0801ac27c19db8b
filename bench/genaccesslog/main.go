// Command genaccesslog writes a generated proxy access log of a given size
// (Istio TEXT or JSON) for bench/accesslog.sh.
//
//	genaccesslog -size 1G -format text -out /tmp/access.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/accesslog/accesslogtest"
)

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func main() {
	size := flag.String("size", "100M", "approximate output size (K, M, G suffixes)")
	format := flag.String("format", "text", "text (Istio TEXT) or json (Istio JSON)")
	out := flag.String("out", "-", "output file, - for stdout")
	seed := flag.Uint64("seed", 1, "random seed")
	clusters := flag.Int("clusters", 300, "distinct services")
	prefix := flag.Bool("prefix", false, "wrap lines as kubectl logs --prefix does")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "genaccesslog: bad -size:", *size)
		os.Exit(2)
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintln(os.Stderr, "genaccesslog: -format is text or json")
		os.Exit(2)
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "genaccesslog:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := accesslogtest.New(accesslogtest.Options{JSON: *format == "json", Seed: *seed, Clusters: *clusters, Prefix: *prefix})
	var buf []byte
	var written int64
	for written < n {
		buf = g.Append(buf[:0])
		if _, err := bw.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, "genaccesslog:", err)
			os.Exit(1)
		}
		written += int64(len(buf))
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genaccesslog:", err)
		os.Exit(1)
	}
}
