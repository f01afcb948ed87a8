package tartsim

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cmdSet: tart set <name> ... (§5.3).
func cmdSet(e *env, p *parsed) error {
	d := e.home.vm(p.args[0])
	if err := d.open(); err != nil {
		return err
	}
	c, err := d.readConfig()
	if err != nil {
		return err
	}
	if p.has("cpu") {
		n := int(p.uint("cpu", 0))
		minCPU := max(c.CPUCountMin, 1)
		if n < minCPU {
			return failf("LessThanMinimalResourcesError: VM should have %d CPU cores at minimum (requested %d)", minCPU, n)
		}
		c.CPUCount = n
	}
	if p.has("memory") {
		n := p.uint("memory", 0) * 1024 * 1024
		minMem := max(c.MemorySizeMin, 1<<30)
		if n < minMem {
			return failf("LessThanMinimalResourcesError: VM should have %d bytes of memory at minimum (requested %d)", minMem, n)
		}
		c.MemorySize = n
	}
	if p.has("display") {
		disp, ok := parseDisplay(p.str("display", ""))
		if !ok {
			return p.cmd.usageErr(fmt.Sprintf("The value '%s' is invalid for '--display <display>'", p.str("display", "")))
		}
		c.Display = disp
	}
	// Every set invocation assigns displayRefit: unset flag removes the key.
	if v, ok := p.flagSet("display-refit"); ok {
		c.DisplayRefit = &v
	} else {
		c.DisplayRefit = nil
	}
	if p.flag("random-mac") {
		c.MACAddress = randomMAC()
	}
	if p.has("disk") {
		if err := e.replaceDisk(d, p.str("disk", "")); err != nil {
			return failf("%v", err)
		}
	}
	if err := d.writeConfig(c); err != nil {
		return failf("%v", err)
	}
	if p.has("disk-size") {
		want := int64(p.uint("disk-size", 0)) * 1_000_000_000
		st, err := os.Stat(d.diskPath())
		if err != nil {
			return failf("%v", err)
		}
		if want < st.Size() {
			return runtimeFailf("new disk size of %s should be larger than the current disk size of %s", byteCount(want), byteCount(st.Size()))
		}
		if err := os.Truncate(d.diskPath(), want); err != nil {
			return failf("%v", err)
		}
	}
	return nil
}

// replaceDisk copies src into a locked tmp/set-disk-<uuid> and moves it over
// the VM's disk.img, as tart does: a failed copy leaves the old disk intact.
func (e *env) replaceDisk(d *vmDir, src string) error {
	te, err := e.home.newTmpFile("set-disk-" + uuid())
	if err != nil {
		return err
	}
	defer te.release()
	if err := copySparse(src, te.path); err != nil {
		return err
	}
	return os.Rename(te.path, d.diskPath())
}

// parseDisplay parses <W>x<H>[pt|px].
func parseDisplay(s string) (vmDisplay, bool) {
	unit := ""
	for _, u := range []string{"pt", "px"} {
		if strings.HasSuffix(s, u) {
			unit, s = u, strings.TrimSuffix(s, u)
		}
	}
	w, h, ok := strings.Cut(s, "x")
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil || wi <= 0 || hi <= 0 {
		return vmDisplay{}, false
	}
	return vmDisplay{Width: wi, Height: hi, Unit: unit}, true
}

// byteCount formats like ByteCountFormatter (.file, decimal units): "50 GB".
func byteCount(n int64) string {
	units := []string{"bytes", "KB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + " " + units[i]
}
