package tartdevice

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

// listEvery bounds how often the plugin runs `tart list` to find macOS VMs
// that hold no slot (a manual `tart run`): a process per call, so less
// often than the slot probes.
const listEvery = time.Second

// untracked finds running macOS VMs in TART_HOME that hold no slot file.
// Every Tartan tool runs its VMs with a slot, so these were started by
// hand (`tart run`) or by another tool; each one uses up a slot in
// Virtualization.framework's count all the same.
type untracked struct {
	client *tart.Client

	mu     sync.Mutex
	os     map[string]string // VM name -> guest OS (never changes)
	last   time.Time
	cached []string
}

// names returns the untracked running macOS VMs, sorted; at most one
// `tart list` per listEvery (the last answer in between).
func (u *untracked) names(ctx context.Context, holders []slots.HolderInfo) []string {
	if u == nil || u.client == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if time.Since(u.last) < listEvery {
		return u.cached
	}
	u.last = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	vms, err := u.client.List(ctx, tart.ListOptions{Source: "local"})
	if err != nil {
		return u.cached // best effort: the slots are the authority
	}
	held := map[string]bool{}
	for _, h := range holders {
		held[h.VM] = true
	}
	var out []string
	for _, vm := range vms {
		if !vm.Running || held[vm.Name] {
			continue
		}
		guestOS, ok := u.os[vm.Name]
		if !ok {
			info, err := u.client.Get(ctx, vm.Name)
			if err != nil {
				continue
			}
			guestOS = info.OS
			u.os[vm.Name] = guestOS
		}
		if k, err := slots.KindForOS(guestOS); err == nil && k == slots.KindMacOS {
			out = append(out, vm.Name)
		}
	}
	sort.Strings(out)
	u.cached = out
	return out
}
