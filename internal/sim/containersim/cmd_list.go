package containersim

import (
	"fmt"
	"sort"
	"strings"
)

// attachments are the container's live network attachments (empty when stopped).
func (e *env) attachments(c *container) []any {
	out := []any{}
	if c.State() != stateRunning && c.State() != stateStopping {
		return out
	}
	for _, n := range c.Config.Networks {
		if c.Opts.IPv4 == "" {
			continue
		}
		addrKey, gwKey := "ipv4Address", "ipv4Gateway"
		if !e.ver.atLeast(0, 8) {
			addrKey, gwKey = "address", "gateway"
		}
		a := jobj{{"network", n.Network}, {"hostname", c.ID}, {addrKey, c.Opts.IPv4}, {gwKey, c.Opts.Gateway}}
		if c.Opts.MACAddress != "" {
			a = append(a, jkv{"macAddress", c.Opts.MACAddress})
		}
		if e.ver.atLeast(0, 11) {
			a = append(a, jkv{"mtu", n.Options.MTU})
		}
		out = append(out, a)
	}
	return out
}

// pre1ConfigOrder is ContainerConfiguration's declaration order before 1.0.
var pre1ConfigOrder = []string{"id", "image", "mounts", "publishedPorts", "publishedSockets", "labels", "sysctls",
	"networks", "dns", "rosetta", "initProcess", "platform", "resources", "runtimeHandler", "virtualization",
	"ssh", "readOnly", "useInit", "capAdd", "capDrop"}

func (e *env) configTree(c *container) jobj {
	t := toTree(c.Config).(jobj)
	if !e.ver.pre1() {
		return t
	}
	t = t.without("creationDate", "stopSignal", "shmSize")
	if !e.ver.atLeast(0, 12) {
		t = t.without("capAdd", "capDrop")
	}
	if !e.ver.atLeast(0, 10) {
		t = t.without("useInit")
	}
	var out jobj
	for _, k := range pre1ConfigOrder {
		if v, ok := t.get(k); ok {
			if k == "resources" {
				v = v.(jobj).without("cpuOverhead")
			}
			out = append(out, jkv{k, v})
		}
	}
	return out
}

// containerJSON is one container in the profile's shape (§5.1 / §5.3).
// There is never an exit code.
func (e *env) containerJSON(c *container) jobj {
	if e.ver.pre1() {
		o := jobj{{"status", c.State()}, {"configuration", e.configTree(c)}, {"networks", e.attachments(c)}}
		if !c.Status.StartedDate.IsZero() && e.ver.atLeast(0, 8) {
			o = append(o, jkv{"startedDate", appleReferenceSeconds(c.Status.StartedDate)})
		}
		return o
	}
	st := jobj{{"state", c.State()}, {"networks", e.attachments(c)}}
	if !c.Status.StartedDate.IsZero() {
		st = append(st, jkv{"startedDate", isoDate(c.Status.StartedDate)})
	}
	return jobj{{"configuration", e.configTree(c)}, {"id", c.ID}, {"status", st}}
}

func cmdList(e *env, p *parsed) error {
	all, err := e.loadAll()
	if err != nil {
		return err
	}
	format := p.str("format", "table")
	showAll := p.flag("all") || (format == "json" && !e.ver.atLeast(0, 10))
	var rows []*container
	for _, c := range all {
		if c.Config.Labels["com.apple.container.plugin"] == "machine" {
			continue
		}
		if showAll || c.State() == stateRunning {
			rows = append(rows, c)
		}
	}
	switch format {
	case "json":
		out := []any{}
		for _, c := range rows {
			out = append(out, e.containerJSON(c))
		}
		fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.listStyle()))
		return nil
	case "yaml", "toml":
		return failf("container-sim: --format %s is not simulated (use json or table)", format)
	}
	if p.flag("quiet") {
		for _, c := range rows {
			fmt.Fprintln(e.stdout, c.ID)
		}
		return nil
	}
	ipCol := "IP"
	if e.ver.pre1() {
		ipCol = "ADDR"
	}
	t := [][]string{{"ID", "IMAGE", "OS", "ARCH", "STATE", ipCol, "CPUS", "MEMORY", "STARTED"}}
	for _, c := range rows {
		var ips []string
		if c.State() == stateRunning && c.Opts.IPv4 != "" {
			ips = append(ips, c.Opts.IPv4)
		}
		started := ""
		if !c.Status.StartedDate.IsZero() {
			started = isoDate(c.Status.StartedDate)
		}
		t = append(t, []string{c.ID, c.Config.Image.Reference, c.Config.Platform.OS, c.Config.Platform.Architecture,
			c.State(), strings.Join(ips, ","), fmt.Sprint(c.Config.Resources.CPUs),
			fmt.Sprintf("%d MB", c.Config.Resources.MemoryInBytes>>20), started})
	}
	fmt.Fprint(e.stdout, renderTable(t))
	return nil
}

// renderTable left-aligns columns padded to the widest cell + 2 spaces; the
// last column is not padded (§2.5).
func renderTable(rows [][]string) string {
	if len(rows) == 0 {
		return ""
	}
	w := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + strings.Repeat(" ", w[i]-len(c)+2))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cmdInspect(e *env, p *parsed) error {
	var out []any
	var missing []string
	for _, id := range p.args {
		c, err := e.load(id)
		if err != nil {
			missing = append(missing, id)
			continue
		}
		out = append(out, e.containerJSON(c))
	}
	if len(missing) > 0 && !e.ver.pre1() {
		sort.Strings(missing)
		return failf("container not found: %s", joinIDs(missing))
	}
	if out == nil {
		out = []any{}
	}
	fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.inspectStyle()))
	return nil
}
