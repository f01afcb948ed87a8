package tart

import "github.com/tartanhq/tartan/internal/cliproc"

// Feature is a tart capability that appeared in a given release.
type Feature string

// Features gated on the tart version (tart-cli.md §12).
const (
	FeatureExec               Feature = "exec"
	FeatureResolverAgent      Feature = "ip --resolver agent"
	FeatureResolverARP        Feature = "ip --resolver arp"
	FeatureSoftnetBlock       Feature = "run --net-softnet-block"
	FeatureSoftnetExpose      Feature = "run --net-softnet-expose"
	FeatureSoftnetAllow       Feature = "run --net-softnet-allow"
	FeatureSoftnet            Feature = "run --net-softnet"
	FeatureNetHost            Feature = "run --net-host"
	FeatureMultipleBridged    Feature = "several run --net-bridged"
	FeatureNested             Feature = "run --nested"
	FeatureRootDiskOpts       Feature = "run --root-disk-opts"
	FeatureDiskSync           Feature = "run --disk sync="
	FeatureCaching            Feature = "disk caching="
	FeatureSuspend            Feature = "suspend"
	FeatureRandomMAC          Feature = "set --random-mac"
	FeatureRandomSerial       Feature = "set --random-serial"
	FeatureDisplayRefit       Feature = "set --display-refit"
	FeatureDisplayUnit        Feature = "set --display with pt/px unit"
	FeatureFQN                Feature = "fqn"
	FeatureRename             Feature = "rename"
	FeatureNoAudio            Feature = "run --no-audio"
	FeatureNoClipboard        Feature = "run --no-clipboard"
	FeatureNoTrackpad         Feature = "run --no-trackpad"
	FeatureNoKeyboardPointer  Feature = "run --no-keyboard/--no-pointer"
	FeatureCaptureSystemKeys  Feature = "run --capture-system-keys"
	FeatureSerial             Feature = "run --serial"
	FeaturePruneLimit         Feature = "clone --prune-limit"
	FeatureConcurrency        Feature = "pull/clone --concurrency"
	FeatureJSONFormat         Feature = "get/list --format json"
	FeaturePruneEntriesVMs    Feature = "prune --entries vms / --space-budget"
	FeatureRegistryHostname   Feature = "TART_REGISTRY_HOSTNAME"
	FeatureRegistryCredential Feature = "TART_REGISTRY_USERNAME/PASSWORD"
)

// featureSince is the declarative gate table: the first release with each
// feature.
var featureSince = map[Feature]Version{
	FeatureExec:               mustVersion("2.27.0"),
	FeatureResolverAgent:      mustVersion("2.28.0"),
	FeatureResolverARP:        mustVersion("1.1.0"),
	FeatureSoftnetBlock:       mustVersion("2.30.0"),
	FeatureSoftnetExpose:      mustVersion("2.23.0"),
	FeatureSoftnetAllow:       mustVersion("2.7.1"),
	FeatureSoftnet:            mustVersion("0.31.0"),
	FeatureNetHost:            mustVersion("2.7.0"),
	FeatureMultipleBridged:    mustVersion("1.10.0"),
	FeatureNested:             mustVersion("2.20.0"),
	FeatureRootDiskOpts:       mustVersion("2.16.0"),
	FeatureDiskSync:           mustVersion("2.15.0"),
	FeatureCaching:            mustVersion("2.21.0"),
	FeatureSuspend:            mustVersion("1.8.0"),
	FeatureRandomMAC:          mustVersion("2.11.0"),
	FeatureRandomSerial:       mustVersion("2.11.0"),
	FeatureDisplayRefit:       mustVersion("2.21.0"),
	FeatureDisplayUnit:        mustVersion("2.30.0"),
	FeatureFQN:                mustVersion("2.6.0"),
	FeatureRename:             mustVersion("0.28.0"),
	FeatureNoAudio:            mustVersion("2.6.0"),
	FeatureNoClipboard:        mustVersion("2.10.0"),
	FeatureNoTrackpad:         mustVersion("2.25.0"),
	FeatureNoKeyboardPointer:  mustVersion("2.29.0"),
	FeatureCaptureSystemKeys:  mustVersion("2.3.0"),
	FeatureSerial:             mustVersion("1.1.0"),
	FeaturePruneLimit:         mustVersion("2.28.5"),
	FeatureConcurrency:        mustVersion("2.0.0"),
	FeatureJSONFormat:         mustVersion("0.37.0"),
	FeaturePruneEntriesVMs:    mustVersion("1.9.2"),
	FeatureRegistryHostname:   mustVersion("1.8.3"),
	FeatureRegistryCredential: mustVersion("0.34.0"),
}

// Since returns the first tart release with f (ok=false for an unknown
// feature).
func (f Feature) Since() (Version, bool) {
	v, ok := featureSince[f]
	return v, ok
}

// CheckFeature returns nil when tart v has f, else *UnsupportedError.
// Unknown features are a programming error reported as ErrUsage.
func CheckFeature(v Version, f Feature) error {
	need, known, ok := cliproc.Gate(featureSince, v, f)
	switch {
	case !known:
		return usagef("unknown feature %q", string(f))
	case ok:
		return nil
	}
	return &UnsupportedError{Feature: f, Have: v, Need: need}
}

// checkFeatures returns the first unsupported feature of fs.
func checkFeatures(v Version, fs []Feature) error {
	for _, f := range fs {
		if err := CheckFeature(v, f); err != nil {
			return err
		}
	}
	return nil
}
