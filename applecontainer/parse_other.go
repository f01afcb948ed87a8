package applecontainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ParseStats decodes `stats --format json` (§5.2).
func ParseStats(data []byte) ([]Stats, error) {
	type rawStats struct {
		ID               string  `json:"id"`
		CPUUsageUsec     *uint64 `json:"cpuUsageUsec"`
		MemoryUsageBytes *uint64 `json:"memoryUsageBytes"`
		MemoryLimitBytes *uint64 `json:"memoryLimitBytes"`
		NetworkRxBytes   *uint64 `json:"networkRxBytes"`
		NetworkTxBytes   *uint64 `json:"networkTxBytes"`
		BlockReadBytes   *uint64 `json:"blockReadBytes"`
		BlockWriteBytes  *uint64 `json:"blockWriteBytes"`
		NumProcesses     *uint64 `json:"numProcesses"`
	}
	raws, err := decodeList[rawStats](data)
	if err != nil {
		return nil, fmt.Errorf("stats JSON: %w", err)
	}
	out := make([]Stats, 0, len(raws))
	for _, r := range raws {
		if r.ID == "" {
			return nil, fmt.Errorf("stats JSON: object without id")
		}
		out = append(out, Stats{
			ID: r.ID, CPUUsageUsec: r.CPUUsageUsec, MemoryUsageBytes: r.MemoryUsageBytes, MemoryLimitBytes: r.MemoryLimitBytes,
			NetRxBytes: r.NetworkRxBytes, NetTxBytes: r.NetworkTxBytes, BlockReadBytes: r.BlockReadBytes,
			BlockWriteBytes: r.BlockWriteBytes, NumProcesses: r.NumProcesses,
		})
	}
	return out, nil
}

type rawDescriptor struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// ParseImages decodes `image list --format json` / `image inspect`:
// 1.x [{id, configuration:{name, creationDate, descriptor}, variants}] or
// pre-1.0 [{reference, descriptor, fullSize?}].
func ParseImages(data []byte) ([]Image, error) {
	type rawImage struct {
		ID            string          `json:"id"`
		Reference     string          `json:"reference"`
		Descriptor    *rawDescriptor  `json:"descriptor"`
		FullSize      json.RawMessage `json:"fullSize"`
		Configuration struct {
			Name         string         `json:"name"`
			Reference    string         `json:"reference"`
			CreationDate appleTime      `json:"creationDate"`
			Descriptor   *rawDescriptor `json:"descriptor"`
		} `json:"configuration"`
		Variants []struct {
			Platform struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
				Variant      string `json:"variant"`
			} `json:"platform"`
		} `json:"variants"`
	}
	raws, err := decodeList[rawImage](data)
	if err != nil {
		return nil, fmt.Errorf("image JSON: %w", err)
	}
	out := make([]Image, 0, len(raws))
	for _, r := range raws {
		img := Image{Reference: r.Reference, CreatedAt: r.Configuration.CreationDate.Time}
		if img.Reference == "" {
			img.Reference = r.Configuration.Name
		}
		if img.Reference == "" {
			img.Reference = r.Configuration.Reference
		}
		d := r.Descriptor
		if d == nil {
			d = r.Configuration.Descriptor
		}
		if d != nil {
			img.Digest, img.MediaType, img.Size = d.Digest, d.MediaType, d.Size
		}
		if img.Digest == "" && r.ID != "" {
			img.Digest = "sha256:" + strings.TrimPrefix(r.ID, "sha256:")
		}
		var full int64
		if json.Unmarshal(r.FullSize, &full) == nil && full > 0 {
			img.Size = full
		}
		for _, v := range r.Variants {
			p := v.Platform.OS + "/" + v.Platform.Architecture
			if v.Platform.Variant != "" {
				p += "/" + v.Platform.Variant
			}
			if p != "/" {
				img.Platforms = append(img.Platforms, p)
			}
		}
		if img.Reference == "" {
			return nil, fmt.Errorf("image JSON: object without reference or configuration.name")
		}
		out = append(out, img)
	}
	return out, nil
}

