package tart

import (
	"errors"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want string
		snap bool
	}{
		{"2.32.1\n", "2.32.1", false},
		{"v2.27.0", "2.27.0", false},
		{"2.32.1-1-g5287b59", "2.32.1", false},
		{"0.4", "0.4.0", false},
		{"SNAPSHOT", "SNAPSHOT", true},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", tt.in, err)
		}
		if v.String() != tt.want || v.Snapshot != tt.snap {
			t.Errorf("ParseVersion(%q) = %s (snapshot %v), want %s", tt.in, v, v.Snapshot, tt.want)
		}
	}
	for _, bad := range []string{"", "tart", "2", "2.x.1", "1.2.3.4", "-1.0.0"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) succeeded", bad)
		}
	}
}

func TestVersionCompare(t *testing.T) {
	v := func(s string) Version { return mustVersion(s) }
	if !v("2.27.0").AtLeast(v("2.27.0")) || v("2.26.9").AtLeast(v("2.27.0")) || !v("10.0.0").AtLeast(v("9.99.99")) {
		t.Fatal("numeric comparison wrong")
	}
	if !v("SNAPSHOT").AtLeast(v("99.0.0")) || v("99.0.0").AtLeast(v("SNAPSHOT")) || v("SNAPSHOT").Compare(v("SNAPSHOT")) != 0 {
		t.Fatal("SNAPSHOT must be newest")
	}
}

func TestFeatureGates(t *testing.T) {
	tests := []struct {
		have    string
		feature Feature
		ok      bool
	}{
		{"2.27.0", FeatureExec, true},
		{"2.26.0", FeatureExec, false},
		{"2.28.0", FeatureResolverAgent, true},
		{"2.27.9", FeatureResolverAgent, false},
		{"2.29.9", FeatureSoftnetBlock, false},
		{"2.30.0", FeatureSoftnetBlock, true},
		{"2.22.0", FeatureSoftnetExpose, false},
		{"2.19.0", FeatureNested, false},
		{"2.15.0", FeatureRootDiskOpts, false},
		{"1.7.0", FeatureSuspend, false},
		{"1.8.0", FeatureSuspend, true},
		{"2.10.0", FeatureRandomMAC, false},
		{"2.20.0", FeatureCaching, false},
		{"SNAPSHOT", FeatureExec, true},
	}
	for _, tt := range tests {
		err := CheckFeature(mustVersion(tt.have), tt.feature)
		if tt.ok {
			if err != nil {
				t.Errorf("%s / %s: %v", tt.have, tt.feature, err)
			}
			continue
		}
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s / %s: got %v, want *UnsupportedError", tt.have, tt.feature, err)
		}
	}
	err := CheckFeature(mustVersion("2.26.0"), FeatureExec)
	if got, want := err.Error(), "tart 2.26.0 does not support exec; it needs tart >= 2.27.0"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	if err := CheckFeature(mustVersion("2.0.0"), Feature("teleport")); !errors.Is(err, ErrUsage) {
		t.Fatalf("unknown feature: %v", err)
	}
	for f := range featureSince {
		if _, ok := f.Since(); !ok {
			t.Fatalf("%s has no version", f)
		}
	}
}
