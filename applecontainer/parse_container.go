package applecontainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// rawContainer covers both shapes (§5.1, §5.3): 1.x
// {configuration, id, status:{state, networks, startedDate}} and pre-1.0
// {status:"running", configuration, networks, startedDate}. Unknown keys
// are ignored.
type rawContainer struct {
	ID            string          `json:"id"`
	Status        json.RawMessage `json:"status"`
	Networks      []rawAttachment `json:"networks"`
	StartedDate   appleTime       `json:"startedDate"`
	Configuration rawConfig       `json:"configuration"`
}

type rawStatus struct {
	State       string          `json:"state"`
	Networks    []rawAttachment `json:"networks"`
	StartedDate appleTime       `json:"startedDate"`
}

// rawAttachment: 0.8.0+ ipv4Address/ipv4Gateway, <=0.7 address/gateway.
type rawAttachment struct {
	Network     string `json:"network"`
	Hostname    string `json:"hostname"`
	IPv4Address string `json:"ipv4Address"`
	Address     string `json:"address"`
	IPv4Gateway string `json:"ipv4Gateway"`
	Gateway     string `json:"gateway"`
	IPv6Address string `json:"ipv6Address"`
	MacAddress  string `json:"macAddress"`
}

type rawConfig struct {
	ID    string `json:"id"`
	Image struct {
		Reference  string `json:"reference"`
		Descriptor struct {
			Digest string `json:"digest"`
		} `json:"descriptor"`
	} `json:"image"`
	Labels    map[string]string `json:"labels"`
	Resources struct {
		CPUs          int   `json:"cpus"`
		MemoryInBytes int64 `json:"memoryInBytes"`
	} `json:"resources"`
	PublishedPorts []struct {
		HostAddress   string     `json:"hostAddress"`
		HostPort      int        `json:"hostPort"`
		ContainerPort int        `json:"containerPort"`
		Proto         enumString `json:"proto"`
		Count         int        `json:"count"`
	} `json:"publishedPorts"`
	Mounts []struct {
		Type        enumString `json:"type"`
		Source      string     `json:"source"`
		Destination string     `json:"destination"`
		Options     []string   `json:"options"`
	} `json:"mounts"`
	InitProcess struct {
		Executable       string          `json:"executable"`
		Arguments        []string        `json:"arguments"`
		Environment      []string        `json:"environment"`
		WorkingDirectory string          `json:"workingDirectory"`
		Terminal         bool            `json:"terminal"`
		User             json.RawMessage `json:"user"`
	} `json:"initProcess"`
	Platform struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	} `json:"platform"`
	Networks     []json.RawMessage `json:"networks"` // objects {network, options} (0.4+) or strings (<=0.3)
	ReadOnly     bool              `json:"readOnly"`
	UseInit      bool              `json:"useInit"`
	Rosetta      bool              `json:"rosetta"`
	StopSignal   string            `json:"stopSignal"`
	CapAdd       []string          `json:"capAdd"`
	CapDrop      []string          `json:"capDrop"`
	CreationDate appleTime         `json:"creationDate"`
}

// maxPortRange bounds the expansion of a published port range.
const maxPortRange = 65535

