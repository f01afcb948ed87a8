package containersim

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Networks: the builtin "default" (192.168.64.0/24) plus named networks
// recorded under <app-root>/networks/. Named networks share the default
// subnet's address pool (documented gap).

type networkRecord struct {
	Name         string            `json:"name"`
	Subnet       string            `json:"subnet"`
	Labels       map[string]string `json:"labels"`
	Internal     bool              `json:"internal"`
	CreationDate time.Time         `json:"creationDate"`
}

var networkName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$`)

func networkCommand() *command {
	return &command{Name: "network", Aliases: []string{"n"}, Abstract: "Manage container networks", Subs: []*command{
		{Name: "list", Aliases: []string{"ls"}, Abstract: "List networks", API: apiPing, Run: cmdNetworkList, Options: []option{optFormat, optQuiet}},
		{Name: "create", Abstract: "Create a new network", API: apiPing, Run: cmdNetworkCreate, Args: []positional{{Name: "name"}},
			Options: []option{{Long: "internal", Help: "Restrict to host-only network"}, {Long: "label", Value: "label", Help: "Set metadata"},
				{Long: "option", Value: "option", Help: "Set a plugin option"}, {Long: "plugin", Value: "plugin", Help: "Network plugin"},
				{Long: "subnet", Value: "subnet", Help: "IPv4 subnet"}, {Long: "subnet-v6", Value: "subnet-v6", Help: "IPv6 subnet"}}},
		{Name: "delete", Aliases: []string{"rm"}, Abstract: "Delete one or more networks", API: apiPing, Run: cmdNetworkDelete,
			Options: []option{{Long: "all", Short: 'a', Help: "Delete all networks"}}, Args: []positional{{Name: "network-names", Optional: true, Variadic: true}}},
		{Name: "inspect", Abstract: "Display information about one or more networks", API: apiPing, Run: cmdNetworkInspect,
			Args: []positional{{Name: "networks", Variadic: true}}},
	}}
}

func (e *env) networksDir() string { return filepath.Join(e.root, "networks") }

func (e *env) networks() []networkRecord {
	out := []networkRecord{{Name: defaultNetwork, Subnet: defaultSubnet, Labels: map[string]string{}}}
	if st, err := os.Stat(filepath.Join(e.root, "apiserver.json")); err == nil {
		out[0].CreationDate = st.ModTime().UTC()
	}
	ents, _ := os.ReadDir(e.networksDir())
	var named []networkRecord
	for _, d := range ents {
		var n networkRecord
		if readJSON(filepath.Join(e.networksDir(), d.Name()), &n) == nil {
			named = append(named, n)
		}
	}
	sort.Slice(named, func(i, j int) bool { return named[i].Name < named[j].Name })
	return append(out, named...)
}

func (e *env) networkExists(name string) bool {
	for _, n := range e.networks() {
		if n.Name == name {
			return true
		}
	}
	return false
}

func (e *env) networkJSON(n networkRecord) jobj {
	mode := "nat"
	if n.Internal {
		mode = "hostOnly"
	}
	gw := strings.TrimSuffix(n.Subnet, ".0/24") + ".1"
	return jobj{
		{"id", n.Name},
		{"configuration", jobj{{"name", n.Name}, {"creationDate", isoDate(n.CreationDate)}, {"mode", mode},
			{"ipv4Subnet", n.Subnet}, {"labels", n.Labels}, {"plugin", "container-network-vmnet"}, {"options", map[string]string{}}}},
		{"status", jobj{{"ipv4Subnet", n.Subnet}, {"ipv4Gateway", gw}}},
	}
}

func cmdNetworkList(e *env, p *parsed) error {
	nets := e.networks()
	if p.str("format", "table") == "json" {
		out := []any{}
		for _, n := range nets {
			out = append(out, e.networkJSON(n))
		}
		fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.listStyle()))
		return nil
	}
	if p.flag("quiet") {
		for _, n := range nets {
			fmt.Fprintln(e.stdout, n.Name)
		}
		return nil
	}
	rows := [][]string{{"NETWORK", "SUBNET"}}
	for _, n := range nets {
		rows = append(rows, []string{n.Name, n.Subnet})
	}
	fmt.Fprint(e.stdout, renderTable(rows))
	return nil
}

func cmdNetworkCreate(e *env, p *parsed) error {
	name := p.args[0]
	if !networkName.MatchString(name) || name == "none" {
		return failf("invalid network name %s", name)
	}
	if e.networkExists(name) {
		return failf("network %s already exists", name)
	}
	labels := map[string]string{}
	for _, l := range p.all("label") {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}
	n := networkRecord{Name: name, Subnet: p.str("subnet", defaultSubnet), Labels: labels, Internal: p.flag("internal"), CreationDate: time.Now().UTC()}
	if err := os.MkdirAll(e.networksDir(), 0o755); err != nil {
		return err
	}
	if err := writeJSONAtomic(filepath.Join(e.networksDir(), name+".json"), n); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, name)
	return nil
}

func cmdNetworkDelete(e *env, p *parsed) error {
	names := p.args
	if p.flag("all") {
		names = nil
		for _, n := range e.networks()[1:] {
			names = append(names, n.Name)
		}
	}
	var errs []string
	for _, name := range names {
		if name == defaultNetwork {
			errs = append(errs, "cannot delete a builtin network: default")
			continue
		}
		if err := os.Remove(filepath.Join(e.networksDir(), name+".json")); err != nil {
			errs = append(errs, fmt.Sprintf("network %s not found", name))
			continue
		}
		fmt.Fprintln(e.stdout, name)
	}
	if len(errs) > 0 {
		return failf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func cmdNetworkInspect(e *env, p *parsed) error {
	out := []any{}
	for _, name := range p.args {
		found := false
		for _, n := range e.networks() {
			if n.Name == name {
				out = append(out, e.networkJSON(n))
				found = true
			}
		}
		if !found {
			return failf("network %s not found", name)
		}
	}
	fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.inspectStyle()))
	return nil
}
