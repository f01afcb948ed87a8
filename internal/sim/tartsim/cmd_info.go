package tartsim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// cmdGet: tart get <name> [--format text|json] (§5.4, §6).
func cmdGet(e *env, p *parsed) error {
	d := e.home.vm(p.args[0])
	if err := d.open(); err != nil {
		return err
	}
	c, err := d.readConfig()
	if err != nil {
		return err
	}
	apparent, allocated := d.sizes()
	st := d.state()
	size := fmt.Sprintf("%.3f", float64(allocated)/1e9)
	mem := int(c.MemorySize / 1024 / 1024)
	disk := int(apparent / 1e9)
	o := fieldsFor(e.version(), getFields, object{
		{"OS", c.OS}, {"CPU", c.CPUCount}, {"Memory", mem}, {"Disk", disk},
		{"DiskFormat", c.DiskFormat}, {"Size", size}, {"Display", c.displayString()},
		{"Running", st == stateRunning}, {"State", st},
	})
	if p.str("format", "text") == "json" {
		fmt.Fprintln(e.stdout, swiftJSON(o))
		return nil
	}
	fmt.Fprintln(e.stdout, tableOf([]object{o}))
	return nil
}

// listEntry is one row of tart list.
type listEntry struct {
	source, name string
	disk, size   int64
	accessed     time.Time
	state        string
}

// localEntries lists initialized VMs in vms/, sorted by name.
func (h *home) localEntries() []listEntry {
	ents, _ := os.ReadDir(h.vmsDir())
	var out []listEntry
	for _, ent := range ents {
		d := h.vm(ent.Name())
		if !ent.IsDir() || !d.initialized() {
			continue
		}
		a, al := d.sizes()
		out = append(out, listEntry{"local", ent.Name(), a / 1e9, al / 1e9, d.accessed(), d.state()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// ociEntries lists the cache: tag symlinks as host/ns:tag and digest dirs as host/ns@sha256:...
func (h *home) ociEntries() []listEntry {
	var out []listEntry
	root := h.ociDir()
	_ = filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
		if err != nil || path == root {
			return nil
		}
		base := de.Name()
		isLink := de.Type()&os.ModeSymlink != 0
		isDigest := de.IsDir() && strings.HasPrefix(base, "sha256:")
		if !isLink && !isDigest {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		parts := strings.SplitN(filepath.ToSlash(rel), "/", 2)
		if len(parts) != 2 {
			return nil
		}
		host := strings.ReplaceAll(parts[0], "%3A", ":")
		name := host + "/" + parts[1] + ":" + base
		if isDigest {
			name = host + "/" + parts[1] + "@" + base
		}
		d := &vmDir{name: name, path: path}
		if !d.initialized() {
			return nil
		}
		a, al := d.sizes()
		out = append(out, listEntry{"OCI", name, a / 1e9, al / 1e9, d.accessed(), d.state()})
		if isDigest {
			return filepath.SkipDir
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// cmdList: tart list [--source local|oci] [--format text|json] [-q] (§5.5, §6).
func cmdList(e *env, p *parsed) error {
	src := p.str("source", "")
	if src != "" && src != "local" && src != "oci" {
		return p.cmd.usageErr(fmt.Sprintf("'%s' is not a valid <source>", src))
	}
	var ents []listEntry
	if src == "" || src == "local" {
		ents = append(ents, e.home.localEntries()...)
	}
	if src == "" || src == "oci" {
		ents = append(ents, e.home.ociEntries()...)
	}
	if p.flag("quiet") {
		for _, x := range ents {
			fmt.Fprintln(e.stdout, x.name)
		}
		return nil
	}
	now := time.Now()
	json := p.str("format", "text") == "json"
	var rows []object
	for _, x := range ents {
		accessed := x.accessed.UTC().Format("2006-01-02T15:04:05Z")
		if !json {
			accessed = relativeTime(now, x.accessed)
		}
		rows = append(rows, fieldsFor(e.version(), listFields, object{
			{"Source", x.source}, {"Name", x.name}, {"Disk", x.disk}, {"Size", x.size},
			{"SizeOnDisk", x.size}, {"Accessed", accessed},
			{"Running", x.state == stateRunning}, {"State", x.state},
		}))
	}
	if json {
		arr := []any{}
		for _, r := range rows {
			arr = append(arr, r)
		}
		fmt.Fprintln(e.stdout, swiftJSON(arr))
		return nil
	}
	fmt.Fprintln(e.stdout, tableOf(rows))
	return nil
}

// relativeTime mimics RelativeDateTimeFormatter .full in English.
func relativeTime(now, t time.Time) string {
	d := now.Sub(t)
	if d < time.Second {
		return "now"
	}
	unit := func(n int64, name string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s ago", name)
		}
		return fmt.Sprintf("%d %ss ago", n, name)
	}
	switch {
	case d < time.Minute:
		return unit(int64(d/time.Second), "second")
	case d < time.Hour:
		return unit(int64(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return unit(int64(d/time.Hour), "hour")
	case d < 7*24*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	case d < 30*24*time.Hour:
		return unit(int64(d/(7*24*time.Hour)), "week")
	case d < 365*24*time.Hour:
		return unit(int64(d/(30*24*time.Hour)), "month")
	}
	return unit(int64(d/(365*24*time.Hour)), "year")
}

// cmdFQN: tart fqn <name> (§5.16).
func cmdFQN(e *env, p *parsed) error {
	name := p.args[0]
	rn, err := parseRemoteName(name)
	if err != nil {
		fmt.Fprintln(e.stdout, name)
		return nil
	}
	if rn.digest != "" {
		fmt.Fprintln(e.stdout, rn.String())
		return nil
	}
	target, err := os.Readlink(e.home.ociTagPath(rn))
	if err != nil {
		return runtimeFailf("OCI storage error: %s is not a digest and doesn't point to a digest", rn.String())
	}
	fmt.Fprintln(e.stdout, rn.withDigest(filepath.Base(target)).String())
	return nil
}
