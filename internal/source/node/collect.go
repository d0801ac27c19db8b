package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's starttime: fixed at
// 100 by the kernel's ABI on every Linux architecture, whatever HZ the
// kernel was built with.
const clockTicks = 100

// netnsWorkers bounds the namespaces dumped at once: each runs a dozen
// short commands, so a few in parallel hide their start-up latency
// without crowding a node's CPUs.
const netnsWorkers = 4

// collector holds one Collect call's state.
type collector struct {
	opts  Options
	dir   string
	tools map[string]string
	errs  stepErrors
}

// Collect writes one node's folder (dir is .../nodes/<name>) and returns
// the step errors it also wrote to errors.txt. The error is fatal: the
// process list could not be read, the output could not be written, or ctx
// ended.
func Collect(ctx context.Context, opts Options, dir string) ([]error, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &collector{opts: opts, dir: dir}
	log := opts.Log
	start := time.Now()
	if err := os.MkdirAll(filepath.Join(dir, "netns"), 0o755); err != nil {
		return nil, fmt.Errorf("node dump: %w", err)
	}
	meta := Meta{
		Node:       opts.NodeName,
		Collected:  start.UTC().Format(time.RFC3339),
		Tool:       opts.Tool,
		ClockTicks: clockTicks,
	}
	c.readKernel(&meta)

	host, fallback, err := findHostNetns(opts.Proc, opts.HostNetNS)
	if err != nil {
		c.errs.add("host netns", err)
	} else {
		meta.HostNetns, meta.HostNetnsFrom = &host.id, host.from
		if fallback != nil {
			c.errs.add("host netns", fallback)
		}
	}

	scan, err := scanProcs(ctx, opts.Proc)
	if err != nil {
		return nil, fmt.Errorf("node dump: %w", err)
	}
	for _, e := range scan.errs {
		c.errs.add("procs.json", e)
	}
	if scan.more > 0 {
		c.errs.add("procs.json", fmt.Errorf("%d more process read errors", scan.more))
	}
	if err := writeProcs(filepath.Join(dir, "procs.json"), scan.procs); err != nil {
		return nil, fmt.Errorf("node dump: %w", err)
	}
	log.Info("processes read", "count", len(scan.procs), "elapsed", time.Since(start))

	c.findTools(ctx, &meta)
	var hostPtr *hostNetns
	if meta.HostNetns != nil {
		hostPtr = &host
	}
	jobs := netnsJobs(scan.procs, hostPtr, opts.Proc)
	if err := c.dumpAll(ctx, jobs); err != nil {
		return nil, fmt.Errorf("node dump: %w", err)
	}
	log.Info("network namespaces dumped", "count", len(jobs), "elapsed", time.Since(start))

	if err := writeJSON(filepath.Join(dir, "meta.json"), meta, true); err != nil {
		return nil, fmt.Errorf("node dump: %w", err)
	}
	errs := c.errs.sorted()
	if err := writeErrorsFile(filepath.Join(dir, "errors.txt"), errs); err != nil {
		return nil, fmt.Errorf("node dump: %w", err)
	}
	return errs, nil
}

// findTools resolves the programs, reports the missing ones once, and
// records the backends' versions in meta.
func (c *collector) findTools(ctx context.Context, meta *Meta) {
	tools, missing := lookTools()
	c.tools = tools
	for _, s := range netnsSteps {
		if err, ok := missing[s.argv[0]]; ok {
			c.errs.add(s.file, fmt.Errorf("not collected in any netns: %w", err))
		}
	}
	vs, verrs := c.versions(ctx)
	meta.Backends = vs
	for _, t := range backendTools {
		if err, ok := missing[t]; ok {
			c.errs.add("backends/"+t, err)
		} else if err, ok := verrs[t]; ok {
			c.errs.add("backends/"+t, err)
		}
	}
}

// dumpAll dumps the namespaces, a few at a time. The first output error
// stops the others.
func (c *collector) dumpAll(ctx context.Context, jobs []netnsJob) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, netnsWorkers)
	var wg sync.WaitGroup
	for _, job := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c.opts.Log.Debug("dumping netns", "inode", job.id.Inode, "host", job.host, "pids", len(job.pids))
			if err := c.dumpNetns(ctx, job); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}