// ParseContainers decodes `inspect` or `list --format json` output of any
// supported version (an array; a single object and empty output are
// tolerated).
func ParseContainers(data []byte) ([]Container, error) {
	raws, err := decodeList[rawContainer](data)
	if err != nil {
		return nil, fmt.Errorf("container JSON: %w", err)
	}
	out := make([]Container, 0, len(raws))
	for i, rc := range raws {
		c, err := rc.container()
		if err != nil {
			return nil, fmt.Errorf("container JSON [%d]: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (rc rawContainer) container() (Container, error) {
	c := Container{
		ID:          rc.ID,
		Image:       rc.Configuration.Image.Reference,
		ImageDigest: rc.Configuration.Image.Descriptor.Digest,
		Labels:      rc.Configuration.Labels,
		StartedAt:   rc.StartedDate.Time,
		CreatedAt:   rc.Configuration.CreationDate.Time,
	}
	if c.ID == "" {
		c.ID = rc.Configuration.ID
	}
	if c.ID == "" {
		return c, fmt.Errorf("no id or configuration.id")
	}
	atts := rc.Networks
	st := bytes.TrimSpace(rc.Status)
	switch {
	case len(st) == 0 || string(st) == "null":
		c.State = StateUnknown
	case st[0] == '"':
		var s string
		if err := json.Unmarshal(st, &s); err != nil {
			return c, err
		}
		c.State = State(s)
	default:
		var s rawStatus
		if err := json.Unmarshal(st, &s); err != nil {
			return c, fmt.Errorf("status: %w", err)
		}
		c.State = State(s.State)
		if len(s.Networks) > 0 {
			atts = s.Networks
		}
		if !s.StartedDate.IsZero() {
			c.StartedAt = s.StartedDate.Time
		}
	}
	if c.State == "" {
		c.State = StateUnknown
	}
	for _, a := range atts {
		att, err := a.attachment()
		if err != nil {
			return c, err
		}
		c.Networks = append(c.Networks, att)
		if att.IPv4.IsValid() {
			c.IPv4 = append(c.IPv4, att.IPv4)
		}
	}
	cfg, err := rc.Configuration.config()
	if err != nil {
		return c, err
	}
	c.Config = cfg
	return c, nil
}

func (a rawAttachment) attachment() (Attachment, error) {
	att := Attachment{Network: a.Network, Hostname: a.Hostname, MAC: a.MacAddress}
	addr := a.IPv4Address
	if addr == "" {
		addr = a.Address
	}
	var err error
	if att.IPv4, err = parsePrefix(addr); err != nil {
		return att, fmt.Errorf("network %s address: %w", a.Network, err)
	}
	gw := a.IPv4Gateway
	if gw == "" {
		gw = a.Gateway
	}
	if att.Gateway, err = parseAddr(gw); err != nil {
		return att, fmt.Errorf("network %s gateway: %w", a.Network, err)
	}
	if att.IPv6, err = parsePrefix(a.IPv6Address); err != nil {
		return att, fmt.Errorf("network %s IPv6 address: %w", a.Network, err)
	}
	return att, nil
}

func (rc rawConfig) config() (ContainerConfig, error) {
	cfg := ContainerConfig{
		CPUs:        rc.Resources.CPUs,
		MemoryBytes: rc.Resources.MemoryInBytes,
		ReadOnly:    rc.ReadOnly,
		UseInit:     rc.UseInit,
		Rosetta:     rc.Rosetta,
		StopSignal:  rc.StopSignal,
		CapAdd:      rc.CapAdd,
		CapDrop:     rc.CapDrop,
		Init: Process{
			Executable: rc.InitProcess.Executable,
			Args:       rc.InitProcess.Arguments,
			Env:        rc.InitProcess.Environment,
			Workdir:    rc.InitProcess.WorkingDirectory,
			Terminal:   rc.InitProcess.Terminal,
			User:       parseUser(rc.InitProcess.User),
		},
	}
	if p := rc.Platform; p.OS != "" || p.Architecture != "" {
		cfg.Platform = p.OS + "/" + p.Architecture
		if p.Variant != "" {
			cfg.Platform += "/" + p.Variant
		}
	}
	for _, pp := range rc.PublishedPorts {
		n := max(pp.Count, 1)
		if n > maxPortRange {
			return cfg, fmt.Errorf("published port count %d", pp.Count)
		}
		for i := range n {
			cfg.Ports = append(cfg.Ports, Port{HostIP: pp.HostAddress, HostPort: pp.HostPort + i, ContainerPort: pp.ContainerPort + i, Proto: string(pp.Proto)})
		}
	}
	for _, m := range rc.Mounts {
		cfg.Mounts = append(cfg.Mounts, MountInfo{Type: string(m.Type), Source: m.Source, Destination: m.Destination, Options: m.Options})
	}
	for _, n := range rc.Networks {
		var name string
		if json.Unmarshal(n, &name) != nil {
			var obj struct {
				Network string `json:"network"`
			}
			if err := json.Unmarshal(n, &obj); err != nil {
				return cfg, fmt.Errorf("configuration.networks: %w", err)
			}
			name = obj.Network
		}
		cfg.Networks = append(cfg.Networks, name)
	}
	return cfg, nil
}

// parseUser reads the Swift enum {"id":{"uid":0,"gid":0}} ->
// "0:0", {"raw":{"userString":"nginx"}} -> "nginx", or a plain string.
func parseUser(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	var u struct {
		ID *struct {
			UID uint32 `json:"uid"`
			GID uint32 `json:"gid"`
		} `json:"id"`
		Raw *struct {
			UserString string `json:"userString"`
		} `json:"raw"`
	}
	if json.Unmarshal(b, &u) != nil {
		return ""
	}
	switch {
	case u.ID != nil:
		return strconv.FormatUint(uint64(u.ID.UID), 10) + ":" + strconv.FormatUint(uint64(u.ID.GID), 10)
	case u.Raw != nil:
		return u.Raw.UserString
	}
	return ""
}
