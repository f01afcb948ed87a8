package tartsim

import (
	"fmt"
	"os"
	"sort"
	"time"
)

// cmdPrune: tart prune --entries caches|vms --older-than N | --space-budget N (§5.12).
func cmdPrune(e *env, p *parsed) error {
	if p.has("cache-budget") {
		if p.has("space-budget") {
			return p.cmd.usageErr("--cache-budget is deprecated, please use --space-budget")
		}
		fmt.Fprintln(e.stderr, "--cache-budget is deprecated, please use --space-budget")
		p.opts["space-budget"] = p.opts["cache-budget"]
	}
	entries := p.str("entries", "caches")
	if entries != "caches" && entries != "vms" {
		return rootUsageErr(`unsupported --entries value, please specify either "caches" or "vms"`)
	}
	if !p.has("older-than") && !p.has("space-budget") && !p.flag("gc") {
		return rootUsageErr("at least one pruning criteria must be specified")
	}
	type prunable struct {
		path     string
		accessed time.Time
		size     int64
	}
	var items []prunable
	if entries == "caches" {
		for _, x := range e.home.ociEntries() {
			if rn, err := parseRemoteName(x.name); err == nil && rn.digest != "" {
				d := e.home.ociDigestDir(rn, rn.digest)
				_, al := d.sizes()
				items = append(items, prunable{d.path, x.accessed, al})
			}
		}
	} else {
		for _, x := range e.home.localEntries() {
			if x.state == stateRunning {
				continue
			}
			d := e.home.vm(x.name)
			_, al := d.sizes()
			items = append(items, prunable{d.path, x.accessed, al})
		}
	}
	if p.has("older-than") {
		limit := time.Now().Add(-time.Duration(p.uint("older-than", 0)) * 24 * time.Hour)
		for _, it := range items {
			if !it.accessed.After(limit) {
				_ = os.RemoveAll(it.path)
			}
		}
	}
	if p.has("space-budget") {
		budget := int64(p.uint("space-budget", 0)) << 30
		sort.Slice(items, func(i, j int) bool { return items[i].accessed.After(items[j].accessed) })
		var used int64
		for _, it := range items {
			if used+it.size <= budget {
				used += it.size
				continue
			}
			_ = os.RemoveAll(it.path)
		}
	}
	e.home.gcOCI()
	return nil
}
