package applecontainer

import (
	"testing"

	"github.com/shoenig/test/must"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"container CLI version 1.2.2 (build: release, commit: 3c4c59c)":              "1.2.2",
		"container CLI version 0.1.0 (build: release, commit: abc1234, sdk: 26.0)\n": "0.1.0",
		"container-apiserver version 1.4.1 (build: release, commit: 1234567)":        "1.4.1",
		"1.3.0": "1.3.0",
		"0.12":  "0.12.0",
		"container CLI version 1.0.0-beta.1 (build: debug, commit: unspecified)": "1.0.0",
	} {
		v, err := ParseVersion(in)
		must.NoError(t, err, must.Sprint(in))
		must.Eq(t, want, v.String())
	}
	for _, bad := range []string{"", "container CLI version unknown", "abc"} {
		_, err := ParseVersion(bad)
		must.Error(t, err)
	}
}

func TestVersionCompare(t *testing.T) {
	must.True(t, mustVersion("1.0.0").AtLeast(mustVersion("0.12.3")))
	must.False(t, mustVersion("0.9.9").AtLeast(mustVersion("0.10.0")))
	must.Eq(t, 0, mustVersion("1.2.2").Compare(mustVersion("1.2.2")))
	must.True(t, Version{}.IsZero())
}

func TestFeatureGates(t *testing.T) {
	for f, need := range map[Feature]string{
		FeatureCapabilities: "0.12.0", FeatureInit: "0.10.0", FeatureReadOnly: "0.8.0", FeatureRosetta: "0.7.0",
		FeatureStats: "0.7.0", FeatureSystemVersion: "0.8.0", FeatureProgressNone: "0.7.0", FeatureShmSize: "1.0.0",
	} {
		since, ok := f.Since()
		must.True(t, ok)
		must.Eq(t, need, since.String(), must.Sprint(f))
		err := CheckFeature(mustVersion("0.1.0"), f)
		must.ErrorIs(t, err, ErrUnsupported)
		must.StrContains(t, err.Error(), string(f))
		must.StrContains(t, err.Error(), "needs container >= "+need)
		must.NoError(t, CheckFeature(since, f))
	}
	must.ErrorIs(t, CheckFeature(v122, "teleport"), ErrInvalidInput)
	for f := range featureSince {
		_, ok := f.Since()
		must.True(t, ok)
	}
}
