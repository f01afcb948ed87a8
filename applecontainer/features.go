package applecontainer

import "github.com/tartanhq/tartan/internal/cliproc"

// Feature is a container CLI capability that appeared in a given release.
type Feature string

// Features gated on the CLI version (apple-container-cli.md §3, §4.1, §14).
const (
	FeatureSystemStatus        Feature = "system status"
	FeatureSystemStatusFormat  Feature = "system status --format"
	FeatureSystemVersion       Feature = "system version"
	FeatureSystemStartTimeout  Feature = "system start --timeout"
	FeatureNetwork             Feature = "run --network"
	FeatureNetworkNone         Feature = "run --network none"
	FeatureNetworkMAC          Feature = "run --network ...,mac="
	FeatureNetworkMTU          Feature = "run --network ...,mtu="
	FeaturePublish             Feature = "run --publish"
	FeatureVirtualization      Feature = "run --virtualization"
	FeaturePlatform            Feature = "--platform"
	FeatureSSH                 Feature = "run --ssh"
	FeatureProgressNone        Feature = "--progress none"
	FeatureRosetta             Feature = "run --rosetta"
	FeatureStats               Feature = "stats"
	FeatureReadOnly            Feature = "run --read-only"
	FeatureUlimit              Feature = "run --ulimit"
	FeatureInit                Feature = "run --init"
	FeatureInitImage           Feature = "run --init-image"
	FeatureCapabilities        Feature = "run --cap-add/--cap-drop"
	FeatureShmSize             Feature = "run --shm-size"
	FeatureKernelArg           Feature = "run --kernel-arg"
	FeatureInspectMissingError Feature = "inspect errors on missing IDs"
	FeatureStopUnknownError    Feature = "stop/kill/delete error on unknown IDs"
)

// featureSince is the declarative gate table: the first release with each
// feature (the tag where the flag first exists in Flags.swift).
var featureSince = map[Feature]Version{
	FeatureSystemStatus:        mustVersion("0.2.0"),
	FeatureSystemStatusFormat:  mustVersion("0.10.0"),
	FeatureSystemVersion:       mustVersion("0.8.0"),
	FeatureSystemStartTimeout:  mustVersion("0.10.0"),
	FeatureNetwork:             mustVersion("0.2.0"),
	FeatureNetworkNone:         mustVersion("0.6.0"),
	FeatureNetworkMAC:          mustVersion("0.7.0"),
	FeatureNetworkMTU:          mustVersion("0.11.0"),
	FeaturePublish:             mustVersion("0.3.0"),
	FeatureVirtualization:      mustVersion("0.3.0"),
	FeaturePlatform:            mustVersion("0.4.0"),
	FeatureSSH:                 mustVersion("0.4.0"),
	FeatureProgressNone:        mustVersion("0.7.0"),
	FeatureRosetta:             mustVersion("0.7.0"),
	FeatureStats:               mustVersion("0.7.0"),
	FeatureReadOnly:            mustVersion("0.8.0"),
	FeatureUlimit:              mustVersion("0.9.0"),
	FeatureInit:                mustVersion("0.10.0"),
	FeatureInitImage:           mustVersion("0.10.0"),
	FeatureCapabilities:        mustVersion("0.12.0"),
	FeatureShmSize:             mustVersion("1.0.0"),
	FeatureKernelArg:           mustVersion("1.2.0"),
	FeatureInspectMissingError: mustVersion("1.0.0"),
	FeatureStopUnknownError:    mustVersion("0.10.0"),
}

// Since returns the first release with f (ok=false for an unknown feature).
func (f Feature) Since() (Version, bool) {
	v, ok := featureSince[f]
	return v, ok
}

// CheckFeature returns nil when CLI version v has f, else *UnsupportedError.
// An unknown feature is a programming error reported as ErrInvalidInput.
func CheckFeature(v Version, f Feature) error {
	need, known, ok := cliproc.Gate(featureSince, v, f)
	switch {
	case !known:
		return inputf("feature", "unknown feature %q", string(f))
	case ok:
		return nil
	}
	return &UnsupportedError{Feature: f, Have: v, Need: need}
}

func has(v Version, f Feature) bool { return CheckFeature(v, f) == nil }
