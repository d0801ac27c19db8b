//go:build linux

package testnetns

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

// helperEnv names the helper a re-executed test binary runs.
const helperEnv = "MDTEST_HELPER"

// Helper is a mode of the re-executed test binary: it gets the arguments
// after the program name and returns when done; an error exits 1.
type Helper func(args []string) error

// RunHelper runs the helper $MDTEST_HELPER names and exits, or returns at
// once when the variable is unset. Call it first in TestMain. Besides the
// built-in helpers that Node starts, extra names the test package's own.
func RunHelper(extra map[string]Helper) {
	name, ok := os.LookupEnv(helperEnv)
	if !ok {
		return
	}
	builtin := map[string]Helper{"init": initHelper, "hold": holdHelper, "listen": listenHelper, "dial": dialHelper}
	h := extra[name]
	if h == nil {
		h = builtin[name]
	}
	if h == nil {
		fmt.Fprintf(os.Stderr, "testnetns: unknown helper %q\n", name)
		os.Exit(2)
	}
	if err := h(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "testnetns: helper %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// initHelper is PID 1 of a Node's PID namespace: it mounts a procfs of
// that namespace on /proc (in its own mount namespace, made private first
// so nothing propagates to the machine) and reaps orphans until killed.
func initHelper([]string) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	fmt.Println("ready")
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &ws, 0, nil); errors.Is(err, syscall.ECHILD) {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// commonFlags are the flags every process helper takes.
type commonFlags struct {
	nofile string // "soft:hard" for RLIMIT_NOFILE
	mark   int    // SO_MARK for a dialled connection
}

func parseFlags(name string, args []string) (commonFlags, []string, error) {
	var c commonFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.nofile, "nofile", "", "RLIMIT_NOFILE as soft:hard")
	fs.IntVar(&c.mark, "mark", 0, "SO_MARK of the dialled socket")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	if c.nofile != "" {
		var soft, hard uint64
		if _, err := fmt.Sscanf(c.nofile, "%d:%d", &soft, &hard); err != nil {
			return c, nil, fmt.Errorf("-nofile %q: %w", c.nofile, err)
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: soft, Max: hard}); err != nil {
			return c, nil, fmt.Errorf("setrlimit: %w", err)
		}
	}
	return c, fs.Args(), nil
}

// report prints one status line: the word, then key=value pairs with the
// process's pid (in its PID namespace), netns inode, start time (field 22
// of its stat) and open descriptors, then extra.
func report(word string, extra ...string) error {
	var ns syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &ns); err != nil {
		return err
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return err
	}
	fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s pid=%d netns=%d start=%s fds=%d", word, os.Getpid(), ns.Ino, fields[19], len(fds)-1)
	for _, e := range extra {
		line += " " + e
	}
	_, err = fmt.Println(line)
	return err
}

// holdHelper reports ready and sleeps until killed.
func holdHelper(args []string) error {
	if _, _, err := parseFlags("hold", args); err != nil {
		return err
	}
	if err := report("ready"); err != nil {
		return err
	}
	sleepForever()
	return nil
}

// listenHelper listens on each address given, reports ready, and then
// reports and keeps every connection it accepts.
func listenHelper(args []string) error {
	_, addrs, err := parseFlags("listen", args)
	if err != nil {
		return err
	}
	accepted := make(chan net.Conn)
	for _, a := range addrs {
		// tcp4 for an IPv4 address: "tcp" on 0.0.0.0 would be a
		// dual-stack socket, which ss shows as *:port.
		network := "tcp"
		if ap, err := netip.ParseAddrPort(a); err == nil && ap.Addr().Is4() {
			network = "tcp4"
		}
		l, err := net.Listen(network, a)
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
	}
	if err := report("ready"); err != nil {
		return err
	}
	// Held here: a connection nothing refers to is closed by its finalizer.
	var keep []net.Conn
	defer func() {
		for _, c := range keep {
			c.Close()
		}
	}()
	for c := range accepted {
		keep = append(keep, c)
		if err := report("accepted", "local="+c.LocalAddr().String(), "remote="+c.RemoteAddr().String()); err != nil {
			return err
		}
	}
	return nil
}

// dialHelper connects to the address given (with SO_MARK from -mark),
// reports ready with both ends, and keeps the connection.
func dialHelper(args []string) error {
	fl, addrs, err := parseFlags("dial", args)
	if err != nil {
		return err
	}
	if len(addrs) != 1 {
		return fmt.Errorf("dial: want one address, got %q", addrs)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	if fl.mark != 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, fl.mark)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", addrs[0])
	if err != nil {
		return err
	}
	defer c.Close() // keeps c referenced, so not closed by its finalizer
	if err := report("ready", "local="+c.LocalAddr().String(), "remote="+c.RemoteAddr().String(), "mark="+strconv.Itoa(fl.mark)); err != nil {
		return err
	}
	sleepForever()
	return nil
}

// sleepForever blocks until the process is killed. A pending timer keeps
// the runtime from calling a helper with nothing else to do deadlocked.
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}
