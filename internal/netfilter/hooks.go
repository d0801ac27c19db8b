package netfilter

import "strings"

// Hook is a set of netfilter hooks.
type Hook uint8

// Hooks, as bits.
const (
	HookPrerouting Hook = 1 << iota
	HookInput
	HookForward
	HookOutput
	HookPostrouting
	HookIngress
	HookEgress
)

var hookNames = [...]string{"prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"}

// String lists the hooks, comma-separated, in packet order.
func (h Hook) String() string {
	var b strings.Builder
	for i, name := range hookNames {
		if h&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
	}
	return b.String()
}

// hookOf returns the hook of an iptables built-in chain name or nft hook
// keyword (any case), or 0.
func hookOf(name string) Hook {
	for i, n := range hookNames {
		if strings.EqualFold(name, n) {
			return 1 << i
		}
	}
	return 0
}

// computeHooks marks every chain reachable from a hooked chain with that
// hook. Each chain is visited at most once per hook, so loops end.
func computeHooks(t *Table) {
	var stack []*Chain
	for _, root := range t.Chains {
		h := rootHook(root)
		if h == 0 || root.Hooks&h != 0 {
			continue
		}
		root.Hooks |= h
		stack = append(stack[:0], root)
		for len(stack) > 0 {
			c := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, r := range c.Rules {
				if next := r.jump; next != nil && next.Hooks&h == 0 {
					next.Hooks |= h
					stack = append(stack, next)
				}
			}
		}
	}
}

func rootHook(c *Chain) Hook {
	if !c.Builtin {
		return 0
	}
	if c.Hook != "" {
		return hookOf(c.Hook)
	}
	return hookOf(c.Name)
}
