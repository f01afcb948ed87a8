package containersim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Volumes are directories under <app-root>/volumes/<name>/data (the real
// ones are ext4 images); volume.json records the configuration.

type volumeRecord struct {
	Name         string            `json:"name"`
	Labels       map[string]string `json:"labels"`
	Options      map[string]string `json:"options"`
	SizeInBytes  uint64            `json:"sizeInBytes,omitempty"`
	CreationDate time.Time         `json:"creationDate"`
}

var volumeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// volumeType is the Filesystem type of a volume mount; name "" = anonymous
// (ensureVolume names it).
func volumeType(name string) map[string]any {
	return map[string]any{"volume": map[string]any{"name": name, "format": "ext4",
		"cache": map[string]any{"on": map[string]any{}}, "sync": map[string]any{"fsync": map[string]any{}}}}
}

func (e *env) volumesDir() string            { return filepath.Join(e.root, "volumes") }
func (e *env) volumeData(name string) string { return filepath.Join(e.volumesDir(), name, "data") }

func (e *env) createVolume(v volumeRecord) error {
	if !volumeName.MatchString(v.Name) || len(v.Name) > 255 {
		return failf("invalid volume name %s", v.Name)
	}
	if fileExists(filepath.Join(e.volumesDir(), v.Name, "volume.json")) {
		return failf("volume %s already exists", v.Name)
	}
	if err := os.MkdirAll(e.volumeData(v.Name), 0o755); err != nil {
		return err
	}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if v.Options == nil {
		v.Options = map[string]string{}
	}
	v.CreationDate = time.Now().UTC().Truncate(time.Second)
	return writeJSONAtomic(filepath.Join(e.volumesDir(), v.Name, "volume.json"), v)
}

// ensureVolume resolves a volume mount: anonymous ones get a UUID name, a
// missing named volume is created with a warning (as the real CLI does).
func (e *env) ensureVolume(m *Filesystem) error {
	vt, ok := m.Type["volume"].(map[string]any)
	if !ok {
		return nil
	}
	name, _ := vt["name"].(string)
	if name == "" {
		name = newUUID()
		vt["name"] = name
		if err := e.createVolume(volumeRecord{Name: name}); err != nil {
			return err
		}
	} else if !fileExists(filepath.Join(e.volumesDir(), name, "volume.json")) {
		fmt.Fprintf(e.stderr, "Warning: volume %s does not exist, creating it\n", name)
		if err := e.createVolume(volumeRecord{Name: name}); err != nil {
			return err
		}
	}
	m.Source = e.volumeData(name)
	return nil
}

func (e *env) volumes() []volumeRecord {
	ents, _ := os.ReadDir(e.volumesDir())
	var out []volumeRecord
	for _, d := range ents {
		var v volumeRecord
		if readJSON(filepath.Join(e.volumesDir(), d.Name(), "volume.json"), &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// volumeUsers lists the containers mounting the volume.
func (e *env) volumeUsers(name string) []string {
	all, _ := e.loadAll()
	var ids []string
	for _, c := range all {
		for _, m := range c.Config.Mounts {
			if vt, ok := m.Type["volume"].(map[string]any); ok && vt["name"] == name {
				ids = append(ids, c.ID)
			}
		}
	}
	return ids
}

func (e *env) volumeJSON(v volumeRecord) jobj {
	cfg := jobj{{"name", v.Name}, {"driver", "local"}, {"format", "ext4"}, {"source", e.volumeData(v.Name)},
		{"labels", v.Labels}, {"options", v.Options}, {"creationDate", isoDate(v.CreationDate)}}
	if v.SizeInBytes > 0 {
		cfg = append(cfg, jkv{"sizeInBytes", v.SizeInBytes})
	}
	return jobj{{"id", v.Name}, {"configuration", cfg}}
}

func volumeCommand() *command {
	return &command{Name: "volume", Aliases: []string{"v"}, Abstract: "Manage container volumes", Subs: []*command{
		{Name: "create", Abstract: "Create a volume", API: apiPing, Run: cmdVolumeCreate, Args: []positional{{Name: "name"}},
			Options: []option{{Long: "label", Value: "label", Help: "Set metadata"}, {Long: "opt", Value: "opt", Help: "Set driver options"},
				{Long: "s", Short: 's', Value: "size", Help: "Size of the volume"}}},
		{Name: "delete", Aliases: []string{"rm"}, Abstract: "Delete one or more volumes", API: apiPing, Run: cmdVolumeDelete,
			Options: []option{{Long: "all", Short: 'a', Help: "Delete all volumes"}}, Args: []positional{{Name: "names", Optional: true, Variadic: true}}},
		{Name: "list", Aliases: []string{"ls"}, Abstract: "List volumes", API: apiPing, Run: cmdVolumeList, Options: []option{optFormat, optQuiet}},
		{Name: "inspect", Abstract: "Display information about one or more volumes", API: apiPing, Run: cmdVolumeInspect,
			Args: []positional{{Name: "names", Variadic: true}}},
		{Name: "prune", Abstract: "Remove volumes no container uses", API: apiPing, Run: cmdVolumePrune},
	}}
}

func cmdVolumeCreate(e *env, p *parsed) error {
	v := volumeRecord{Name: p.args[0], Labels: map[string]string{}, Options: map[string]string{}}
	for _, l := range p.all("label") {
		k, val, _ := strings.Cut(l, "=")
		v.Labels[k] = val
	}
	for _, o := range p.all("opt") {
		k, val, _ := strings.Cut(o, "=")
		v.Options[k] = val
	}
	if s := p.str("s", ""); s != "" {
		n, err := parseMemory(s)
		if err != nil {
			return failf("invalid size %s", s)
		}
		v.SizeInBytes = n
	}
	if err := e.createVolume(v); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, v.Name)
	return nil
}

func cmdVolumeDelete(e *env, p *parsed) error {
	names := p.args
	if p.flag("all") {
		names = nil
		for _, v := range e.volumes() {
			names = append(names, v.Name)
		}
	} else if len(names) == 0 {
		return failf("no volumes specified and --all not supplied")
	}
	var errs []string
	for _, n := range dedupe(names) {
		if !fileExists(filepath.Join(e.volumesDir(), n, "volume.json")) {
			errs = append(errs, fmt.Sprintf("volume %s not found", n))
			continue
		}
		if users := e.volumeUsers(n); len(users) > 0 {
			errs = append(errs, fmt.Sprintf("volume %s is in use by container(s): %s", n, strings.Join(users, ", ")))
			continue
		}
		if err := os.RemoveAll(filepath.Join(e.volumesDir(), n)); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(e.stdout, n)
	}
	if len(errs) > 0 {
		return failf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func cmdVolumeList(e *env, p *parsed) error {
	vols := e.volumes()
	if p.str("format", "table") == "json" {
		out := []any{}
		for _, v := range vols {
			out = append(out, e.volumeJSON(v))
		}
		fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.listStyle()))
		return nil
	}
	if p.flag("quiet") {
		for _, v := range vols {
			fmt.Fprintln(e.stdout, v.Name)
		}
		return nil
	}
	rows := [][]string{{"NAME", "TYPE", "DRIVER", "OPTIONS"}}
	for _, v := range vols {
		var opts []string
		for k, val := range v.Options {
			opts = append(opts, k+"="+val)
		}
		rows = append(rows, []string{v.Name, "volume", "local", strings.Join(opts, ",")})
	}
	fmt.Fprint(e.stdout, renderTable(rows))
	return nil
}

func cmdVolumeInspect(e *env, p *parsed) error {
	out := []any{}
	for _, n := range p.args {
		var v volumeRecord
		if err := readJSON(filepath.Join(e.volumesDir(), n, "volume.json"), &v); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return failf("volume %s not found", n)
			}
			return err
		}
		out = append(out, e.volumeJSON(v))
	}
	fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.inspectStyle()))
	return nil
}

func cmdVolumePrune(e *env, p *parsed) error {
	var reclaimed int64
	for _, v := range e.volumes() {
		if len(e.volumeUsers(v.Name)) > 0 {
			continue
		}
		reclaimed += dirSize(filepath.Join(e.volumesDir(), v.Name))
		if os.RemoveAll(filepath.Join(e.volumesDir(), v.Name)) == nil {
			fmt.Fprintln(e.stdout, v.Name)
		}
	}
	fmt.Fprintf(e.stderr, "Reclaimed %s in disk space\n", humanBytes(reclaimed))
	return nil
}
