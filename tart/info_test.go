package tart

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseVMInfoFixtures(t *testing.T) {
	tests := []struct {
		file string
		want VMInfo
	}{
		{"get-2.32.1.json", VMInfo{OS: "darwin", CPU: 4, Memory: 8192, Disk: 50, DiskFormat: "raw", Size: "22.310", Display: "1024x768", State: StateStopped}},
		{"get-2.28.0-running-linux.json", VMInfo{OS: "linux", CPU: 2, Memory: 4096, Disk: 20, DiskFormat: "asif", Size: "1.502", Display: "1920x1080px", Running: true, State: StateRunning}},
		{"get-2.6.1.json", VMInfo{CPU: 4, Memory: 8192, Disk: 50, Size: "30.000", Display: "1024x768", State: StateSuspended}},
		{"get-0.37.0.json", VMInfo{CPU: 2, Memory: 4096, Disk: 50, Display: "1024x768", Running: true, State: StateRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseVMInfo(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseVMInfoLenientTypesAndErrors(t *testing.T) {
	got, err := ParseVMInfo([]byte(`{"cpu": "4", "size": 12.5, "state": "RUNNING"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.CPU != 4 || got.Size != "12.5" || got.State != StateRunning {
		t.Fatalf("lenient parse: %+v", got)
	}
	for _, bad := range []string{``, `[]`, `{"CPU": true}`, `not json`} {
		if _, err := ParseVMInfo([]byte(bad)); err == nil {
			t.Errorf("ParseVMInfo(%q) succeeded", bad)
		}
	}
}

func TestParseVMListFixtures(t *testing.T) {
	digest := "ghcr.io/cirruslabs/macos-tahoe-base@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		file string
		want []VMEntry
	}{
		{"list-2.32.1.json", []VMEntry{
			{Source: "local", Name: "runner-1", Disk: 50, Size: 23, Accessed: time.Date(2026, 5, 12, 9, 41, 7, 0, time.UTC), Running: true, State: StateRunning},
			{Source: "OCI", Name: "ghcr.io/cirruslabs/macos-tahoe-base:latest", Disk: 50, Size: 23, Accessed: time.Date(2026, 5, 12, 8, 2, 55, 0, time.UTC), State: StateStopped},
			{Source: "OCI", Name: digest, Disk: 50, Size: 23, Accessed: time.Date(2026, 5, 12, 8, 2, 55, 250e6, time.UTC), State: StateStopped},
		}},
		{"list-2.15.0.json", []VMEntry{
			{Source: "local", Name: "ubuntu", Disk: 20, Size: 2, SizeOnDisk: 2, State: StateSuspended},
			{Source: "OCI", Name: "ghcr.io/cirruslabs/ubuntu:latest", Disk: 20, Size: 2, SizeOnDisk: 2, State: StateStopped},
		}},
		{"list-0.37.0.json", []VMEntry{
			{Source: "local", Name: "monterey", Size: 50, State: StateStopped},
			{Source: "oci", Name: "ghcr.io/cirruslabs/macos-monterey-base:latest", Size: 50, State: StateStopped},
		}},
		{"list-empty.json", []VMEntry{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseVMList(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d entries, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if !got[i].Accessed.Equal(tt.want[i].Accessed) {
					t.Errorf("entry %d Accessed %v, want %v", i, got[i].Accessed, tt.want[i].Accessed)
				}
				got[i].Accessed, tt.want[i].Accessed = time.Time{}, time.Time{}
				if got[i] != tt.want[i] {
					t.Errorf("entry %d\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	entries, _ := ParseVMList(fixture(t, "list-0.37.0.json"))
	if !entries[0].Local() || entries[1].Local() {
		t.Fatal("Local() misreads Source")
	}
}

func TestParseVMListErrors(t *testing.T) {
	for _, bad := range []string{`{}`, `[{"Accessed": "yesterday"}]`, `[{"Size": "big"}]`, `[`} {
		if _, err := ParseVMList([]byte(bad)); err == nil {
			t.Errorf("ParseVMList(%q) succeeded", bad)
		}
	}
	if got, err := ParseVMList([]byte("\n")); err != nil || len(got) != 0 {
		t.Fatalf("blank output: %v %v", got, err)
	}
}
