package tartsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
)

// vmConfig is config.json (tart-cli.md §3.2).
type vmConfig struct {
	Version       int       `json:"version"`
	OS            string    `json:"os"`
	Arch          string    `json:"arch"`
	ECID          string    `json:"ecid,omitempty"`
	HardwareModel string    `json:"hardwareModel,omitempty"`
	CPUCountMin   int       `json:"cpuCountMin"`
	CPUCount      int       `json:"cpuCount"`
	MemorySizeMin uint64    `json:"memorySizeMin"`
	MemorySize    uint64    `json:"memorySize"`
	MACAddress    string    `json:"macAddress"`
	Display       vmDisplay `json:"display"`
	DisplayRefit  *bool     `json:"displayRefit,omitempty"`
	DiskFormat    string    `json:"diskFormat"`
}

type vmDisplay struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Unit   string `json:"unit,omitempty"`
}

func parseVMConfig(b []byte) (*vmConfig, error) {
	c := &vmConfig{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	if c.Version == 0 {
		return nil, fmt.Errorf("keyNotFound(version)")
	}
	if c.OS == "" {
		c.OS = "darwin"
	}
	if c.Arch == "" {
		c.Arch = "arm64"
	}
	if c.DiskFormat == "" {
		c.DiskFormat = "raw"
	}
	if c.Display.Width == 0 {
		c.Display = vmDisplay{Width: 1024, Height: 768}
	}
	return c, nil
}

// encode renders config.json the way Foundation's pretty printer does.
func (c *vmConfig) encode() []byte {
	disp := object{{"width", c.Display.Width}, {"height", c.Display.Height}}
	if c.Display.Unit != "" {
		disp = append(disp, kv{"unit", c.Display.Unit})
	}
	o := object{
		{"version", c.Version},
		{"os", c.OS},
		{"arch", c.Arch},
	}
	if c.OS == "darwin" {
		o = append(o, kv{"ecid", c.ECID}, kv{"hardwareModel", c.HardwareModel})
	}
	o = append(o,
		kv{"cpuCountMin", c.CPUCountMin},
		kv{"cpuCount", c.CPUCount},
		kv{"memorySizeMin", c.MemorySizeMin},
		kv{"memorySize", c.MemorySize},
		kv{"macAddress", c.MACAddress},
		kv{"display", disp},
	)
	if c.DisplayRefit != nil {
		o = append(o, kv{"displayRefit", *c.DisplayRefit})
	}
	o = append(o, kv{"diskFormat", c.DiskFormat})
	return []byte(swiftJSON(o))
}

func (c *vmConfig) displayString() string {
	return fmt.Sprintf("%dx%d%s", c.Display.Width, c.Display.Height, c.Display.Unit)
}

// randomMAC returns a random locally administered unicast MAC, lower case.
func randomMAC() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	b[0] = (b[0] &^ 0x01) | 0x02
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// newConfig is the config of a fresh VM of an image.
func newConfig(img *image) *vmConfig {
	c := &vmConfig{
		Version:       1,
		OS:            img.OS,
		Arch:          "arm64",
		CPUCountMin:   img.CPU,
		CPUCount:      img.CPU,
		MemorySizeMin: uint64(img.MemoryMB) << 20,
		MemorySize:    uint64(img.MemoryMB) << 20,
		MACAddress:    randomMAC(),
		Display:       vmDisplay{Width: 1024, Height: 768},
		DiskFormat:    "raw",
	}
	if img.OS == "darwin" {
		c.CPUCountMin = min(img.CPU, 4)
		c.ECID = "YWJjZGVmZ2g="
		c.HardwareModel = "YnBsaXN0MDDTAQIDBAUGX1ASbWluaW11bVN1cHBvcnRlZE9T"
	}
	return c
}