// ParseNetworks decodes `network list --format json` (1.x shape; the
// pre-1.0 one is read best-effort: id, and the subnet if found).
func ParseNetworks(data []byte) ([]Network, error) {
	type rawNet struct {
		ID            string `json:"id"`
		Configuration struct {
			ID         string            `json:"id"`
			Name       string            `json:"name"`
			Mode       enumString        `json:"mode"`
			IPv4Subnet string            `json:"ipv4Subnet"`
			Subnet     string            `json:"subnet"`
			Labels     map[string]string `json:"labels"`
		} `json:"configuration"`
		Config *struct {
			ID     string     `json:"id"`
			Mode   enumString `json:"mode"`
			Subnet string     `json:"subnet"`
		} `json:"config"`
		Status json.RawMessage `json:"status"`
	}
	raws, err := decodeList[rawNet](data)
	if err != nil {
		return nil, fmt.Errorf("network JSON: %w", err)
	}
	out := make([]Network, 0, len(raws))
	for _, r := range raws {
		n := Network{ID: r.ID, Mode: string(r.Configuration.Mode), Labels: r.Configuration.Labels}
		subnet := r.Configuration.IPv4Subnet
		if subnet == "" {
			subnet = r.Configuration.Subnet
		}
		if n.ID == "" {
			n.ID = r.Configuration.ID
		}
		if n.ID == "" {
			n.ID = r.Configuration.Name
		}
		if r.Config != nil {
			if n.ID == "" {
				n.ID = r.Config.ID
			}
			if n.Mode == "" {
				n.Mode = string(r.Config.Mode)
			}
			if subnet == "" {
				subnet = r.Config.Subnet
			}
		}
		var st struct {
			IPv4Subnet  string `json:"ipv4Subnet"`
			IPv4Gateway string `json:"ipv4Gateway"`
			Address     string `json:"address"`
			Gateway     string `json:"gateway"`
		}
		if s := bytes.TrimSpace(r.Status); len(s) > 0 && s[0] == '{' {
			if err := json.Unmarshal(s, &st); err != nil {
				return nil, fmt.Errorf("network JSON %s status: %w", n.ID, err)
			}
		}
		if st.IPv4Subnet != "" {
			subnet = st.IPv4Subnet
		} else if subnet == "" {
			subnet = st.Address
		}
		gw := st.IPv4Gateway
		if gw == "" {
			gw = st.Gateway
		}
		if n.IPv4Subnet, err = parsePrefix(subnet); err != nil {
			return nil, fmt.Errorf("network JSON %s subnet: %w", n.ID, err)
		}
		if n.IPv4Gateway, err = parseAddr(gw); err != nil {
			return nil, fmt.Errorf("network JSON %s gateway: %w", n.ID, err)
		}
		if n.ID == "" {
			return nil, fmt.Errorf("network JSON: object without id")
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseSystemStatus decodes `system status --format json`: the flat shape
// of 0.10.0–1.2.x {status, appRoot, installRoot, logRoot, apiServerVersion,
// apiServerCommit, ...} or the nested one of 1.4.1 (status plus objects such
// as server/paths, read by key wherever they are).
func ParseSystemStatus(data []byte) (SystemStatus, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(data), &top); err != nil {
		return SystemStatus{}, fmt.Errorf("system status JSON: %w", err)
	}
	flat := map[string]string{}
	flatten("", top, flat)
	st := SystemStatus{Status: first(flat, "status", "server.status")}
	st.Running = st.Status == "running"
	st.AppRoot = first(flat, "approot", "paths.approot", "paths.app", "server.approot")
	st.InstallRoot = first(flat, "installroot", "paths.installroot", "paths.install", "server.installroot")
	st.LogRoot = first(flat, "logroot", "paths.logroot", "paths.log", "server.logroot")
	st.APIServerCommit = first(flat, "apiservercommit", "server.commit", "apiserver.commit")
	ver := first(flat, "apiserverversion", "server.version", "apiserver.version")
	if v, err := ParseVersion(ver); err == nil {
		st.APIServerVersion = v.String()
	} else {
		st.APIServerVersion = ver
	}
	if st.Status == "" {
		return st, fmt.Errorf("system status JSON: no status key")
	}
	return st, nil
}

// flatten collects string leaves as lowercase dotted keys.
func flatten(prefix string, m map[string]json.RawMessage, out map[string]string) {
	for k, v := range m {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[key] = s
			continue
		}
		var sub map[string]json.RawMessage
		if json.Unmarshal(v, &sub) == nil {
			flatten(key, sub, out)
		}
	}
}

func first(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// ParseSystemStatusText reads the table or plain-text form of `system
// status` (pre-0.10, or the not-running lines): "apiserver is running",
// "apiserver is not running", FIELD VALUE rows.
func ParseSystemStatusText(out string) SystemStatus {
	var st SystemStatus
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		low := strings.ToLower(l)
		switch {
		case strings.HasPrefix(low, "apiserver is not running"):
			st.Status = "not running"
		case strings.HasPrefix(low, "apiserver is running"):
			st.Status = "running"
		default:
			k, v, ok := strings.Cut(l, " ")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.ToLower(k) {
			case "status":
				st.Status = v
			case "approot", "application", "app-root":
				st.AppRoot = v
			case "installroot", "install-root":
				st.InstallRoot = v
			case "logroot":
				st.LogRoot = v
			case "apiserver.version":
				if pv, err := ParseVersion(v); err == nil {
					st.APIServerVersion = pv.String()
				}
			case "apiserver.commit":
				st.APIServerCommit = v
			}
		}
	}
	st.Running = st.Status == "running"
	return st
}

// ParseSystemVersion decodes `system version --format json`: an array
// (first element the CLI, second the apiserver when reachable); a single
// object is tolerated.
func ParseSystemVersion(data []byte) ([]VersionInfo, error) {
	type raw struct {
		AppName   string `json:"appName"`
		Version   string `json:"version"`
		BuildType string `json:"buildType"`
		Commit    string `json:"commit"`
	}
	raws, err := decodeList[raw](data)
	if err != nil {
		return nil, fmt.Errorf("system version JSON: %w", err)
	}
	out := make([]VersionInfo, 0, len(raws))
	for _, r := range raws {
		out = append(out, VersionInfo(r))
	}
	return out, nil
}
