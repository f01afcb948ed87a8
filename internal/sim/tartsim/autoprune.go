package tartsim

import (
	"os"
	"sort"
	"strconv"
)

// reclaimIfNeeded is tart's automatic pruning before pull and clone
// (tart-cli.md §5.12): when the bytes needed reach the volume's free
// space, least recently accessed OCI cache entries (never keep) are deleted
// until the shortfall is covered; skipped when the whole cache is smaller
// than the shortfall, and disabled by the mere presence of TART_NO_AUTO_PRUNE.
//
// The simulator has no real shortage: TART_SIM_FREE_SPACE_GB sets the free
// space it pretends to have (unset = unlimited), and an entry counts with
// its apparent size, as if the sparse disk were fully allocated.
func (e *env) reclaimIfNeeded(required int64, keep string) {
	if _, off := e.lookup("TART_NO_AUTO_PRUNE"); off {
		return
	}
	gb, err := strconv.ParseInt(e.getenv("TART_SIM_FREE_SPACE_GB"), 10, 64)
	if err != nil {
		return
	}
	free := gb * 1_000_000_000
	if required < free {
		return
	}
	shortfall := required - free
	type entry struct {
		d    *vmDir
		size int64
	}
	var entries []entry
	var total int64
	for _, x := range e.home.ociEntries() {
		rn, err := parseRemoteName(x.name)
		if err != nil || rn.digest == "" {
			continue
		}
		d := e.home.ociDigestDir(rn, rn.digest)
		if d.path == keep {
			continue
		}
		size, _ := d.sizes()
		entries = append(entries, entry{d, size})
		total += size
	}
	if total < shortfall {
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].d.accessed().Before(entries[j].d.accessed()) })
	var freed int64
	for _, en := range entries {
		if freed >= shortfall {
			break
		}
		if os.RemoveAll(en.d.path) == nil {
			freed += en.size
		}
	}
	e.home.gcOCI()
}
