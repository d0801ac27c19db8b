package netfilter

// classify sets the owner of every chain and rule.
//
// A chain is owned by whoever its name (or, for native nft tables, its
// table) points to. A chain with an unknown name inherits the owner of the
// chains that jump to it when they agree, or the owner its rules' comments
// name. Built-in chains are OwnerBuiltin; each of their rules is owned by
// the chain it jumps to, else by what its comment names. Rules in owned
// chains belong to the chain's owner.
func classify(rs *RuleSet) {
	ambient := hasAmbientInpodChains(rs)
	for _, t := range rs.Tables {
		var unknown []*Chain
		for _, c := range t.Chains {
			c.Owner = chainOwnerIn(t, c, ambient)
			if c.Owner == OwnerUnknown {
				unknown = append(unknown, c)
			}
		}
		if len(unknown) > 0 {
			inheritOwners(t, unknown)
		}
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				r.Owner = ruleOwner(c, r)
			}
		}
	}
}

func chainOwnerIn(t *Table, c *Chain, ambient bool) Owner {
	if o := nftTableOwner(t.Name); o != OwnerUnknown {
		// Istio's host-side probe SNAT shares the istio-ambient-nat table
		// with the in-pod chains, in its own postrouting chain.
		if o == OwnerIstioAmbientPod && c.Builtin && hookOf(c.Hook) == HookPostrouting {
			return OwnerIstioAmbientHost
		}
		return o
	}
	if c.Builtin {
		return OwnerBuiltin
	}
	if c.Name == chainIstioOutput {
		return istioOutputOwner(t, c, ambient)
	}
	return ChainOwner(c.Name)
}

// istioOutputOwner decides between sidecar and ambient in-pod capture,
// which both create ISTIO_OUTPUT.
func istioOutputOwner(t *Table, c *Chain, ambient bool) Owner {
	if t.Name == "mangle" || t.Name == "raw" {
		return OwnerIstioAmbientPod // sidecar capture has no ISTIO_OUTPUT there
	}
	for _, r := range c.Rules {
		if j := r.Target.Name; j == "ISTIO_REDIRECT" || j == "ISTIO_IN_REDIRECT" {
			return OwnerIstioSidecar
		}
		if _, ok := r.Match("owner"); ok {
			return OwnerIstioSidecar // sidecar exempts the proxy by uid/gid 1337
		}
		for _, m := range r.MarksRead() {
			if m.Mask == ambientMarkMask {
				return OwnerIstioAmbientPod
			}
		}
	}
	if ambient {
		return OwnerIstioAmbientPod
	}
	return OwnerIstioSidecar
}

// ambientMarkMask is the mask of ambient's in-pod marks 0x539 and 0x111.
const ambientMarkMask = 0xfff

func hasAmbientInpodChains(rs *RuleSet) bool {
	for _, t := range rs.Tables {
		if t.Chain(chainIstioPrert) != nil {
			return true
		}
	}
	return false
}

// inheritOwners gives each chain of unknown owner the single owner of the
// chains that jump to it, or failing that the owner its comments name.
// A few rounds cover chains reached through other unknown chains; the
// bound keeps hostile input (long jump ladders) linear.
func inheritOwners(t *Table, unknown []*Chain) {
	callers := make(map[*Chain]Owner, len(unknown))
	const conflict = Owner(255)
	for round, changed := 0, true; changed && round < inheritRounds; round++ {
		changed = false
		clear(callers)
		for _, c := range t.Chains {
			if !c.Owner.IsComponent() {
				continue
			}
			for _, r := range c.Rules {
				j := r.jump
				if j == nil || j.Owner != OwnerUnknown {
					continue
				}
				if prev, seen := callers[j]; !seen {
					callers[j] = c.Owner
				} else if prev != c.Owner {
					callers[j] = conflict
				}
			}
		}
		for _, c := range unknown {
			if c.Owner != OwnerUnknown {
				continue
			}
			if o := callers[c]; o != conflict && o.IsComponent() {
				c.Owner, changed = o, true
			} else if o := commentsOwner(c); o.IsComponent() {
				c.Owner, changed = o, true
			}
		}
	}
}

const inheritRounds = 4

func commentsOwner(c *Chain) Owner {
	for _, r := range c.Rules {
		if o := commentOwner(r.Comment()); o != OwnerUnknown {
			return o
		}
	}
	return OwnerUnknown
}

func ruleOwner(c *Chain, r *Rule) Owner {
	if c.Owner.IsComponent() {
		return c.Owner
	}
	if j := r.jump; j != nil && j.Owner.IsComponent() {
		return j.Owner
	}
	return commentOwner(r.Comment())
}
