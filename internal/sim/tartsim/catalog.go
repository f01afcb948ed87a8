package tartsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// image is one entry of the simulated registry.
type image struct {
	Name     string `json:"name"` // host/namespace:tag
	OS       string `json:"os"`   // darwin | linux
	User     string `json:"user"`
	Password string `json:"password"`
	Agent    *bool  `json:"agent"`     // guest agent installed (default true)
	DiskGB   int    `json:"disk_gb"`   // default 50 (darwin) / 20 (linux)
	CPU      int    `json:"cpu"`       // default 4
	MemoryMB int    `json:"memory_mb"` // default 8192 (darwin) / 4096 (linux)
	// Credentials, when set, make the image private: pulls need matching
	// TART_REGISTRY_USERNAME / TART_REGISTRY_PASSWORD.
	Credentials *struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"credentials"`
}

func boolPtr(b bool) *bool { return &b }

var builtinImages = []image{
	{Name: "ghcr.io/cirruslabs/macos-sequoia-base:latest", OS: "darwin", Agent: boolPtr(true)},
	{Name: "ghcr.io/cirruslabs/ubuntu:latest", OS: "linux", Agent: boolPtr(true)},
}

func (i *image) applyDefaults() {
	if i.OS == "" {
		i.OS = "darwin"
	}
	if i.User == "" {
		i.User = "admin"
	}
	if i.Password == "" {
		i.Password = "admin"
	}
	if i.Agent == nil {
		i.Agent = boolPtr(true)
	}
	if i.CPU == 0 {
		i.CPU = 4
	}
	if i.DiskGB == 0 {
		i.DiskGB = map[string]int{"darwin": 50, "linux": 20}[i.OS]
	}
	if i.MemoryMB == 0 {
		i.MemoryMB = map[string]int{"darwin": 8192, "linux": 4096}[i.OS]
	}
}

// digest is the image's stable manifest digest "sha256:<hex>".
func (i *image) digest() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("tart-sim manifest|%s|%s|%d", i.Name, i.OS, i.DiskGB)))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (i *image) meta() imageMeta {
	return imageMeta{Image: i.Name, OS: i.OS, User: i.User, Password: i.Password, Agent: *i.Agent}
}

// loadCatalog returns the built-in images plus those of $TART_SIM_CATALOG
// (a JSON array of images, or {"images": [...]}); catalog entries win.
func loadCatalog(e *env) ([]image, error) {
	imgs := append([]image(nil), builtinImages...)
	if p := e.getenv("TART_SIM_CATALOG"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, failf("tart-sim: cannot read TART_SIM_CATALOG: %v", err)
		}
		extra, err := decodeCatalog(b)
		if err != nil {
			return nil, failf("tart-sim: TART_SIM_CATALOG %s is not a valid catalog (see docs/tart-sim.md): %v", p, err)
		}
		imgs = append(extra, imgs...)
	}
	for i := range imgs {
		imgs[i].applyDefaults()
	}
	return imgs, nil
}

// findImage resolves a remote name (by tag or by digest) in the catalog.
func findImage(imgs []image, rn remoteName) *image {
	for i := range imgs {
		cand, err := parseRemoteName(imgs[i].Name)
		if err != nil || cand.host != rn.host || cand.namespace != rn.namespace {
			continue
		}
		if rn.digest != "" && imgs[i].digest() == rn.digest {
			return &imgs[i]
		}
		if rn.digest == "" && cand.tag == rn.tag {
			return &imgs[i]
		}
	}
	return nil
}

// decodeCatalog reads an array of images or {"images": [...]}, rejecting
// unknown keys (a typo such as "disk" must not silently become a default).
func decodeCatalog(b []byte) ([]image, error) {
	var extra []image
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
		var wrapped struct {
			Images []image `json:"images"`
		}
		if err := dec.Decode(&wrapped); err != nil {
			return nil, err
		}
		extra = wrapped.Images
	} else if err := dec.Decode(&extra); err != nil {
		return nil, err
	}
	for _, x := range extra {
		if _, err := parseRemoteName(x.Name); err != nil {
			return nil, fmt.Errorf("image name %q is not a remote name (host/namespace:tag)", x.Name)
		}
		if x.OS != "" && x.OS != "darwin" && x.OS != "linux" {
			return nil, fmt.Errorf("image %q: os must be \"darwin\" or \"linux\", not %q", x.Name, x.OS)
		}
	}
	return extra, nil
}
